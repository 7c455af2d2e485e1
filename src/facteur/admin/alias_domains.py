"""Alias domains: mail to USER@ALIAS is delivered to USER@TARGET (PostfixAdmin's `alias_domain`).

As in PostfixAdmin, an alias domain is also a row of `domain` (Postfix accepts mail for the domains
listed there); facteur creates that row without default aliases, so the target's apply.
"""

from __future__ import annotations

from typing import Any

from facteur.admin import db
from facteur.admin.domains import alias_target, count_mailboxes, get_domain, insert_domain
from facteur.admin.validate import normalize_domain
from facteur.errors import FacteurError


def normalize_pair(alias: str, target: str) -> tuple[str, str]:
    """Return (alias, target) normalised; FacteurError if either is invalid or they are equal."""
    alias, target = normalize_domain(alias), normalize_domain(target)
    if alias == target:
        raise FacteurError(f"{alias} cannot be an alias domain of itself")
    return alias, target


def add_alias_domain(cur: Any, alias: str, target: str, *, exist_ok: bool = False) -> bool:
    """Make `alias` an alias domain of `target`; return True if created, False if it already was
    (with `exist_ok`).

    Raise FacteurError if the names are equal or invalid, `target` is not hosted or is itself an
    alias domain, `alias` has mailboxes, is the target of another alias domain, or already points
    elsewhere.
    """
    alias, target = normalize_pair(alias, target)
    current = alias_target(cur, alias)
    if current is not None:
        if current == target and exist_ok:
            return False
        raise FacteurError(f"{alias} is already an alias domain of {current}")
    if get_domain(cur, target) is None:
        raise FacteurError(
            f"target domain {target} is not hosted here (add it first: facteur domain add {target})"
        )
    target_of_target = alias_target(cur, target)
    if target_of_target is not None:
        raise FacteurError(
            f"{target} is itself an alias domain (of {target_of_target}); "
            f"use {target_of_target} as the target"
        )
    cur.execute("SELECT alias_domain FROM alias_domain WHERE target_domain = %s", (alias,))
    pointing = cur.fetchone()
    if pointing:
        raise FacteurError(f"{alias} is the target of alias domain {pointing['alias_domain']}")
    if get_domain(cur, alias) is None:
        insert_domain(cur, alias)
    elif count_mailboxes(cur, alias):
        raise FacteurError(f"{alias} has mailboxes of its own; an alias domain cannot have any")
    cur.execute(
        "INSERT INTO alias_domain (alias_domain, target_domain, created, modified, active) "
        "VALUES (%s, %s, NOW(), NOW(), 1)",
        (alias, target),
    )
    db.log(cur, alias, "create_alias_domain", alias)
    return True


def remove_alias_domain(cur: Any, alias: str) -> bool:
    """Stop `alias` being an alias domain; also remove its `domain` row when nothing else uses it
    (no mailboxes, no aliases). Return True if the domain row was removed too.

    Raise FacteurError if `alias` is not an alias domain.
    """
    alias = normalize_domain(alias)
    target = alias_target(cur, alias)
    if target is None:
        raise FacteurError(f"{alias} is not an alias domain (see: facteur alias-domain list)")
    cur.execute("DELETE FROM alias_domain WHERE alias_domain = %s", (alias,))
    db.log(cur, alias, "delete_alias_domain", target)
    cur.execute("SELECT COUNT(*) AS n FROM alias WHERE domain = %s", (alias,))
    aliases = int(cur.fetchone()["n"])
    if aliases == 0 and count_mailboxes(cur, alias) == 0:
        cur.execute("DELETE FROM domain_admins WHERE domain = %s", (alias,))
        cur.execute("DELETE FROM domain WHERE domain = %s", (alias,))
        db.log(cur, alias, "delete_domain", alias)
        return True
    return False


def list_alias_domains(cur: Any) -> list[dict]:
    """Return alias domains sorted by name: {alias, target, active}."""
    cur.execute(
        "SELECT alias_domain AS alias, target_domain AS target, active "
        "FROM alias_domain ORDER BY alias_domain"
    )
    return [dict(row, active=bool(row["active"])) for row in cur.fetchall()]
