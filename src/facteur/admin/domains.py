"""Hosted domains: rows of PostfixAdmin's `domain` table, written as its DomainHandler does.

Every function takes a cursor from facteur.admin.db.transaction() and normalised names
(facteur.admin.validate); errors are FacteurError.
"""

from __future__ import annotations

from typing import Any

from facteur.admin import db
from facteur.errors import FacteurError

# The addresses PostfixAdmin creates with each domain ($CONF['default_aliases']); facteur points
# them at the administrator's address.
DEFAULT_ALIASES = ("abuse", "hostmaster", "postmaster", "webmaster")


def get(cur: Any, domain: str) -> dict | None:
    """Return the `domain` row of `domain`, or None."""
    cur.execute("SELECT * FROM domain WHERE domain = %s", (domain,))
    return cur.fetchone()


def alias_target(cur: Any, domain: str) -> str | None:
    """Return the target if `domain` is an alias domain, else None."""
    cur.execute("SELECT target_domain FROM alias_domain WHERE alias_domain = %s", (domain,))
    row = cur.fetchone()
    return row["target_domain"] if row else None


def require(cur: Any, domain: str) -> dict:
    """Return the row of hosted domain `domain`; raise FacteurError if it is not hosted here."""
    row = get(cur, domain)
    if row is None:
        raise FacteurError(f"domain {domain} is not hosted here (add it first: facteur domain add {domain})")
    return row


def insert(cur: Any, domain: str, description: str = "") -> None:
    """Insert the `domain` row with facteur's limits: no count limits, no quota limits (0 = unlimited).

    PostfixAdmin's own defaults (10 mailboxes, 10 aliases, 10 MB per mailbox) would make its web
    form refuse what facteur's limits allow; a superadmin can still set limits per domain there.
    """
    cur.execute(
        "INSERT INTO domain (domain, description, aliases, mailboxes, maxquota, quota, transport,"
        " backupmx, created, modified, active, password_expiry)"
        " VALUES (%s, %s, 0, 0, 0, 0, 'virtual', 0, NOW(), NOW(), 1, 0)",
        (domain, description),
    )
    db.log(cur, domain, "create_domain", domain)


def add(cur: Any, domain: str, admin_email: str, *, default_aliases: bool = True) -> None:
    """Create hosted domain `domain` and, unless told not to, its default aliases -> `admin_email`.

    A default alias that would point at itself (postmaster@D when the admin is postmaster@D) is
    skipped: the admin's mailbox takes that address. Raise FacteurError if the domain exists.
    """
    if get(cur, domain) is not None:
        target = alias_target(cur, domain)
        if target:
            raise FacteurError(f"{domain} already exists, as an alias domain of {target}")
        raise FacteurError(f"domain {domain} already exists")
    insert(cur, domain)
    if default_aliases:
        add_default_aliases(cur, domain, admin_email)


def add_default_aliases(cur: Any, domain: str, admin_email: str) -> list[str]:
    """Insert the missing default aliases of `domain` (abuse@, hostmaster@, ...) -> `admin_email`.

    Existing addresses (aliases or mailboxes) are left alone. Return the addresses created.
    """
    created = []
    for local in DEFAULT_ALIASES:
        address = f"{local}@{domain}"
        if address == admin_email:
            continue
        cur.execute("SELECT 1 FROM alias WHERE address = %s", (address,))
        if cur.fetchone():
            continue
        # PostfixAdmin writes these with db_insert directly, without a log row of their own.
        cur.execute(
            "INSERT INTO alias (address, goto, domain, created, modified, active)"
            " VALUES (%s, %s, %s, NOW(), NOW(), 1)",
            (address, admin_email, domain),
        )
        created.append(address)
    return created


def list_all(cur: Any) -> list[dict]:
    """Return every domain with its counts: domain, active, mailboxes, aliases, alias_of."""
    cur.execute(
        "SELECT d.domain, d.active, d.created,"
        " (SELECT COUNT(*) FROM mailbox m WHERE m.domain = d.domain) AS mailboxes,"
        " (SELECT COUNT(*) FROM alias a WHERE a.domain = d.domain"
        "   AND a.address NOT IN (SELECT username FROM mailbox m2 WHERE m2.domain = d.domain)) AS aliases,"
        " (SELECT target_domain FROM alias_domain ad WHERE ad.alias_domain = d.domain) AS alias_of"
        " FROM domain d WHERE d.domain != 'ALL' ORDER BY d.domain"
    )
    return list(cur.fetchall())


def count_mailboxes(cur: Any, domain: str) -> int:
    cur.execute("SELECT COUNT(*) AS n FROM mailbox WHERE domain = %s", (domain,))
    return int(cur.fetchone()["n"])


def remove(cur: Any, domain: str, *, force: bool = False) -> dict:
    """Delete domain `domain` and everything in it from the database, as DomainHandler::delete does.

    Refused (FacteurError) if the domain is not hosted, is the target of an alias domain, or still
    has mailboxes and `force` is false. Mail on disk is not touched. Return counts of what went.
    """
    require(cur, domain)
    cur.execute("SELECT alias_domain FROM alias_domain WHERE target_domain = %s", (domain,))
    aliased = [row["alias_domain"] for row in cur.fetchall()]
    if aliased:
        names = ", ".join(aliased)
        raise FacteurError(
            f"{domain} is the target of alias domain(s) {names}: remove them first"
            f" (facteur alias-domain remove {aliased[0]})"
        )
    mailboxes = count_mailboxes(cur, domain)
    if mailboxes and not force:
        raise FacteurError(
            f"domain {domain} still has {mailboxes} mailbox(es); remove them first, or use --force"
            " to delete the domain with its mailboxes (mail stays on disk)"
        )
    like = "%@" + domain
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
    # PostfixAdmin also deletes the domain's log rows; facteur keeps them as the audit trail.
    cur.execute("DELETE FROM domain WHERE domain = %s", (domain,))
    db.log(cur, domain, "delete_domain", domain)
    return {"mailboxes": mailboxes, "aliases": max(aliases, 0)}
