"""Where `facteur dns` finds a domain's DKIM public key (written by the rspamd role's key management)."""

from __future__ import annotations

from facteur.dns.records import DkimKey


def public_key(domain: str, settings) -> DkimKey | None:
    """Return the DKIM public key of `domain`, or None while no key exists (filtering not installed)."""
    return None
