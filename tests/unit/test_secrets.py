"""Generate-once secrets."""

from __future__ import annotations

import stat

import pytest

from facteur import secrets
from facteur.errors import FacteurError


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_creates_every_secret_private(tmp_path):
    directory = tmp_path / "secrets"
    created = secrets.ensure(directory)
    assert created == {name: directory / name for name in secrets.SECRET_NAMES}
    assert mode(directory) == 0o700
    for name in secrets.SECRET_NAMES:
        assert mode(directory / name) == 0o600
        value = secrets.read(name, directory)
        assert value.isalnum() and value.isascii() and len(value) >= 32
    assert sorted(p.name for p in directory.iterdir()) == sorted(secrets.SECRET_NAMES)


def test_generated_once(tmp_path):
    secrets.ensure(tmp_path)
    before = {name: secrets.read(name, tmp_path) for name in secrets.SECRET_NAMES}
    assert secrets.ensure(tmp_path) == {}
    assert {name: secrets.read(name, tmp_path) for name in secrets.SECRET_NAMES} == before


def test_only_missing_ones_are_made(tmp_path):
    secrets.ensure(tmp_path)
    (tmp_path / "admin-password").unlink()
    assert set(secrets.ensure(tmp_path)) == {"admin-password"}


def test_values_differ(tmp_path):
    secrets.ensure(tmp_path)
    values = {secrets.read(name, tmp_path) for name in secrets.SECRET_NAMES}
    assert len(values) == len(secrets.SECRET_NAMES)


def test_directory_is_tightened(tmp_path):
    tmp_path.chmod(0o755)
    secrets.ensure(tmp_path)
    assert mode(tmp_path) == 0o700


def test_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTEUR_SECRETS_DIR", str(tmp_path / "s"))
    assert set(secrets.ensure()) == set(secrets.SECRET_NAMES)
    assert (tmp_path / "s" / "mariadb-facteur").exists()
    assert secrets.read("mariadb-facteur")


def test_missing_secret_is_a_clear_error(tmp_path):
    with pytest.raises(FacteurError, match="missing"):
        secrets.read("admin-password", tmp_path)
