"""Hosted domains, written as PostfixAdmin writes them (table `domain`, default aliases, `log`).

Every function taking `cur` runs inside the caller's transaction (facteur.admin.db.transaction) and
leaves committing to it. Names passed in are normalised with facteur.admin.validate first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from facteur.admin import db
from facteur.admin.validate import normalize_domain
from facteur.errors import FacteurError

# PostfixAdmin's $CONF['default_aliases'] as facteur configures it: each -> the admin address.
DEFAULT_ALIASES = ("abuse", "hostmaster", "postmaster", "webmaster")
# PostfixAdmin's own defaults for a new domain, except the limits: facteur sets none per domain
# (0 = unlimited aliases, mailboxes, mailbox quota and domain quota).
_NEW_DOMAIN = {
    "aliases": 0,
    "mailboxes": 0,
    "maxquota": 0,
    "quota": 0,
    "transport": "virtual",
    "backupmx": 0,
    "active": 1,
    "password_expiry": 365,
}


def get_domain(cur: Any, domain: str) -> dict | None:
    """Return the `domain` row of `domain`, or None."""
    cur.execute("SELECT * FROM domain WHERE domain = %s", (domain,))
    return cur.fetchone()


def alias_target(cur: Any, domain: str) -> str | None:
    """Return the target domain if `domain` is an alias domain, else None."""
    cur.execute("SELECT target_domain FROM alias_domain WHERE alias_domain = %s", (domain,))
    row = cur.fetchone()
    return row["target_domain"] if row else None


def require_domain(cur: Any, domain: str) -> dict:
    """Return the `domain` row of `domain`; raise FacteurError if it is not hosted here."""
    row = get_domain(cur, domain)
    if row is None:
        raise FacteurError(f"domain {domain} is not hosted here (see: facteur domain list)")
    return row


def count_mailboxes(cur: Any, domain: str) -> int:
    """Return how many mailboxes `domain` has."""
    cur.execute("SELECT COUNT(*) AS n FROM mailbox WHERE domain = %s", (domain,))
    return int(cur.fetchone()["n"])


def insert_domain(cur: Any, domain: str, description: str = "") -> None:
    """Insert the `domain` row (no limits, active) and log create_domain, as PostfixAdmin does."""
    values = dict(_NEW_DOMAIN, domain=domain, description=description)
    columns = ", ".join(values)
    placeholders = ", ".join(["%s"] * len(values))
    cur.execute(
        f"INSERT INTO domain ({columns}, created, modified) VALUES ({placeholders}, NOW(), NOW())",
        tuple(values.values()),
    )
    db.log(cur, domain, "create_domain", domain)


def insert_default_aliases(cur: Any, domain: str, admin_email: str) -> list[str]:
    """Create abuse@, hostmaster@, postmaster@ and webmaster@ `domain` -> `admin_email` where absent.

    Like PostfixAdmin (DomainHandler::postSave) these rows are not logged. Return the addresses made.
    """
    made = []
    for local in DEFAULT_ALIASES:
        address = f"{local}@{domain}"
        cur.execute("SELECT 1 FROM alias WHERE address = %s", (address,))
        if cur.fetchone():
            continue
        cur.execute(
            "INSERT INTO alias (address, goto, domain, created, modified, active) "
            "VALUES (%s, %s, %s, NOW(), NOW(), 1)",
            (address, admin_email, domain),
        )
        made.append(address)
    return made


def add_domain(
    cur: Any,
    domain: str,
    *,
    admin_email: str,
    description: str = "",
    default_aliases: bool = True,
    exist_ok: bool = False,
) -> bool:
    """Host `domain`: insert its row and (by default) its default aliases pointing to `admin_email`.

    Return True if created, False if it existed and `exist_ok`. Raise FacteurError if it exists
    (without `exist_ok`) or is an alias domain.
    """
    domain = normalize_domain(domain)
    target = alias_target(cur, domain)
    if target is not None:
        raise FacteurError(f"{domain} is an alias domain of {target} (see: facteur alias-domain list)")
    if get_domain(cur, domain) is not None:
        if exist_ok:
            return False
        raise FacteurError(f"domain {domain} already exists")
    insert_domain(cur, domain, description)
    if default_aliases:
        insert_default_aliases(cur, domain, admin_email)
    return True


def list_domains(cur: Any) -> list[dict]:
    """Return every domain row with counts: mailboxes, aliases (not counting mailboxes' own rows) and
    `alias_of` (the target when it is an alias domain), sorted by name."""
    cur.execute(
        """
        SELECT d.domain, d.description, d.active, d.created,
               (SELECT COUNT(*) FROM mailbox m WHERE m.domain = d.domain) AS mailboxes,
               (SELECT COUNT(*) FROM alias a WHERE a.domain = d.domain
                  AND a.address NOT IN (SELECT username FROM mailbox)) AS aliases,
               ad.target_domain AS alias_of
        FROM domain d LEFT JOIN alias_domain ad ON ad.alias_domain = d.domain
        WHERE d.domain <> 'ALL'
        ORDER BY d.domain
        """
    )
    return list(cur.fetchall())


def remove_domain(cur: Any, domain: str, *, force: bool = False) -> dict:
    """Remove `domain` and everything PostfixAdmin keeps for it (its DomainHandler::delete()).

    Refuse (FacteurError) if it is not hosted, if an alias domain points to it, or if it still has
    mailboxes and not `force`. Mail on disk is not touched. Return counts of what was removed.
    """
    domain = normalize_domain(domain)
    require_domain(cur, domain)
    cur.execute("SELECT alias_domain FROM alias_domain WHERE target_domain = %s", (domain,))
    pointing = [row["alias_domain"] for row in cur.fetchall()]
    if pointing:
        raise FacteurError(
            f"{', '.join(pointing)} {'is an alias domain' if len(pointing) == 1 else 'are alias domains'} "
            f"of {domain}; remove {'it' if len(pointing) == 1 else 'them'} first: "
            f"facteur alias-domain remove {pointing[0]}"
        )
    mailboxes = count_mailboxes(cur, domain)
    if mailboxes and not force:
        raise FacteurError(
            f"domain {domain} still has {mailboxes} mailbox{'es' if mailboxes != 1 else ''}; "
            "add --force to remove them with it (their mail on disk is kept)"
        )
    like = f"%@{domain}"
    cur.execute("SELECT COUNT(*) AS n FROM alias WHERE domain = %s", (domain,))
    aliases = int(cur.fetchone()["n"]) - mailboxes
    cur.execute("DELETE FROM domain_admins WHERE domain = %s", (domain,))
    cur.execute("DELETE FROM alias WHERE domain = %s", (domain,))
    cur.execute("DELETE FROM mailbox WHERE domain = %s", (domain,))
    cur.execute("DELETE FROM alias_domain WHERE alias_domain = %s", (domain,))
    cur.execute("DELETE FROM vacation WHERE domain = %s", (domain,))
    cur.execute(
        "DELETE FROM vacation_notification WHERE on_vacation = %s OR on_vacation LIKE %s", (domain, like)
    )
    cur.execute("DELETE FROM quota WHERE username = %s OR username LIKE %s", (domain, like))
    cur.execute("DELETE FROM quota2 WHERE username = %s OR username LIKE %s", (domain, like))
    cur.execute("DELETE FROM fetchmail WHERE mailbox = %s OR mailbox LIKE %s", (domain, like))
    cur.execute("DELETE FROM domain WHERE domain = %s", (domain,))
    db.log(cur, domain, "delete_domain", domain)
    return {"mailboxes": mailboxes, "aliases": max(aliases, 0)}


def reload_postfix() -> None:
    """Ask a running Postfix to reload, so that long-lived daemons see a domain change at once.

    Best effort: does nothing when Postfix is absent or stopped (the change is in the database,
    which Postfix reads on its next start).
    """
    postfix = shutil.which("postfix")
    if postfix is None and os.path.exists("/usr/sbin/postfix"):
        postfix = "/usr/sbin/postfix"
    if postfix is None:
        return
    try:
        subprocess.run([postfix, "reload"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass
