"""Aliases and distribution lists: rows of PostfixAdmin's `alias` table.

An alias maps one address (or `@domain`, a catch-all) to a comma-separated `goto` of destinations; a
list is an alias with several destinations. Destinations are de-duplicated and may be anywhere. An
alias may not have more than `limits.max_list_members` destinations. Mailboxes' own rows (address ->
itself) are managed with the mailbox, never here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from facteur.admin import db
from facteur.admin.domains import require_domain
from facteur.admin.validate import domain_of, normalize_alias_source, normalize_destination, normalize_domain
from facteur.errors import FacteurError

LIMIT_KEY = "limits.max_list_members"


# --- pure helpers -------------------------------------------------------------------------------

def split_goto(goto: str) -> list[str]:
    """Return the destinations of a `goto` value (comma-separated, spaces tolerated)."""
    return [part.strip() for part in (goto or "").split(",") if part.strip()]


def join_goto(members: Iterable[str]) -> str:
    """Return the `goto` value for `members`, as PostfixAdmin writes it (comma-separated, no spaces)."""
    return ",".join(members)


def dedupe(addresses: Iterable[str]) -> list[str]:
    """Return `addresses` without repeats, first occurrence order kept."""
    seen: dict[str, None] = {}
    for address in addresses:
        seen.setdefault(address, None)
    return list(seen)


def exceeds_cap(member_count: int, limit: int) -> bool:
    """Return True if a list of `member_count` destinations is over the `limit`."""
    return member_count > limit


def check_cap(address: str, members: list[str], limit: int) -> None:
    """Raise FacteurError if `members` (already de-duplicated) is more than `limit` destinations."""
    if exceeds_cap(len(members), limit):
        raise FacteurError(
            f"list {address} would have {len(members)} members; the limit is {limit} ({LIMIT_KEY})"
        )


def normalize_members(values: Iterable[str]) -> list[str]:
    """Return the destinations `values` normalised and de-duplicated; FacteurError if one is invalid."""
    return dedupe(normalize_destination(value) for value in values)


# --- database -----------------------------------------------------------------------------------

def get_alias(cur: Any, address: str, *, lock: bool = False) -> dict | None:
    """Return the `alias` row of `address` (locked for update with `lock`), or None."""
    cur.execute("SELECT * FROM alias WHERE address = %s" + (" FOR UPDATE" if lock else ""), (address,))
    return cur.fetchone()


def is_mailbox(cur: Any, address: str) -> bool:
    """Return True if `address` is a mailbox."""
    cur.execute("SELECT 1 FROM mailbox WHERE username = %s", (address,))
    return cur.fetchone() is not None


def _require_list(cur: Any, address: str) -> tuple[str, dict]:
    address = normalize_alias_source(address)
    if is_mailbox(cur, address):
        raise FacteurError(f"{address} is a mailbox, not an alias or list (see: facteur mailbox list)")
    row = get_alias(cur, address, lock=True)
    if row is None:
        raise FacteurError(f"alias or list {address} not found (see: facteur alias list)")
    return address, row


def add_alias(cur: Any, source: str, destinations: Iterable[str], *, max_members: int) -> list[str]:
    """Create alias `source` -> `destinations` (de-duplicated); return the stored destinations.

    Raise FacteurError (nothing written) if the source is invalid, its domain is not hosted, it is a
    mailbox or an existing alias, no destination is given, one is invalid, or there are more than
    `max_members` of them.
    """
    address = normalize_alias_source(source)
    members = normalize_members(destinations)
    if not members:
        raise FacteurError(f"{address} needs at least one destination")
    check_cap(address, members, max_members)
    domain = domain_of(address)
    require_domain(cur, domain)
    if is_mailbox(cur, address):
        raise FacteurError(f"{address} is a mailbox; an alias cannot have the same address")
    existing = get_alias(cur, address, lock=True)
    if existing is not None:
        raise FacteurError(
            f"alias {address} already exists (to {existing['goto']}); see: facteur list show {address}"
        )
    if members == [address]:
        raise FacteurError(f"alias {address} cannot point only to itself")
    cur.execute(
        "INSERT INTO alias (address, goto, domain, created, modified, active) "
        "VALUES (%s, %s, %s, NOW(), NOW(), 1)",
        (address, join_goto(members), domain),
    )
    db.log(cur, domain, "create_alias", address)
    return members


def remove_alias(cur: Any, source: str) -> None:
    """Remove alias or list `source`; FacteurError if it does not exist or is a mailbox."""
    address, _row = _require_list(cur, source)
    cur.execute("DELETE FROM alias WHERE address = %s", (address,))
    db.log(cur, domain_of(address), "delete_alias", address)


def show_alias(cur: Any, source: str) -> dict:
    """Return alias or list `source` as {address, members, active, created, modified}."""
    address, row = _require_list(cur, source)
    return {
        "address": address,
        "members": split_goto(row["goto"]),
        "active": bool(row["active"]),
        "created": row["created"],
        "modified": row["modified"],
    }


def list_aliases(cur: Any, domain: str | None = None) -> list[dict]:
    """Return aliases and lists (mailboxes' own rows excluded), all or those of hosted `domain`,
    sorted: {address, members, active}. FacteurError if `domain` is not hosted."""
    query = (
        "SELECT a.address, a.goto, a.active FROM alias a "
        "WHERE NOT EXISTS (SELECT 1 FROM mailbox m WHERE m.username = a.address)"
    )
    if domain:
        domain = normalize_domain(domain)
        require_domain(cur, domain)
        cur.execute(query + " AND a.domain = %s ORDER BY a.domain, a.address", (domain,))
    else:
        cur.execute(query + " ORDER BY a.domain, a.address")
    return [
        {"address": row["address"], "members": split_goto(row["goto"]), "active": bool(row["active"])}
        for row in cur.fetchall()
    ]


def _store_members(cur: Any, address: str, members: list[str]) -> None:
    cur.execute(
        "UPDATE alias SET goto = %s, modified = NOW() WHERE address = %s", (join_goto(members), address)
    )
    db.log(cur, domain_of(address), "edit_alias", address)


def add_member(cur: Any, list_address: str, member: str, *, max_members: int) -> bool:
    """Add `member` to list `list_address`; return False if it was already a member (nothing written).

    Raise FacteurError (nothing written) if the list does not exist, the member is invalid, or the
    list would pass `max_members`.
    """
    member = normalize_destination(member)
    address, row = _require_list(cur, list_address)
    members = split_goto(row["goto"])
    if member in members:
        return False
    members.append(member)
    check_cap(address, members, max_members)
    _store_members(cur, address, members)
    return True


def remove_member(cur: Any, list_address: str, member: str) -> None:
    """Remove `member` from list `list_address`.

    Raise FacteurError if the list does not exist, `member` is not in it, or it is the last member
    (remove the list instead).
    """
    member = normalize_destination(member)
    address, row = _require_list(cur, list_address)
    members = split_goto(row["goto"])
    if member not in members:
        raise FacteurError(f"{member} is not a member of {address}")
    members = [item for item in members if item != member]
    if not members:
        raise FacteurError(
            f"{member} is the last member of {address}; "
            f"remove the list instead: facteur list remove {address}"
        )
    _store_members(cur, address, members)
