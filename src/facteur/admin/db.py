"""The account database: PostfixAdmin's schema in MariaDB, reached as the `facteur` user.

`transaction()` is the only way in: it yields a cursor, commits when the block ends normally and
rolls back on any error, so a command is applied whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from facteur.errors import FacteurError

SOCKET = "/run/mysqld/mysqld.sock"
DATABASE = "postfixadmin"
USER = "facteur"
SECRET = "mariadb-facteur"
# The `log` table's username column, in PostfixAdmin's "who (where)" form.
LOG_USER = "facteur (localhost)"

UNREACHABLE = "cannot reach the account database (is MariaDB running? try: facteur status)"


def _password(secrets_dir: str | Path | None) -> str:
    from facteur import secrets  # imported late: only commands that touch the database need it

    try:
        return secrets.read(SECRET, secrets_dir)
    except FacteurError:
        raise
    except PermissionError:
        raise FacteurError(
            f"cannot read the database password (secret {SECRET}): run this command as root"
        ) from None
    except FileNotFoundError:
        raise FacteurError(
            f"the database password (secret {SECRET}) does not exist: is facteur installed? (sudo facteur install)"
        ) from None


def connect(secrets_dir: str | Path | None = None, socket: str = SOCKET) -> Any:
    """Return a PyMySQL connection (transactions on, rows as dicts) to PostfixAdmin's database.

    Raise FacteurError with one line if the secret cannot be read or the server does not answer.
    """
    import pymysql
    import pymysql.cursors

    password = _password(secrets_dir)
    if not Path(socket).exists():
        raise FacteurError(UNREACHABLE)
    try:
        return pymysql.connect(
            unix_socket=socket,
            user=USER,
            password=password,
            database=DATABASE,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=5,
            cursorclass=pymysql.cursors.DictCursor,
        )
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else 0
        if code in (1044, 1045, 1698):  # access denied
            raise FacteurError(
                f"the account database refused user {USER} (secret {SECRET} out of date? re-run: facteur install)"
            ) from None
        raise FacteurError(UNREACHABLE) from None


@contextmanager
def transaction(secrets_dir: str | Path | None = None, socket: str = SOCKET) -> Iterator[Any]:
    """Yield a cursor inside one transaction: commit on success, roll back on any exception.

    Database errors raised inside the block become a one-line FacteurError (after the rollback).
    """
    import pymysql

    conn = connect(secrets_dir, socket)
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except pymysql.MySQLError as exc:
        _rollback(conn)
        raise FacteurError(f"account database error, nothing was changed: {exc}") from exc
    except BaseException:
        _rollback(conn)
        raise
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection is not worth an error
            pass


def _rollback(conn: Any) -> None:
    try:
        conn.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the server then rolls back itself
        pass


def log(cur: Any, domain: str, action: str, data: str) -> None:
    """Add a row to PostfixAdmin's `log` table, as its handlers do (shown in its "View Log" page).

    `action` is one of PostfixAdmin's keywords (create_domain, create_mailbox, edit_password, ...).
    """
    cur.execute(
        "INSERT INTO log (timestamp, username, domain, action, data) VALUES (NOW(), %s, %s, %s, %s)",
        (LOG_USER, domain, action, data),
    )
