"""facteur: turns a fresh Debian 12/13 server into a complete mail system, and runs it afterwards."""

__version__ = "0.1.0"
