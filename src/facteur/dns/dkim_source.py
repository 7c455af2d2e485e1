"""Where `facteur dns` finds a domain's DKIM public key: the key rspamd signs with (facteur.dkim)."""

from __future__ import annotations

from facteur import dkim
from facteur.dns.records import DkimKey
from facteur.errors import FacteurError


def public_key(domain: str, settings) -> DkimKey | None:
    """Return the DKIM public key `domain` is signed with, or None while it has none (filtering off,
    or not installed yet)."""
    if not settings.filter.enabled:
        return None
    selector = dkim.current_selector(domain, settings.filter.dkim_selector)
    try:
        return DkimKey(selector, dkim.txt_value(domain, selector))
    except FacteurError:
        return None
