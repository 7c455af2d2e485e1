"""DKIM keys: made once, TXT record, rotation to a new selector."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization

from facteur import dkim
from facteur.errors import FacteurError


@pytest.fixture(autouse=True)
def no_reload(monkeypatch):
    monkeypatch.setattr(dkim, "reload_rspamd", lambda: None)


def test_key_is_made_once_2048_bit_and_private(tmp_path):
    assert dkim.ensure_key("Example.ORG", "facteur", tmp_path) is True
    path = tmp_path / "example.org.facteur.key"
    first = path.read_bytes()
    assert dkim.ensure_key("example.org", "facteur", tmp_path) is False
    assert path.read_bytes() == first
    assert path.stat().st_mode & 0o777 == 0o640
    key = serialization.load_pem_private_key(first, password=None)
    assert key.key_size == 2048


def test_record_holds_the_public_key_in_strings_of_255(tmp_path):
    dkim.ensure_key("example.org", "facteur", tmp_path)
    value = dkim.txt_value("example.org", "facteur", tmp_path)
    assert value.startswith("v=DKIM1; k=rsa; p=")
    public = serialization.load_der_public_key(base64.b64decode(value.split("p=")[1]))
    assert public.key_size == 2048
    line = dkim.zone_line("example.org", "facteur", tmp_path)
    assert line.startswith('facteur._domainkey.example.org. IN TXT ( "v=DKIM1; k=rsa; p=')
    strings = line.split('"')[1::2]
    assert all(len(s) <= 255 for s in strings) and "".join(strings) == value


def test_no_key_is_a_one_line_error(tmp_path):
    with pytest.raises(FacteurError, match="no DKIM key for example.org"):
        dkim.txt_value("example.org", "facteur", tmp_path)


def test_rotate_makes_a_new_selector_and_maps_it(tmp_path):
    dkim.ensure_key("example.org", "facteur", tmp_path)
    day = dt.date(2026, 11, 29)
    first = dkim.rotate("example.org", "facteur", tmp_path, today=day)
    second = dkim.rotate("example.org", "facteur", tmp_path, today=day)
    assert (first, second) == ("facteur-20261129", "facteur-20261129-2")
    assert dkim.current_selector("example.org", "facteur", tmp_path) == second
    assert dkim.current_selector("other.org", "facteur", tmp_path) == "facteur"
    assert (tmp_path / "example.org.facteur.key").exists()  # the old key stays
    old = dkim.txt_value("example.org", "facteur", tmp_path)
    assert dkim.txt_value("example.org", second, tmp_path) != old


def test_rotate_needs_an_existing_key(tmp_path):
    with pytest.raises(FacteurError, match="no DKIM key"):
        dkim.rotate("example.org", "facteur", tmp_path)


def test_new_key_is_listed_in_the_selector_map_and_keeps_its_selector(tmp_path):
    dkim.ensure_key("example.org", "facteur", tmp_path)
    assert dkim.read_selector_map(tmp_path) == {"example.org": "facteur"}
    # A later change of filter.dkim_selector does not move an existing domain.
    assert dkim.ensure_key("example.org", "other", tmp_path) is False
    assert dkim.current_selector("example.org", "other", tmp_path) == "facteur"
    assert (tmp_path / "selectors.map").stat().st_mode & 0o777 == 0o640
