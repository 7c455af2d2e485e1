"""The command line as the user sees it: one error line, the right exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SRC = Path(__file__).resolve().parents[2] / "src"


def facteur(*args: str, config: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(SRC), **env)
    if config is not None:
        environment["FACTEUR_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "facteur", *args],
        env=environment, capture_output=True, text=True, timeout=60,
    )


BAD_FILES = {
    "unknown-key": "limits:\n  max_list_member: 3\n",
    "out-of-range": "limits:\n  max_list_members: 5000\n",
    "syntax": "domains: [a.org\nlocale: en\n",
    "not-a-mapping": "- a\n- b\n",
    "bad-tls": "tls:\n  mode: acme\n  acme_directory: http://acme.example.org/directory\n",
    "bad-domain": "domains: ['not a domain']\n",
}


@pytest.mark.parametrize("command", [("config", "check"), ("config", "show"), ("install",)])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_config_is_one_line_exit_2(tmp_path, case, command):
    config = tmp_path / "facteur.yml"
    config.write_text(BAD_FILES[case])
    result = facteur(*command, config=config)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"facteur: error: {config}: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_config_check_names_the_key(tmp_path):
    config = tmp_path / "facteur.yml"
    config.write_text(BAD_FILES["out-of-range"])
    result = facteur("config", "check", "--config", str(config))
    assert result.returncode == 2
    message = "at 'limits.max_list_members': Input should be less than or equal to 1000"
    assert result.stderr == f"facteur: error: {config}: {message}\n"


def test_config_check_ok(tmp_path):
    config = tmp_path / "facteur.yml"
    config.write_text("domains: [example.org]\n")
    result = facteur("config", "check", config=config)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_sample_loads_back(tmp_path):
    sample = facteur("config", "sample")
    assert sample.returncode == 0 and sample.stderr == ""
    config = tmp_path / "facteur.yml"
    config.write_text(sample.stdout)
    assert facteur("config", "check", config=config).stdout == "ok\n"
    shown = facteur("config", "show", config=config)
    assert yaml.safe_load(shown.stdout)["admin_email"] == "postmaster@example.test"


def test_show_without_file_gives_defaults(tmp_path):
    result = facteur("config", "show", config=tmp_path / "absent.yml")
    assert result.returncode == 0
    assert yaml.safe_load(result.stdout)["domains"] == ["example.test"]


def test_missing_explicit_file(tmp_path):
    result = facteur("config", "check", "--config", str(tmp_path / "nope.yml"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no such file" in result.stderr


def test_unknown_command_is_a_usage_error():
    result = facteur("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_help_lists_install_and_config():
    result = facteur("--help")
    assert result.returncode == 0
    assert "install" in result.stdout and "config" in result.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="checks the non-root refusal")
def test_install_needs_root(tmp_path):
    result = facteur("install", config=tmp_path / "absent.yml")
    assert result.returncode == 1
    assert result.stderr.startswith("facteur: error: install must run as root")


def test_main_catches_unexpected_errors(capsys, monkeypatch):
    from facteur.cli import main as cli_main

    def boom(args):
        raise RuntimeError("something broke\nbadly")

    def register(subparsers):
        subparsers.add_parser("boom").set_defaults(handler=boom)

    module = type("M", (), {"register": staticmethod(register)})
    monkeypatch.setattr(cli_main, "_load_command_modules", lambda: [module])
    assert cli_main.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "facteur: error: RuntimeError: something broke badly (run with --debug for details)\n"
    assert cli_main.main(["--debug", "boom"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_main_maps_facteur_errors_and_interrupts(capsys, monkeypatch):
    from facteur.cli import main as cli_main
    from facteur.errors import FacteurError

    def fail(args):
        raise FacteurError("no such domain: x.org", exit_code=3)

    def interrupt(args):
        raise KeyboardInterrupt

    def register(subparsers):
        subparsers.add_parser("fail").set_defaults(handler=fail)
        subparsers.add_parser("stop").set_defaults(handler=interrupt)

    module = type("M", (), {"register": staticmethod(register)})
    monkeypatch.setattr(cli_main, "_load_command_modules", lambda: [module])
    assert cli_main.main(["fail"]) == 3
    assert capsys.readouterr().err == "facteur: error: no such domain: x.org\n"
    assert cli_main.main(["stop"]) == 130


def test_missing_command_module_is_skipped(monkeypatch):
    from facteur.cli import main as cli_main

    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("install", "does_not_exist_yet"))
    assert len(cli_main._load_command_modules()) == 1
