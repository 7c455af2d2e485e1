"""Make the accounts the configuration names exist (called by `facteur install` after the playbook).

Idempotent: a second run changes nothing. Existing rows are never modified, so a password the
administrator changed since (in PostfixAdmin, Roundcube or with `facteur mailbox passwd`) stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from facteur import secrets
from facteur.admin import db, passwords
from facteur.admin.alias_domains import add_alias_domain
from facteur.admin.domains import add_domain, reload_postfix
from facteur.admin.mailboxes import add_mailbox, get_mailbox
from facteur.admin.validate import MIB

ADMIN_PASSWORD_SECRET = "admin-password"
SUPERADMIN_DOMAIN = "ALL"


def ensure_superadmin(cur: Any, username: str, make_hash: Callable[[], str]) -> bool:
    """Make `username` a PostfixAdmin superadmin (rows in `admin` and `domain_admins` domain ALL).

    A missing admin row is created with the password hash `make_hash()` returns; an existing one is
    left as it is (password included). A missing `domain_admins` row is added. Return True if the
    admin row was created.
    """
    cur.execute("SELECT 1 FROM admin WHERE username = %s", (username,))
    created = cur.fetchone() is None
    if created:
        cur.execute(
            "INSERT INTO admin (username, password, created, modified, active, superadmin, "
            "phone, email_other, token, token_validity) "
            "VALUES (%s, %s, NOW(), NOW(), 1, 1, '', '', '', NOW())",
            (username, make_hash()),
        )
        db.log(cur, "", "create_admin", username)
    cur.execute(
        "SELECT 1 FROM domain_admins WHERE username = %s AND domain = %s", (username, SUPERADMIN_DOMAIN)
    )
    if cur.fetchone() is None:
        cur.execute(
            "INSERT INTO domain_admins (username, domain, created, active) VALUES (%s, %s, NOW(), 1)",
            (username, SUPERADMIN_DOMAIN),
        )
    return created


def seed(
    settings: Any,
    created_secrets: Iterable[str] = (),
    *,
    connection: Any = None,
    secrets_dir: str | None = None,
) -> list[str]:
    """Given Settings, make the superadmin, the configured domains and alias domains and the admin's
    mailbox exist, in one transaction; return one line per thing created (empty on a second run).

    The superadmin and the admin mailbox get the `admin-password` secret, only when they are created.
    `created_secrets` (the names secrets.ensure() just made) is accepted for the installer's sake;
    even a freshly generated admin-password never overwrites an existing account.
    Raise FacteurError if the database cannot be reached or refuses a change (nothing is applied).
    """
    del created_secrets  # existing accounts are never touched, whatever was just generated
    admin_email = settings.admin_email
    done: list[str] = []
    password_hash: str | None = None

    def admin_hash() -> str:
        nonlocal password_hash
        if password_hash is None:
            password_hash = passwords.hash_password(secrets.read(ADMIN_PASSWORD_SECRET, secrets_dir))
        return password_hash

    with db.transaction(connection) as cur:
        for domain in settings.domains:
            if add_domain(cur, domain, admin_email=admin_email, exist_ok=True):
                done.append(f"domain {domain}")
        for entry in settings.alias_domains:
            if add_alias_domain(cur, entry.alias, entry.target, exist_ok=True):
                done.append(f"alias domain {entry.alias} -> {entry.target}")
        if ensure_superadmin(cur, admin_email, admin_hash):
            done.append(f"PostfixAdmin superadmin {admin_email}")
        if get_mailbox(cur, admin_email) is None:
            quota = settings.limits.default_quota_mb * MIB
            add_mailbox(cur, admin_email, admin_hash(), name="Postmaster", quota_bytes=quota)
            done.append(f"mailbox {admin_email}")
    if any(line.startswith(("domain ", "alias domain ")) for line in done):
        reload_postfix()
    return done
