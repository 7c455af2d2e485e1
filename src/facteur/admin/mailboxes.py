"""Mailboxes: a `mailbox` row plus its `alias` row (address -> itself), as MailboxHandler writes them.

Maildir column `DOMAIN/LOCAL/`; quota in bytes (0 = unlimited); Dovecot's home is
/var/vmail/DOMAIN/LOCAL. Functions take a cursor from db.transaction() and normalised addresses.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from facteur.admin import db, domains, validate
from facteur.errors import FacteurError

VMAIL_ROOT = Path("/var/vmail")
# PostfixAdmin sets a new password's expiry to now + the domain's password_expiry days, or one
# year when the domain has none; nothing in facteur's stack enforces it (Dovecot ignores it).
DEFAULT_PASSWORD_DAYS = 365


def get(cur: Any, address: str) -> dict | None:
    """Return the `mailbox` row of `address`, or None."""
    cur.execute("SELECT * FROM mailbox WHERE username = %s", (address,))
    return cur.fetchone()


def require(cur: Any, address: str) -> dict:
    """Return the `mailbox` row of `address`; raise FacteurError if there is none."""
    row = get(cur, address)
    if row is None:
        raise FacteurError(f"mailbox {address} does not exist")
    return row


def _password_days(cur: Any, domain: str) -> int:
    cur.execute("SELECT password_expiry FROM domain WHERE domain = %s", (domain,))
    row = cur.fetchone()
    days = int(row["password_expiry"] or 0) if row else 0
    return days if days > 0 else DEFAULT_PASSWORD_DAYS


def add(cur: Any, address: str, password_hash: str, *, quota_bytes: int = 0, name: str = "") -> None:
    """Create mailbox `address` with an already hashed password (passwords.hash_password).

    Raise FacteurError if its domain is not hosted here or is an alias domain, or if the address is
    already a mailbox or an alias.
    """
    local, domain = validate.split_address(address)
    domains.require(cur, domain)
    target = domains.alias_target(cur, domain)
    if target:
        raise FacteurError(
            f"{domain} is an alias domain of {target}: create the mailbox as {local}@{target}"
        )
    if get(cur, address) is not None:
        raise FacteurError(f"mailbox {address} already exists")
    cur.execute("SELECT goto FROM alias WHERE address = %s", (address,))
    if cur.fetchone():
        raise FacteurError(
            f"{address} is already an alias or a list (remove it first: facteur alias remove {address})"
        )
    days = _password_days(cur, domain)
    # MailboxHandler::preSave first creates the alias through AliasHandler (logged as create_alias).
    cur.execute(
        "INSERT INTO alias (address, goto, domain, created, modified, active)"
        " VALUES (%s, %s, %s, NOW(), NOW(), 1)",
        (address, address, domain),
    )
    db.log(cur, domain, "create_alias", address)
    cur.execute(
        "INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain,"
        " created, modified, active, phone, email_other, token, token_validity, password_expiry)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, NOW(), NOW(), 1, '', '', '', NOW(),"
        " NOW() + INTERVAL %s DAY)",
        (address, password_hash, name, f"{domain}/{local}/", int(quota_bytes), local, domain, days),
    )
    db.log(cur, domain, "create_mailbox", address)


def set_password(cur: Any, address: str, password_hash: str) -> None:
    """Replace the password of mailbox `address`; raise FacteurError if it does not exist."""
    _, domain = validate.split_address(address)
    require(cur, address)
    days = _password_days(cur, domain)
    cur.execute(
        "UPDATE mailbox SET password = %s, modified = NOW(), password_expiry = NOW() + INTERVAL %s DAY"
        " WHERE username = %s",
        (password_hash, days, address),
    )
    db.log(cur, domain, "edit_password", address)


def set_quota(cur: Any, address: str, quota_bytes: int) -> None:
    """Set the quota of mailbox `address` in bytes (0 = unlimited)."""
    _, domain = validate.split_address(address)
    require(cur, address)
    cur.execute(
        "UPDATE mailbox SET quota = %s, modified = NOW() WHERE username = %s", (int(quota_bytes), address)
    )
    db.log(cur, domain, "edit_mailbox", address)


def list_all(cur: Any, domain: str | None = None) -> list[dict]:
    """Return mailboxes (username, name, quota, active, created, domain, maildir), sorted.

    With `domain`, only that domain's; raise FacteurError if it is not hosted here.
    """
    if domain:
        domains.require(cur, domain)
        cur.execute(
            "SELECT username, name, quota, active, created, domain, maildir FROM mailbox"
            " WHERE domain = %s ORDER BY username",
            (domain,),
        )
    else:
        cur.execute(
            "SELECT username, name, quota, active, created, domain, maildir FROM mailbox"
            " ORDER BY domain, username"
        )
    return list(cur.fetchall())


def remove(cur: Any, address: str) -> dict:
    """Delete mailbox `address` and its rows (alias, quota, vacation, fetchmail), as MailboxHandler does.

    Mail on disk stays (see delete_maildir). Return the deleted `mailbox` row.
    Raise FacteurError if there is no such mailbox.
    """
    _, domain = validate.split_address(address)
    row = require(cur, address)
    cur.execute("DELETE FROM fetchmail WHERE mailbox = %s", (address,))
    cur.execute("DELETE FROM vacation WHERE email = %s", (address,))
    cur.execute("DELETE FROM vacation_notification WHERE on_vacation = %s", (address,))
    cur.execute("DELETE FROM quota WHERE username = %s", (address,))
    cur.execute("DELETE FROM quota2 WHERE username = %s", (address,))
    cur.execute("DELETE FROM alias WHERE address = %s", (address,))
    cur.execute("DELETE FROM mailbox WHERE username = %s", (address,))
    db.log(cur, domain, "delete_mailbox", address)
    return row


def home(address: str, root: Path = VMAIL_ROOT) -> Path:
    """Return the directory that holds the mail of `address`: ROOT/DOMAIN/LOCAL."""
    local, domain = validate.split_address(address)
    if not local or "/" in local or local in (".", "..") or "/" in domain:
        raise FacteurError(f"refusing to compute a mail directory for {address!r}")
    return root / domain / local


def delete_maildir(address: str, root: Path = VMAIL_ROOT) -> bool:
    """Delete the mail directory of `address` (call after the database change is committed).

    Return True if something was deleted, False if there was no directory.
    """
    path = home(address, root)
    if not path.exists():
        return False
    if path.is_symlink() or not path.resolve().is_relative_to(root.resolve()):
        raise FacteurError(f"refusing to delete {path}: it is not inside {root}")
    shutil.rmtree(path)
    return True
