"""The facteur_mariadb Ansible module's grant handling: what a role asks for and what MariaDB's
SHOW GRANTS prints must compare equal (else every install would re-grant: changed != 0), and
column privileges (the password plugin's account) are written the way MariaDB reads them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "facteur" / "ansible" / "library"
MODULE = LIBRARY / "facteur_mariadb.py"


@pytest.fixture(scope="module")
def mod():
    spec = importlib.util.spec_from_file_location("facteur_mariadb", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_privileges_parse_like_show_grants(mod):
    wanted = mod.wanted_grants(["postfixadmin.*:SELECT,INSERT,UPDATE,DELETE,LOCK TABLES"])
    shown = mod.parse_privileges("SELECT, INSERT, UPDATE, DELETE, LOCK TABLES")
    assert wanted == {"`postfixadmin`.*": shown}
    assert ("LOCK TABLES", None) in shown


def test_column_privileges_parse_like_show_grants(mod):
    wanted = mod.wanted_grants(["postfixadmin.mailbox:SELECT(username),UPDATE(password,modified)"])
    # As MariaDB 10.11 / 11.8 print them.
    shown = mod.parse_privileges("SELECT (`username`), UPDATE (`modified`, `password`)")
    assert wanted == {"`postfixadmin`.`mailbox`": shown}
    assert shown == {("SELECT", "username"), ("UPDATE", "password"), ("UPDATE", "modified")}


def test_privileges_sql_writes_table_and_column_grants(mod):
    assert mod.privileges_sql({("SELECT", None), ("UPDATE", "password"), ("UPDATE", "modified")}) == (
        "SELECT, UPDATE (`modified`, `password`)")
    assert mod.privileges_sql({("ALL PRIVILEGES", None)}) == "ALL PRIVILEGES"


class FakeClient:
    """Answers SHOW GRANTS like MariaDB and records the other statements."""

    def __init__(self, grants: list[str]):
        self.grants = grants
        self.statements: list[str] = []

    def run(self, sql):
        if sql.startswith("SHOW GRANTS"):
            return [[line] for line in self.grants]
        if sql.startswith("SELECT 1 FROM mysql.global_priv"):
            return [["1"]]
        if sql.startswith("SELECT JSON_VALUE"):
            return [["1"]]
        self.statements.append(sql)
        return []


class FakeModule:
    check_mode = False

    def __init__(self, privileges):
        self.params = {"name": "roundcube_password", "host": "localhost", "password": "x",
                       "privileges": privileges, "state": "present"}


def test_second_run_changes_nothing_and_extra_columns_are_revoked(mod):
    wanted = ["postfixadmin.mailbox:SELECT(username),UPDATE(password,modified)"]
    same = FakeClient(["GRANT USAGE ON *.* TO `roundcube_password`@`localhost`",
                       "GRANT SELECT (`username`), UPDATE (`modified`, `password`) "
                       "ON `postfixadmin`.`mailbox` TO `roundcube_password`@`localhost`"])
    assert mod.ensure_user(FakeModule(wanted), same) is False
    wider = FakeClient(["GRANT USAGE ON *.* TO `roundcube_password`@`localhost`",
                        "GRANT SELECT (`password`, `username`), UPDATE (`password`) "
                        "ON `postfixadmin`.`mailbox` TO `roundcube_password`@`localhost`"])
    assert mod.ensure_user(FakeModule(wanted), wider) is True
    statements = "\n".join(wider.statements)
    assert "GRANT UPDATE (`modified`) ON `postfixadmin`.`mailbox`" in statements
    assert "REVOKE SELECT (`password`) ON `postfixadmin`.`mailbox`" in statements
