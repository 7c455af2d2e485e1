"""Aliases and distribution lists: rows of PostfixAdmin's `alias` table with a comma-separated `goto`.

A list is an alias whose `goto` holds several addresses. The alias row that every mailbox has
(address -> itself) belongs to the mailbox and is not shown or changed here.
"""

from __future__ import annotations

from typing import Any

from facteur.admin import db, domains, validate
from facteur.errors import FacteurError

LIMIT_SETTING = "limits.max_list_members"


def member_cap_error(address: str, count: int, limit: int) -> str | None:
    """Return the refusal message if `address` would have `count` members over `limit`, else None.

    `limit` 0 (or less) means no limit.
    """
    if limit > 0 and count > limit:
        return f"list {address} would have {count} members; the limit is {limit} ({LIMIT_SETTING})"
    return None


def check_member_cap(address: str, members: list[str], limit: int) -> None:
    """Raise FacteurError if `members` is more than `limit` destinations for `address`."""
    message = member_cap_error(address, len(members), limit)
    if message:
        raise FacteurError(message)


def split_goto(goto: str) -> list[str]:
    """Return the destinations of a `goto` column value, in order, without blanks or repeats."""
    result: list[str] = []
    for part in (goto or "").split(","):
        part = part.strip()
        if part and part not in result:
            result.append(part)
    return result


def _is_mailbox(cur: Any, address: str) -> bool:
    cur.execute("SELECT 1 FROM mailbox WHERE username = %s", (address,))
    return cur.fetchone() is not None


def get(cur: Any, address: str, *, for_update: bool = False) -> dict | None:
    """Return the alias row of `address` (not a mailbox's own row), or None."""
    suffix = " FOR UPDATE" if for_update else ""
    cur.execute("SELECT * FROM alias WHERE address = %s" + suffix, (address,))
    row = cur.fetchone()
    if row is None or _is_mailbox(cur, address):
        return None
    return row


def require(cur: Any, address: str, *, kind: str = "alias", for_update: bool = False) -> dict:
    """Return the alias row of `address`; raise FacteurError if there is none or it is a mailbox."""
    row = get(cur, address, for_update=for_update)
    if row is None:
        if _is_mailbox(cur, address):
            article = "an" if kind[0] in "aeiou" else "a"
            raise FacteurError(f"{address} is a mailbox, not {article} {kind}")
        raise FacteurError(f"{kind} {address} does not exist")
    return row


def _check_destinations(address: str, members: list[str]) -> None:
    if address in members:
        raise FacteurError(f"{address} cannot be one of its own destinations (it would loop)")
    if address.startswith("@"):
        return
    for member in members:
        if member.startswith("@"):
            raise FacteurError(f"invalid destination {member!r}: only a catch-all may forward to a whole domain")


def add(cur: Any, address: str, members: list[str], *, max_members: int) -> None:
    """Create alias (or list) `address` -> `members` (normalised, deduplicated).

    Raise FacteurError if its domain is not hosted, the address is taken, a destination is the
    address itself, or there are more than `max_members` destinations (nothing is written then).
    """
    _, domain = validate.split_address(address)
    domains.require(cur, domain)
    check_member_cap(address, members, max_members)
    _check_destinations(address, members)
    if _is_mailbox(cur, address):
        raise FacteurError(f"{address} is a mailbox; an alias cannot have the same address")
    cur.execute("SELECT 1 FROM alias WHERE address = %s", (address,))
    if cur.fetchone():
        raise FacteurError(f"alias {address} already exists")
    cur.execute(
        "INSERT INTO alias (address, goto, domain, created, modified, active)"
        " VALUES (%s, %s, %s, NOW(), NOW(), 1)",
        (address, ",".join(members), domain),
    )
    db.log(cur, domain, "create_alias", address)


def set_members(cur: Any, address: str, members: list[str], *, max_members: int) -> None:
    """Replace the destinations of existing alias `address` (same checks as add)."""
    _, domain = validate.split_address(address)
    require(cur, address, for_update=True)
    check_member_cap(address, members, max_members)
    _check_destinations(address, members)
    if not members:
        raise FacteurError(f"{address} would have no destination left; remove it instead")
    cur.execute(
        "UPDATE alias SET goto = %s, modified = NOW() WHERE address = %s", (",".join(members), address)
    )
    db.log(cur, domain, "edit_alias", address)


def add_member(cur: Any, address: str, member: str, *, max_members: int) -> bool:
    """Add `member` to list `address`; return False if it was already there (nothing written)."""
    row = require(cur, address, kind="list", for_update=True)
    members = split_goto(row["goto"])
    if member in members:
        return False
    set_members(cur, address, [*members, member], max_members=max_members)
    return True


def remove_member(cur: Any, address: str, member: str) -> None:
    """Remove `member` from list `address`.

    Raise FacteurError if it is not a member, or if it is the last one (remove the list instead).
    """
    row = require(cur, address, kind="list", for_update=True)
    members = split_goto(row["goto"])
    if member not in members:
        raise FacteurError(f"{member} is not a member of {address}")
    rest = [m for m in members if m != member]
    if not rest:
        raise FacteurError(
            f"{member} is the last member of {address}; remove the list instead (facteur list remove {address})"
        )
    # Removing never raises the count, so no cap applies (a list over a lowered cap can shrink).
    set_members(cur, address, rest, max_members=0)


def members(cur: Any, address: str) -> list[str]:
    """Return the destinations of alias/list `address`; raise FacteurError if it does not exist."""
    return split_goto(require(cur, address, kind="list")["goto"])


def list_all(cur: Any, domain: str | None = None) -> list[dict]:
    """Return aliases that are not mailboxes: address, goto (as a list), active, domain."""
    query = (
        "SELECT a.address, a.goto, a.active, a.domain FROM alias a"
        " LEFT JOIN mailbox m ON m.username = a.address WHERE m.username IS NULL"
    )
    params: tuple = ()
    if domain:
        domains.require(cur, domain)
        query += " AND a.domain = %s"
        params = (domain,)
    cur.execute(query + " ORDER BY a.domain, a.address", params)
    rows = []
    for row in cur.fetchall():
        row = dict(row)
        row["goto"] = split_goto(row["goto"])
        rows.append(row)
    return rows


def remove(cur: Any, address: str, *, kind: str = "alias") -> None:
    """Delete alias/list `address`; raise FacteurError if it does not exist or is a mailbox."""
    _, domain = validate.split_address(address)
    require(cur, address, kind=kind)
    cur.execute("DELETE FROM alias WHERE address = %s", (address,))
    db.log(cur, domain, "delete_alias", address)


def unknown_local_destinations(cur: Any, members: list[str]) -> list[str]:
    """Return the destinations in a domain hosted here that are neither a mailbox nor an alias.

    Mail to them would bounce; the caller may warn. Addresses at an alias domain are resolved
    through its target.
    """
    unknown = []
    for member in members:
        local, domain = validate.split_address(member)
        if not local or domains.get(cur, domain) is None:
            continue
        target = domains.alias_target(cur, domain)
        candidates = [member] + ([f"{local}@{target}"] if target else [])
        found = False
        for candidate in candidates:
            cur.execute(
                "SELECT 1 FROM alias WHERE address = %s UNION SELECT 1 FROM mailbox WHERE username = %s",
                (candidate, candidate),
            )
            if cur.fetchone():
                found = True
                break
        if not found:
            unknown.append(member)
    return unknown
