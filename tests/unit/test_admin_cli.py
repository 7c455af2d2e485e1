"""Day-2 commands as the user sees them, where no database is needed: one error line, exit codes,
the list cap decided before the database is touched, and a clear line when MariaDB is unreachable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from facteur.admin import db
from facteur.cli.main import build_parser
from facteur.errors import FacteurError

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def env(tmp_path):
    """An environment where the database cannot be reached and no real config or secret is read."""
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    (secrets_dir / "mariadb-facteur").write_text("not-a-real-password\n")
    return dict(
        os.environ,
        PYTHONPATH=str(SRC),
        FACTEUR_SECRETS_DIR=str(secrets_dir),
        FACTEUR_DB_SOCKET=str(tmp_path / "no-such.sock"),
        FACTEUR_CONFIG=str(tmp_path / "absent.yml"),
    )


def facteur(env, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "facteur", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=60,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("facteur: error: ")
    return lines[0].removeprefix("facteur: error: ")


def test_commands_are_registered():
    parser = build_parser()
    for argv in (
        ["domain", "add", "example.org"],
        ["domain", "list"],
        ["domain", "remove", "example.org", "--force"],
        ["alias-domain", "add", "example.net", "example.org"],
        ["alias-domain", "list"],
        ["alias-domain", "remove", "example.net"],
        ["mailbox", "add", "a@example.org", "--password-stdin", "--quota", "2G", "--name", "A"],
        ["mailbox", "list", "example.org", "--json"],
        ["mailbox", "passwd", "a@example.org", "--password-stdin"],
        ["mailbox", "remove", "a@example.org"],
        ["alias", "add", "info@example.org", "a@example.org", "b@elsewhere.net"],
        ["alias", "list"],
        ["alias", "remove", "info@example.org"],
        ["list", "add", "team@example.org", "--member", "a@example.org", "--member", "b@example.org"],
        ["list", "add-member", "team@example.org", "c@example.org"],
        ["list", "remove-member", "team@example.org", "c@example.org"],
        ["list", "show", "team@example.org", "--json"],
        ["list", "remove", "team@example.org"],
    ):
        args = parser.parse_args([*argv, "--config", "/x.yml"])
        assert callable(args.handler), argv
        assert args.config == "/x.yml"


def test_password_is_never_an_argument():
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["mailbox", "add", "a@example.org", "--password", "secret"])


@pytest.mark.parametrize("args, fragment", [
    (["mailbox", "add", "not-an-address", "--password-stdin"], "not-an-address"),
    (["mailbox", "add", "a+b@example.org", "--password-stdin"], "a+b@example.org"),
    (["mailbox", "add", "a@example.org", "--password-stdin", "--quota", "2X"], "2X"),
    (["domain", "add", "bad..domain"], "bad..domain"),
    (["alias-domain", "add", "same.test", "same.test"], "itself"),
    (["alias", "add", "info@example.org", "nobody"], "nobody"),
    (["list", "add", "team@example.org", "--member", "not-an-address"], "not-an-address"),
])
def test_bad_input_gives_one_line_before_the_database(env, args, fragment):
    assert fragment in one_error_line(facteur(env, *args, stdin="long-enough-pass\n"))


def test_twenty_one_members_are_refused_before_the_database(env):
    args = ["list", "add", "team@example.org"]
    for i in range(21):
        args += ["--member", f"m{i}@example.org"]
    line = one_error_line(facteur(env, *args))
    assert line == "list team@example.org would have 21 members; the limit is 20 (limits.max_list_members)"


def test_duplicate_members_count_once(env):
    args = ["list", "add", "team@example.org"]
    for i in range(40):
        args += ["--member", f"m{i % 20}@example.org"]
    # 20 distinct members pass the cap; the command then needs the (unreachable) database.
    assert "cannot reach the account database" in one_error_line(facteur(env, *args))


@pytest.mark.parametrize("args", [["mailbox", "list"], ["domain", "list"], ["alias", "list"]])
def test_unreachable_database_is_one_clear_line(env, args):
    line = one_error_line(facteur(env, *args))
    assert line == "cannot reach the account database (is MariaDB running? try: facteur status)"


def test_password_never_printed(env):
    result = facteur(env, "mailbox", "add", "a@example.org", "--password-stdin", stdin="s3cret-value-xyz\n")
    assert "s3cret-value-xyz" not in result.stdout + result.stderr


class FakeConnection:
    """Records the transaction calls db.transaction() makes (the real thing is tested live)."""

    def __init__(self):
        self.calls = []

    def begin(self):
        self.calls.append("begin")

    def commit(self):
        self.calls.append("commit")

    def rollback(self):
        self.calls.append("rollback")

    def close(self):
        self.calls.append("close")

    def cursor(self):
        connection = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                connection.calls.append("cursor closed")
                return False

        return Cursor()


def test_transaction_commits_on_success():
    connection = FakeConnection()
    with db.transaction(connection):
        pass
    assert connection.calls == ["begin", "cursor closed", "commit"]


def test_transaction_rolls_back_on_error_and_keeps_the_message():
    connection = FakeConnection()
    with pytest.raises(FacteurError, match="nothing changed"):
        with db.transaction(connection):
            raise FacteurError("nothing changed")
    assert connection.calls == ["begin", "cursor closed", "rollback"]


def test_database_errors_become_one_line():
    import pymysql

    connection = FakeConnection()
    with pytest.raises(FacteurError) as info:
        with db.transaction(connection):
            raise pymysql.err.OperationalError(2013, "Lost connection to server during query")
    assert info.value.message == db.UNREACHABLE
    assert "rollback" in connection.calls


def test_log_refuses_unknown_actions():
    with pytest.raises(ValueError):
        db.log(None, "example.org", "made_up_action", "x")
