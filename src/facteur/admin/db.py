"""Connection to PostfixAdmin's database for day-2 commands, one transaction per command.

Contract: `with transaction() as cur:` yields a PyMySQL DictCursor inside a transaction; the block's
writes are committed together when it ends normally and rolled back on any exception, so nothing is
ever half-applied. Every database failure becomes a FacteurError with one line.

The account is `facteur` (SELECT/INSERT/UPDATE/DELETE on postfixadmin.*), over MariaDB's unix socket,
with the password from the `mariadb-facteur` secret. Integration tests may pass their own connection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from facteur import secrets
from facteur.errors import FacteurError

SOCKET = "/run/mysqld/mysqld.sock"
DB_USER = "facteur"
DB_NAME = "postfixadmin"
PASSWORD_SECRET = "mariadb-facteur"

UNREACHABLE = "cannot reach the account database (is MariaDB running? try: facteur status)"

# The `username` column of PostfixAdmin's log table reads "WHO (WHERE)"; its UI shows it as is.
LOG_USERNAME = "facteur (localhost)"
# The actions PostfixAdmin's log view knows (languages/*.lang: pViewlog_action_*).
LOG_ACTIONS = frozenset(
    {
        "create_domain",
        "delete_domain",
        "edit_domain",
        "create_mailbox",
        "delete_mailbox",
        "edit_mailbox",
        "edit_password",
        "create_alias",
        "delete_alias",
        "edit_alias",
        "create_alias_domain",
        "delete_alias_domain",
        "edit_alias_domain",
        "create_admin",
        "edit_admin",
        "delete_admin",
    }
)

_UNREACHABLE_CODES = {2002, 2003, 2006, 2013}


def describe_error(exc: Exception) -> str:
    """Given a PyMySQL error, return one line that says what is wrong and what to do."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if code in _UNREACHABLE_CODES:
        return UNREACHABLE
    if code == 1045:
        return (
            f"the account database refused user {DB_USER} (its password is the secret "
            f"{PASSWORD_SECRET}; run facteur install to repair)"
        )
    if code == 1049:
        return f"the account database {DB_NAME} does not exist (run facteur install)"
    if code == 1146:
        return "PostfixAdmin's tables are missing (run facteur install)"
    if code in (1142, 1143):
        return f"the database account {DB_USER} lacks a privilege (run facteur install to repair)"
    if code in (1205, 1213):
        return "the account database is busy (another change is running); try again"
    message = exc.args[1] if len(exc.args) > 1 else str(exc)
    return " ".join(f"account database error: {message}".split())


def connect(
    *,
    unix_socket: str | None = None,
    user: str = DB_USER,
    password: str | None = None,
    database: str = DB_NAME,
) -> Any:
    """Return a new PyMySQL connection (autocommit off, DictCursor, utf8mb4).

    The socket defaults to $FACTEUR_DB_SOCKET or /run/mysqld/mysqld.sock; the password to the
    `mariadb-facteur` secret. Raise FacteurError if the secret is missing or MariaDB refuses.
    """
    import pymysql  # imported here: the pure helpers of facteur.admin work without it

    if password is None:
        password = secrets.read(PASSWORD_SECRET)
    try:
        return pymysql.connect(
            unix_socket=unix_socket or os.environ.get("FACTEUR_DB_SOCKET") or SOCKET,
            user=user,
            password=password,
            database=database,
            charset="utf8mb4",
            autocommit=False,
            cursorclass=pymysql.cursors.DictCursor,
            connect_timeout=5,
            read_timeout=30,
            write_timeout=30,
        )
    except pymysql.err.Error as exc:
        raise FacteurError(describe_error(exc)) from None


@contextmanager
def transaction(connection: Any = None) -> Iterator[Any]:
    """Yield a cursor inside one transaction: commit at the end, roll back on any exception.

    With `connection` given, use it and leave it open; otherwise open one with connect() and close
    it afterwards. PyMySQL errors are re-raised as FacteurError (one line); FacteurError raised by the
    block passes through unchanged (after the rollback).
    """
    import pymysql

    own = connection is None
    conn = connect() if own else connection
    try:
        conn.begin()
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException as exc:
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the original error matters
            pass
        if isinstance(exc, pymysql.err.Error):
            raise FacteurError(describe_error(exc)) from None
        raise
    finally:
        if own:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass


def log(cur: Any, domain: str, action: str, data: str) -> None:
    """Add a row to PostfixAdmin's `log` table, as its db_log() does, so its UI shows CLI changes."""
    if action not in LOG_ACTIONS:
        raise ValueError(f"unknown PostfixAdmin log action {action!r}")
    cur.execute(
        "INSERT INTO log (timestamp, username, domain, action, data) VALUES (NOW(), %s, %s, %s, %s)",
        (LOG_USERNAME, domain, action, data),
    )
