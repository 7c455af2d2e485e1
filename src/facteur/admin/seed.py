"""Make the configured accounts exist after an install: superadmin, domains, alias domains, admin mailbox.

Idempotent: a second run changes nothing. Passwords are set when an account is created, and
again only when the `admin-password` secret was just (re)generated: a password the administrator
changed later in PostfixAdmin or with `facteur mailbox passwd` is never overwritten otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from facteur.admin import alias_domains, db, domains, mailboxes, passwords, validate
from facteur.errors import FacteurError

ADMIN_SECRET = "admin-password"


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def ensure_superadmin(cur: Any, email: str, password_hash: str, *, reset_password: bool = False) -> str | None:
    """Make `email` a PostfixAdmin superadmin (`admin` row + `domain_admins` row for domain ALL).

    Return "created", "password reset", "repaired" or None when nothing changed.
    """
    cur.execute("SELECT username, superadmin FROM admin WHERE username = %s", (email,))
    row = cur.fetchone()
    result = None
    if row is None:
        cur.execute(
            "INSERT INTO admin (username, password, created, modified, active, superadmin,"
            " phone, email_other, token, token_validity) VALUES (%s, %s, NOW(), NOW(), 1, 1, '', '', '', NOW())",
            (email, password_hash),
        )
        db.log(cur, "", "create_admin", email)
        result = "created"
    else:
        if not row["superadmin"]:
            cur.execute("UPDATE admin SET superadmin = 1, modified = NOW() WHERE username = %s", (email,))
            result = "repaired"
        if reset_password:
            cur.execute(
                "UPDATE admin SET password = %s, modified = NOW() WHERE username = %s", (password_hash, email)
            )
            result = "password reset"
        if result:
            db.log(cur, "", "edit_admin", email)
    cur.execute("SELECT 1 FROM domain_admins WHERE username = %s AND domain = 'ALL'", (email,))
    if cur.fetchone() is None:
        cur.execute(
            "INSERT INTO domain_admins (username, domain, created, active) VALUES (%s, 'ALL', NOW(), 1)",
            (email,),
        )
        result = result or "repaired"
    return result


def _ensure_admin_mailbox(
    cur: Any, email: str, password_hash: str, quota_bytes: int, *, reset_password: bool
) -> str | None:
    local, domain = validate.split_address(email)
    if domains.get(cur, domain) is None or domains.alias_target(cur, domain):
        return None  # the admin's address is elsewhere: nothing to host here
    if mailboxes.get(cur, email) is not None:
        if reset_password:
            mailboxes.set_password(cur, email, password_hash)
            return "password reset"
        return None
    cur.execute("SELECT goto FROM alias WHERE address = %s", (email,))
    if cur.fetchone() is not None:
        if local not in domains.DEFAULT_ALIASES:
            raise FacteurError(
                f"admin_email {email} is an alias here; it must be a mailbox"
                f" (remove the alias: facteur alias remove {email})"
            )
        # A default alias made for an earlier admin address: the mailbox takes its place.
        cur.execute("DELETE FROM alias WHERE address = %s", (email,))
        db.log(cur, domain, "delete_alias", email)
    mailboxes.add(cur, email, password_hash, quota_bytes=quota_bytes, name="Administrator")
    return "created"


def seed(
    settings: Any, created_secrets: Iterable[str] = (), secrets_dir: str | Path | None = None
) -> dict[str, list[str]]:
    """Given validated Settings and the names of the secrets the install just created, make exist:

    the superadmin `settings.admin_email` (password = secret admin-password), every domain of
    `settings.domains` (with its default aliases -> admin_email), every `settings.alias_domains`,
    and a mailbox for admin_email if its domain is hosted. One transaction: all or nothing.
    Return {"created": [...], "updated": [...]} naming what changed (empty lists on a re-run).
    Raise FacteurError (one line) if the database cannot be reached or the data conflicts.
    """
    from facteur import secrets

    created_names = set(created_secrets or ())
    reset = ADMIN_SECRET in created_names
    admin_email = validate.address(settings.admin_email)
    password_hash = passwords.hash_password(secrets.read(ADMIN_SECRET, secrets_dir))
    limits = getattr(settings, "limits", None)
    quota_mb = int(getattr(limits, "default_quota_mb", 0) or 0)
    report: dict[str, list[str]] = {"created": [], "updated": []}

    def note(what: str, outcome: str | None) -> None:
        if outcome == "created":
            report["created"].append(what)
        elif outcome:
            report["updated"].append(f"{what} ({outcome})")

    with db.transaction(secrets_dir) as cur:
        note(f"superadmin {admin_email}", ensure_superadmin(cur, admin_email, password_hash, reset_password=reset))
        for name in settings.domains:
            domain = validate.domain(name)
            if domains.get(cur, domain) is None:
                domains.add(cur, domain, admin_email)
                note(f"domain {domain}", "created")
        for item in getattr(settings, "alias_domains", None) or ():
            alias = validate.domain(_field(item, "alias"))
            target = validate.domain(_field(item, "target"))
            if alias_domains.add(cur, alias, target):
                note(f"alias domain {alias} -> {target}", "created")
        note(
            f"mailbox {admin_email}",
            _ensure_admin_mailbox(cur, admin_email, password_hash, quota_mb * 1024 * 1024, reset_password=reset),
        )
    return report
