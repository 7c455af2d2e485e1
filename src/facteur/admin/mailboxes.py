"""Mailboxes, written as PostfixAdmin's MailboxHandler writes them.

A mailbox is a `mailbox` row (password `{BLF-CRYPT}$2y$...`, maildir `DOMAIN/LOCAL/`, quota in bytes)
plus an `alias` row ADDRESS -> ADDRESS, so that Postfix's alias lookup finds it. Its mail lives in
/var/vmail/DOMAIN/LOCAL (Dovecot's home; Maildir/ inside).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from facteur.admin import db
from facteur.admin.domains import alias_target, require_domain
from facteur.admin.validate import domain_of, local_of, normalize_address, normalize_domain
from facteur.errors import FacteurError

VMAIL_ROOT = Path("/var/vmail")
# PostfixAdmin sets password_expiry one year ahead "to keep MySQL happy"; facteur does the same.
_PASSWORD_EXPIRY = "NOW() + INTERVAL 365 DAY"


def maildir_column(address: str) -> str:
    """Return the `maildir` value PostfixAdmin stores for `address` (domain_path=YES): `DOMAIN/LOCAL/`."""
    return f"{domain_of(address)}/{local_of(address)}/"


def home_of(address: str, root: Path = VMAIL_ROOT) -> Path:
    """Return the directory holding the mail of `address`: ROOT/DOMAIN/LOCAL."""
    return root / domain_of(address) / local_of(address)


def get_mailbox(cur: Any, address: str) -> dict | None:
    """Return the `mailbox` row of `address`, or None."""
    cur.execute("SELECT * FROM mailbox WHERE username = %s", (address,))
    return cur.fetchone()


def require_mailbox(cur: Any, address: str) -> dict:
    """Return the `mailbox` row of `address`; raise FacteurError if there is none."""
    row = get_mailbox(cur, address)
    if row is None:
        raise FacteurError(f"mailbox {address} not found (see: facteur mailbox list {domain_of(address)})")
    return row


def check_can_add(cur: Any, address: str) -> dict | None:
    """Raise FacteurError unless mailbox `address` (normalised) can be created; return the existing
    alias row of that address that only points to itself, if any.

    Refused: a domain not hosted here or that is an alias domain, an existing mailbox, an existing
    alias to somewhere else. An alias that only points to itself (as the default postmaster@ alias
    does when the admin address is postmaster@) is accepted: it becomes the mailbox's own alias row.
    """
    domain = domain_of(address)
    target = alias_target(cur, domain)
    if target is not None:
        raise FacteurError(
            f"{domain} is an alias domain of {target}: create the mailbox as "
            f"{local_of(address)}@{target}"
        )
    require_domain(cur, domain)
    if get_mailbox(cur, address) is not None:
        raise FacteurError(f"mailbox {address} already exists")
    cur.execute("SELECT goto FROM alias WHERE address = %s FOR UPDATE", (address,))
    alias = cur.fetchone()
    if alias is not None and alias["goto"] != address:
        raise FacteurError(
            f"{address} is already an alias (to {alias['goto']}); "
            f"remove it first: facteur alias remove {address}"
        )
    return alias


def add_mailbox(cur: Any, address: str, password_hash: str, *, name: str = "", quota_bytes: int = 0) -> None:
    """Create mailbox `address` with an already hashed password (facteur.admin.passwords) and its
    own alias row; raise FacteurError (nothing written) if check_can_add() refuses it."""
    address = normalize_address(address)
    domain = domain_of(address)
    if check_can_add(cur, address) is None:
        cur.execute(
            "INSERT INTO alias (address, goto, domain, created, modified, active) "
            "VALUES (%s, %s, %s, NOW(), NOW(), 1)",
            (address, address, domain),
        )
        db.log(cur, domain, "create_alias", address)
    cur.execute(
        "INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, "
        "created, modified, active, phone, email_other, token, token_validity, password_expiry) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, NOW(), NOW(), 1, '', '', '', NOW(), {_PASSWORD_EXPIRY})",
        (address, password_hash, name, maildir_column(address), int(quota_bytes), local_of(address), domain),
    )
    db.log(cur, domain, "create_mailbox", address)


def set_password(cur: Any, address: str, password_hash: str) -> None:
    """Replace the password of mailbox `address` (hashed); raise FacteurError if it does not exist."""
    address = normalize_address(address)
    require_mailbox(cur, address)
    cur.execute(
        f"UPDATE mailbox SET password = %s, modified = NOW(), password_expiry = {_PASSWORD_EXPIRY} "
        "WHERE username = %s",
        (password_hash, address),
    )
    db.log(cur, domain_of(address), "edit_password", address)


def set_quota(cur: Any, address: str, quota_bytes: int) -> None:
    """Set the quota of mailbox `address` in bytes (0 = unlimited)."""
    address = normalize_address(address)
    require_mailbox(cur, address)
    cur.execute(
        "UPDATE mailbox SET quota = %s, modified = NOW() WHERE username = %s", (int(quota_bytes), address)
    )
    db.log(cur, domain_of(address), "edit_mailbox", address)


def lists_naming(cur: Any, address: str) -> list[str]:
    """Return the aliases (other than its own row) whose destinations include `address`."""
    cur.execute(
        "SELECT address, goto FROM alias WHERE address <> %s AND FIND_IN_SET(%s, goto) > 0 ORDER BY address",
        (address, address),
    )
    return [row["address"] for row in cur.fetchall()]


def remove_mailbox(cur: Any, address: str) -> list[str]:
    """Remove mailbox `address` and its rows elsewhere, as PostfixAdmin's MailboxHandler::delete().

    Mail on disk is kept (see delete_maildir). Return the aliases and lists that still name the
    address as a destination, so the caller can say so. Raise FacteurError if it does not exist.
    """
    address = normalize_address(address)
    require_mailbox(cur, address)
    cur.execute("DELETE FROM fetchmail WHERE mailbox = %s", (address,))
    cur.execute("DELETE FROM vacation WHERE email = %s", (address,))
    cur.execute("DELETE FROM vacation_notification WHERE on_vacation = %s", (address,))
    cur.execute("DELETE FROM quota WHERE username = %s", (address,))
    cur.execute("DELETE FROM quota2 WHERE username = %s", (address,))
    cur.execute("DELETE FROM alias WHERE address = %s", (address,))
    cur.execute("DELETE FROM mailbox WHERE username = %s", (address,))
    db.log(cur, domain_of(address), "delete_mailbox", address)
    return lists_naming(cur, address)


def list_mailboxes(cur: Any, domain: str | None = None) -> list[dict]:
    """Return mailboxes (all, or those of `domain`) sorted by address: address, name, quota, active,
    created, modified."""
    query = (
        "SELECT username AS address, name, quota, active, created, modified, domain FROM mailbox"
    )
    if domain:
        domain = normalize_domain(domain)
        require_domain(cur, domain)
        cur.execute(query + " WHERE domain = %s ORDER BY domain, local_part", (domain,))
    else:
        cur.execute(query + " ORDER BY domain, local_part")
    return list(cur.fetchall())


def delete_maildir(address: str, root: Path = VMAIL_ROOT) -> bool:
    """Delete ROOT/DOMAIN/LOCAL of normalised `address`; return True if something was deleted.

    Refuse (FacteurError) a path that would leave ROOT or that is a symbolic link.
    """
    address = normalize_address(address)
    home = home_of(address, root)
    resolved_root = root.resolve()
    if home.is_symlink():
        raise FacteurError(f"{home} is a symbolic link; not deleting it")
    resolved = home.resolve()
    if resolved.parent.parent != resolved_root or resolved == resolved_root:
        raise FacteurError(f"{home} is not a mailbox directory under {root}; not deleting it")
    if not os.path.lexists(home):
        return False
    shutil.rmtree(home)
    return True
