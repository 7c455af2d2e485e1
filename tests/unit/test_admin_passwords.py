"""The one password format: `{BLF-CRYPT}$2y$10$...`, verified by PostfixAdmin, Dovecot and Roundcube."""

from __future__ import annotations

import io
import re

import bcrypt
import pytest

from facteur.admin.passwords import check_policy, hash_password, read_password, verify_password
from facteur.errors import FacteurError

FORMAT = re.compile(r"^\{BLF-CRYPT\}\$2y\$10\$[./A-Za-z0-9]{53}$")


def test_hash_has_the_agreed_format():
    assert FORMAT.match(hash_password("correct horse battery"))


def test_hash_verifies_with_bcrypt_itself():
    stored = hash_password("correct horse battery")
    bare = stored.removeprefix("{BLF-CRYPT}")
    # $2y$ and $2b$ are the same algorithm: the bcrypt library checks it once the ident is its own.
    assert bcrypt.checkpw(b"correct horse battery", ("$2b$" + bare[4:]).encode())
    assert not bcrypt.checkpw(b"wrong horse battery", ("$2b$" + bare[4:]).encode())


def test_verify_password():
    stored = hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("Correct horse battery", stored)
    assert verify_password("correct horse battery", stored.removeprefix("{BLF-CRYPT}"))
    assert not verify_password("anything", "{PLAIN}anything")


def test_each_hash_is_salted():
    assert hash_password("same password") != hash_password("same password")


def test_non_ascii_passwords_hash_as_utf8():
    stored = hash_password("mot de passe é")
    assert verify_password("mot de passe é", stored)


@pytest.mark.parametrize("bad, fragment", [
    ("", "empty"),
    ("abc1234", "too short"),
    ("x" * 73, "too long"),
    ("é" * 37, "too long"),  # 74 bytes in UTF-8
    ("tab\there-ok-length", "control"),
])
def test_policy_refuses(bad, fragment):
    with pytest.raises(FacteurError, match=fragment) as info:
        check_policy(bad)
    if bad:
        assert bad not in info.value.message


def test_policy_accepts_72_bytes():
    check_policy("x" * 72)


def test_read_password_strips_only_the_newline():
    assert read_password(io.StringIO(" spaced password \n"), prompt=False) == " spaced password "
    assert read_password(io.StringIO("windows-line\r\n"), prompt=False) == "windows-line"
    assert read_password(io.StringIO("no-newline-at-end"), prompt=False) == "no-newline-at-end"


def test_read_password_takes_one_line():
    assert read_password(io.StringIO("first-line\nsecond-line\n"), prompt=False) == "first-line"


@pytest.mark.parametrize("text, fragment", [("", "no password"), ("\n", "empty"), ("abc\n", "too short")])
def test_read_password_refuses(text, fragment):
    with pytest.raises(FacteurError, match=fragment):
        read_password(io.StringIO(text), prompt=False)
