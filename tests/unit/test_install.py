"""`facteur install`'s flow, with the playbook run and the account seeding replaced by fakes."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import pytest

from facteur import runner, secrets
from facteur.cli import install
from facteur.errors import ConfigError, FacteurError


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A pretend root with its secrets dir and config in tmp_path; records playbook runs and seeding."""
    monkeypatch.setenv("FACTEUR_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("FACTEUR_CONFIG", str(tmp_path / "absent.yml"))
    monkeypatch.setattr(install.os, "geteuid", lambda: 0)
    calls: dict[str, list] = {"runs": [], "seeds": []}

    def run_playbook(varsfile, **options):
        path = Path(varsfile)
        calls["runs"].append(
            {"mode": stat.S_IMODE(path.stat().st_mode), "vars": json.loads(path.read_text()),
             "path": path, **options}
        )
        return runner.RunResult(returncode=0, log_path=tmp_path / "install.log", ok=12, changed=5)

    def seed(settings, created_secrets=()):
        calls["seeds"].append(list(created_secrets))
        return ["domain example.test"]

    monkeypatch.setattr(install.runner, "run_playbook", run_playbook)
    monkeypatch.setattr("facteur.admin.seed", seed, raising=False)
    return calls


def args(**overrides) -> argparse.Namespace:
    values = {"config": None, "check": False, "diff": False, "inventory": None, "tags": None}
    values.update(overrides)
    return argparse.Namespace(**values)


def test_first_install_prints_the_admin_password_once(machine, tmp_path, capsys):
    assert install.run(args()) == 0
    out = capsys.readouterr().out
    password = secrets.read("admin-password")
    assert "install complete: ok=12 changed=5 failed=0" in out
    assert "admin login: postmaster@example.test" in out
    assert out.count(password) == 1
    assert "created domain example.test" in out
    assert set(machine["seeds"][0]) == set(secrets.SECRET_NAMES)

    run = machine["runs"][0]
    assert run["mode"] == 0o600
    assert not run["path"].exists()  # the vars file is gone after the run
    assert run["vars"]["facteur__secrets_dir"] == str(tmp_path / "secrets")
    assert password not in json.dumps(run["vars"])

    assert install.run(args()) == 0
    again = capsys.readouterr().out
    assert password not in again and "admin password" not in again
    assert machine["seeds"][1] == []


def test_check_mode_touches_nothing(machine, tmp_path, capsys):
    assert install.run(args(check=True, diff=True, tags="postfix")) == 0
    out = capsys.readouterr().out
    assert "check mode" in out and "admin password" not in out
    assert not (tmp_path / "secrets").exists()
    assert machine["seeds"] == []
    run = machine["runs"][0]
    assert (run["check"], run["diff"], run["tags"]) == (True, True, "postfix")
    scratch = Path(run["vars"]["facteur__secrets_dir"])
    assert scratch != tmp_path / "secrets" and not scratch.exists()


def test_check_mode_uses_the_existing_secrets(machine, tmp_path, monkeypatch):
    secrets.ensure()
    before = secrets.read("mariadb-postfix")
    seen = {}

    def run_playbook(varsfile, **options):
        directory = json.loads(Path(varsfile).read_text())["facteur__secrets_dir"]
        seen["value"] = secrets.read("mariadb-postfix", directory)
        return runner.RunResult(returncode=0, log_path=tmp_path / "log")

    monkeypatch.setattr(install.runner, "run_playbook", run_playbook)
    install.run(args(check=True))
    assert seen["value"] == before


def test_failed_playbook_is_one_error_and_no_seeding(machine, tmp_path, monkeypatch):
    def failing(varsfile, **options):
        return runner.RunResult(returncode=2, log_path=tmp_path / "x.log", failed=1,
                                failed_task="postfix : Write main.cf", failed_msg="boom")

    monkeypatch.setattr(install.runner, "run_playbook", failing)
    with pytest.raises(FacteurError) as caught:
        install.run(args())
    assert caught.value.message == (
        f"task 'postfix : Write main.cf' failed: boom (full log: {tmp_path / 'x.log'})"
    )
    assert machine["seeds"] == []


def test_bad_config_stops_before_anything(machine, tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text("limits: {max_recipients: 5}\n")
    with pytest.raises(ConfigError):
        install.run(args(config=config))
    assert not (tmp_path / "secrets").exists() and machine["runs"] == []


def test_not_root(machine, monkeypatch, tmp_path):
    monkeypatch.setattr(install.os, "geteuid", lambda: 1000)
    with pytest.raises(FacteurError, match="must run as root"):
        install.run(args())
    assert not (tmp_path / "secrets").exists()
