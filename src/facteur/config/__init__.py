"""facteur's configuration: one schema (schema.py), loading (load.py), sample and reference generation."""

from facteur.config.load import DEFAULT_CONFIG, load_settings
from facteur.config.schema import Settings

__all__ = ["DEFAULT_CONFIG", "Settings", "load_settings"]
