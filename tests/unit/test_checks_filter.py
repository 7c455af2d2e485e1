"""`facteur status` checks of the filter: ClamAV signatures, clamd, rspamd and Redis."""

from __future__ import annotations

import os
import time

from facteur.checks import ERROR, OK, WARNING, CheckResult
from facteur.checks import filter as checks_filter


def test_no_signatures_is_a_warning_with_a_fix(tmp_path):
    result = checks_filter.classify_signatures(checks_filter.signature_files(tmp_path), False)
    assert result.status == WARNING
    assert "no virus signatures" in result.summary and "freshclam" in result.fix_hint


def test_signatures_but_clamd_down_is_an_error(tmp_path):
    (tmp_path / "daily.cvd").write_bytes(b"x")
    result = checks_filter.classify_signatures(checks_filter.signature_files(tmp_path), False, systemd=False)
    assert result.status == ERROR and "service clamav-daemon start" in result.fix_hint


def test_fresh_signatures_and_clamd_running_is_ok(tmp_path):
    (tmp_path / "local.ndb").write_text("x")
    (tmp_path / "freshclam.dat").write_text("not a signature file")
    files = checks_filter.signature_files(tmp_path)
    assert [p.name for p in files] == ["local.ndb"]
    assert checks_filter.classify_signatures(files, True).status == OK


def test_old_signatures_are_a_warning(tmp_path):
    path = tmp_path / "daily.cld"
    path.write_text("x")
    old = time.time() - 10 * 86400
    os.utime(path, (old, old))
    result = checks_filter.classify_signatures([path], True)
    assert result.status == WARNING and "10 days old" in result.summary


def test_checks_only_what_is_installed(tmp_path):
    def service(name):
        return CheckResult(name, OK, "running")

    assert checks_filter.filter_checks(service, True, rspamd=tmp_path / "none", clamd=tmp_path / "none") == []
    (tmp_path / "rspamd").write_text("")
    (tmp_path / "clamd").write_text("")
    names = [r.name for r in checks_filter.filter_checks(service, True, rspamd=tmp_path / "rspamd",
                                                         clamd=tmp_path / "clamd", signature_dir=tmp_path)]
    assert names == ["rspamd", "redis-server", "antivirus"]
