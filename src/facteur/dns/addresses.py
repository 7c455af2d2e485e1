"""This server's own public addresses, for its A/AAAA and PTR records."""

from __future__ import annotations

import ipaddress
import json
import subprocess


def global_addresses() -> list[str]:
    """Return the global-scope IPv4 then IPv6 addresses of this machine's interfaces ([] if `ip` fails)."""
    try:
        out = subprocess.run(["ip", "-j", "addr", "show", "scope", "global"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
        interfaces = json.loads(out or "[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    found = [info["local"] for iface in interfaces for info in iface.get("addr_info", [])
             if info.get("scope") == "global" and "local" in info]
    return sorted(set(found), key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))


def private(address: str) -> bool:
    """True for an address that the internet cannot reach (RFC 1918, ULA, benchmarking ranges...)."""
    return not ipaddress.ip_address(address).is_global
