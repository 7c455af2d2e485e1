"""Alias domains: mail to anything@ALIAS goes to anything@TARGET.

PostfixAdmin needs ALIAS as a row of `domain` (so Postfix accepts mail for it) plus a row
`alias_domain` (alias_domain -> target_domain), as AliasdomainHandler writes it.
"""

from __future__ import annotations

from typing import Any

from facteur.admin import db, domains
from facteur.errors import FacteurError


def get(cur: Any, alias: str) -> dict | None:
    """Return the `alias_domain` row of `alias`, or None."""
    cur.execute("SELECT * FROM alias_domain WHERE alias_domain = %s", (alias,))
    return cur.fetchone()


def add(cur: Any, alias: str, target: str) -> bool:
    """Make `alias` an alias domain of hosted domain `target`; return False if it already was.

    Creates the `domain` row of `alias` if missing (without default aliases: postmaster@ALIAS
    reaches postmaster@TARGET). Raise FacteurError if `target` is not hosted, is itself an alias
    domain, equals `alias`, or `alias` already has mailboxes or points elsewhere.
    """
    if alias == target:
        raise FacteurError(f"{alias} cannot be an alias domain of itself")
    domains.require(cur, target)
    chained = domains.alias_target(cur, target)
    if chained:
        raise FacteurError(f"{target} is itself an alias domain (of {chained}); use {chained} as the target")
    existing = get(cur, alias)
    if existing is not None:
        if existing["target_domain"] == target:
            return False
        raise FacteurError(f"{alias} is already an alias domain of {existing['target_domain']}")
    cur.execute("SELECT alias_domain FROM alias_domain WHERE target_domain = %s LIMIT 1", (alias,))
    if cur.fetchone():
        raise FacteurError(f"{alias} is the target of another alias domain; it cannot be an alias domain too")
    if domains.get(cur, alias) is None:
        domains.insert(cur, alias)
    else:
        count = domains.count_mailboxes(cur, alias)
        if count:
            raise FacteurError(
                f"{alias} is a hosted domain with {count} mailbox(es); an alias domain cannot have its own"
            )
    cur.execute(
        "INSERT INTO alias_domain (alias_domain, target_domain, created, modified, active)"
        " VALUES (%s, %s, NOW(), NOW(), 1)",
        (alias, target),
    )
    db.log(cur, alias, "create_alias_domain", alias)
    return True


def list_all(cur: Any) -> list[dict]:
    """Return every alias domain: alias_domain, target_domain, active, created."""
    cur.execute(
        "SELECT alias_domain, target_domain, active, created FROM alias_domain ORDER BY alias_domain"
    )
    return list(cur.fetchall())


def remove(cur: Any, alias: str) -> None:
    """Stop `alias` being an alias domain and delete its `domain` row with its own aliases.

    Raise FacteurError if it is not an alias domain. A `domain` row that holds mailboxes (made in
    the web UI) is kept.
    """
    row = get(cur, alias)
    if row is None:
        raise FacteurError(f"{alias} is not an alias domain")
    cur.execute("DELETE FROM alias_domain WHERE alias_domain = %s", (alias,))
    db.log(cur, alias, "delete_alias_domain", row["target_domain"])
    if domains.get(cur, alias) is not None and domains.count_mailboxes(cur, alias) == 0:
        cur.execute("DELETE FROM domain_admins WHERE domain = %s", (alias,))
        cur.execute("DELETE FROM alias WHERE domain = %s", (alias,))
        cur.execute("DELETE FROM domain WHERE domain = %s", (alias,))
        db.log(cur, alias, "delete_domain", alias)
