"""facteur.checks: result formatting, exit codes and the status thresholds (no root, no services)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from facteur.checks import (
    ERROR,
    OK,
    WARNING,
    CheckResult,
    exit_code,
    format_result,
    format_results,
    system,
    to_json,
)


def test_format_ok_line_has_no_fix():
    line = format_result(CheckResult("postfix", OK, "running", "systemctl restart postfix"))
    assert line == "ok       postfix    running"


def test_format_error_line_ends_with_fix():
    line = format_result(CheckResult("dovecot", ERROR, "not running", "systemctl start dovecot"))
    assert line == "error    dovecot    not running — fix: systemctl start dovecot"


def test_format_results_aligns_on_longest_name():
    lines = format_results([CheckResult("a", OK, "x"), CheckResult("disk /var/vmail", WARNING, "y", "z")])
    assert lines[0].index("x") == lines[1].index("y")


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        CheckResult("x", "fine", "y")


def test_exit_code_only_errors_fail():
    assert exit_code([CheckResult("a", OK, ""), CheckResult("b", WARNING, "")]) == 0
    assert exit_code([CheckResult("a", OK, ""), CheckResult("b", ERROR, "")]) == 1
    assert exit_code([]) == 0


def test_json_counts():
    data = to_json([CheckResult("a", WARNING, "w", "h"), CheckResult("b", ERROR, "e", "f")])
    assert data["ok"] is False and data["errors"] == 1 and data["warnings"] == 1
    assert data["checks"][0] == {"name": "a", "status": WARNING, "summary": "w", "fix_hint": "h"}


@pytest.mark.parametrize(
    ("count", "status"), [(0, OK), (100, OK), (101, WARNING), (1000, WARNING), (1001, ERROR)]
)
def test_queue_thresholds(count, status):
    assert system.classify_queue(count) == status


@pytest.mark.parametrize(
    ("percent", "status"), [(0, OK), (84.9, OK), (85, WARNING), (94.9, WARNING), (95, ERROR)]
)
def test_disk_thresholds(percent, status):
    assert system.classify_disk(percent) == status


@pytest.mark.parametrize(
    ("days", "status"), [(400, OK), (14, OK), (13.9, WARNING), (3, WARNING), (2.9, ERROR), (-1, ERROR)]
)
def test_certificate_thresholds(days, status):
    assert system.classify_cert(days) == status


def test_parse_enddate():
    end = system.parse_enddate("notAfter=Dec 30 12:26:27 2027 GMT\n")
    assert end == datetime(2027, 12, 30, 12, 26, 27, tzinfo=UTC)
    assert system.parse_enddate("notAfter=Jan  5 00:00:00 2030 GMT").day == 5
    with pytest.raises(ValueError):
        system.parse_enddate("unable to load certificate")


def test_count_queue_counts_json_lines():
    assert system.count_queue("") == 0
    assert system.count_queue('{"queue_name": "deferred"}\n{"queue_name": "active"}\n') == 2


def _runner(results: dict[str, int], stdout: str = ""):
    calls = []

    def run(argv):
        calls.append(list(argv))
        return subprocess.CompletedProcess(argv, results.get(argv[0], 0), stdout, "")

    run.calls = calls
    return run


def test_service_uses_systemctl_under_systemd():
    run = _runner({"systemctl": 3})
    result = system.check_service("dovecot", run, systemd=True)
    assert run.calls == [["systemctl", "is-active", "--quiet", "dovecot"]]
    assert result.status == ERROR and "systemctl restart dovecot" in result.fix_hint


def test_service_uses_init_script_without_systemd():
    run = _runner({"service": 0})
    result = system.check_service("mariadb", run, systemd=False)
    assert run.calls == [["service", "mariadb", "status"]]
    assert result == CheckResult("mariadb", OK, "running")


def test_postfix_master_is_checked_too():
    run = _runner({"systemctl": 0, "postfix": 1})
    result = system.check_service("postfix", run, systemd=True)
    assert result.status == ERROR and "master" in result.summary


def test_queue_check_reads_postqueue():
    run = _runner({}, stdout="{}\n" * 150)
    result = system.check_queue(run)
    assert result.status == WARNING and result.summary.startswith("150 ")
    assert run.calls == [["postqueue", "-j"]]


def test_certificate_check(tmp_path: Path):
    cert = tmp_path / "server.crt"
    cert.write_text("x")
    run = _runner({}, stdout="notAfter=Dec 30 12:00:00 2027 GMT\n")
    soon = system.check_certificate(cert, run, now=datetime(2027, 12, 25, tzinfo=UTC))
    assert soon.status == WARNING and "5 days left" in soon.summary
    late = system.check_certificate(cert, run, now=datetime(2028, 1, 2, tzinfo=UTC))
    assert late.status == ERROR and "expired" in late.summary
    missing = system.check_certificate(tmp_path / "none.crt", run)
    assert missing.status == ERROR


def test_ports_names_the_closed_ones():
    result = system.check_ports(probe=lambda port: port not in (110, 995), systemd=False)
    assert result.status == ERROR
    assert "110 (POP3)" in result.summary and "995 (POP3S)" in result.summary
    assert result.fix_hint == "service dovecot start"
    assert system.check_ports(probe=lambda port: True).status == OK


def test_disk_check_on_a_real_path(tmp_path: Path):
    result = system.check_disk(tmp_path)
    assert result.name == f"disk {tmp_path}" and "% used" in result.summary
    assert system.check_disk(tmp_path / "missing").status == WARNING
