"""The names facteur's ACME certificate must cover.

The configured domains and those added with `facteur domain add` (kept only in the database) are
hosted alike, so the certificate covers both: the hostname, then autoconfig., autodiscover. and
mta-sts. of each. Alias domains get no names (their clients use the target domain's settings), and
neither do inactive domains (Postfix refuses their mail).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from facteur.config.schema import Settings
from facteur.errors import FacteurError
from facteur.roles_vars import certificate_names

# Let's Encrypt's limit of names per certificate (other CAs have theirs; certbot would say so).
MAX_NAMES = 100


def hosted_domains(cur: Any) -> list[str]:
    """Return the active hosted domains in the database (not alias domains), sorted."""
    cur.execute(
        """
        SELECT d.domain FROM domain d LEFT JOIN alias_domain ad ON ad.alias_domain = d.domain
        WHERE d.domain <> 'ALL' AND d.active = 1 AND ad.alias_domain IS NULL
        ORDER BY d.domain
        """
    )
    return [row["domain"] for row in cur.fetchall()]


def wanted(settings: Settings, db_domains: Iterable[str]) -> list[str]:
    """Given Settings and the database's hosted domains, return the names to certify: the config's
    domains in their order, then the others sorted. Raise FacteurError beyond MAX_NAMES."""
    extra = sorted(set(db_domains) - set(settings.domains))
    names = certificate_names(settings.hostname, [*settings.domains, *extra])
    if len(names) > MAX_NAMES:
        raise FacteurError(
            f"{len(names)} names to certify (the hostname and 3 per domain), more than the "
            f"{MAX_NAMES} an ACME certificate may hold: host fewer domains on this server"
        )
    return names
