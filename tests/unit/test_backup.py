"""Backups without restic or MariaDB: merging and comparing mail, config validation, the schedule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.unit.test_templates import render_role

from facteur.backup import maildirs, record
from facteur.backup.restic import Repository, _read_environment_file
from facteur.config.schema import Settings
from facteur.errors import FacteurError


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def stores(tmp_path):
    snapshot, live = tmp_path / "snapshot", tmp_path / "live"
    _write(snapshot, "d.test/u/Maildir/cur/100.M1.host:2,S", "read message")
    _write(snapshot, "d.test/u/Maildir/cur/200.M2.host:2,", "deleted since")
    _write(snapshot, "d.test/u/Maildir/.Sent/cur/300.M3.host:2,S", "sent message")
    _write(snapshot, "d.test/u/Maildir/dovecot-uidlist", "snapshot uidlist")
    _write(snapshot, "d.test/u/Maildir/tmp/400.M4.host", "half delivered")
    _write(snapshot, "d.test/u/sieve/rules.sieve", "keep;")
    _write(live, "d.test/u/Maildir/cur/100.M1.host:2,RS", "read message")  # flags changed since
    _write(live, "d.test/u/Maildir/new/500.M5.host", "arrived later")
    _write(live, "d.test/u/Maildir/dovecot-uidlist", "live uidlist")
    return snapshot, live


def test_message_key_ignores_flags_and_skips_other_files():
    assert maildirs.message_key(Path("d/u/Maildir/cur/1.M.h:2,S")) == ("d/u/Maildir", "1.M.h")
    assert maildirs.message_key(Path("d/u/Maildir/new/1.M.h")) == ("d/u/Maildir", "1.M.h")
    assert maildirs.message_key(Path("d/u/Maildir/dovecot-uidlist")) is None
    assert maildirs.message_key(Path("d/u/sieve/x.sieve")) is None


def test_merge_restores_deleted_mail_and_keeps_newer_mail(stores):
    snapshot, live = stores
    report = maildirs.merge(snapshot, live)
    assert (report.restored, report.already_present, report.kept_newer) == (2, 1, 1)
    maildir = live / "d.test/u/Maildir"
    assert (maildir / "cur/200.M2.host:2,").read_text() == "deleted since"
    assert (maildir / ".Sent/cur/300.M3.host:2,S").read_text() == "sent message"
    assert (maildir / "new/500.M5.host").read_text() == "arrived later"
    # The live copy (new flags) is not duplicated, Dovecot's live index is kept, tmp/ is not mail.
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == ["100.M1.host:2,RS", "200.M2.host:2,"]
    assert (maildir / "dovecot-uidlist").read_text() == "live uidlist"
    assert not (maildir / "tmp/400.M4.host").exists()
    assert (live / "d.test/u/sieve/rules.sieve").read_text() == "keep;"


def test_merge_into_an_empty_store_copies_everything(tmp_path, stores):
    snapshot, _ = stores
    report = maildirs.merge(snapshot, tmp_path / "new")
    assert (report.restored, report.already_present, report.kept_newer) == (3, 0, 0)
    assert (tmp_path / "new/d.test/u/Maildir/dovecot-uidlist").read_text() == "snapshot uidlist"
    mode = (tmp_path / "new/d.test/u/Maildir/cur/100.M1.host:2,S").stat().st_mode & 0o777
    assert mode == (snapshot / "d.test/u/Maildir/cur/100.M1.host:2,S").stat().st_mode & 0o777


def test_compare_reports_damage_deleted_and_newer(stores):
    snapshot, live = stores
    result = maildirs.compare(snapshot, live)
    assert (result.identical, result.missing, result.newer, result.different) == (1, 2, 1, [])
    _write(live, "d.test/u/Maildir/cur/100.M1.host:2,RS", "read message, damaged")
    assert maildirs.compare(snapshot, live).different == ["d.test/u/Maildir/cur/100.M1.host:2,S"]


def test_record_round_trip(tmp_path):
    path = tmp_path / "last-run.json"
    assert record.read(path) is None
    written = record.write(ok=False, seconds=1.23, error="restic backup failed: x", path=path)
    assert record.read(path) == written and not written.ok and written.finished_at.tzinfo


def test_environment_file(tmp_path):
    env = tmp_path / "backup.env"
    env.write_text("# S3\nAWS_ACCESS_KEY_ID=abc\nexport AWS_SECRET_ACCESS_KEY='s e'\n\n")
    assert _read_environment_file(env) == {"AWS_ACCESS_KEY_ID": "abc", "AWS_SECRET_ACCESS_KEY": "s e"}
    env.write_text("not a pair\n")
    with pytest.raises(FacteurError, match=r"backup.env:1: expected KEY=VALUE"):
        _read_environment_file(env)


@pytest.mark.parametrize(("location", "local"), [
    ("/var/backups/facteur/restic", True), ("local:/srv/r", True),
    ("sftp:backup@host:/srv/r", False), ("s3:https://s3.example.org/bucket", False),
])
def test_repository_kind(location, local):
    assert Repository(location, Path("/nonexistent")).is_local is local


def test_missing_password_file_is_one_line(tmp_path):
    with pytest.raises(FacteurError, match="password file .* is missing"):
        Repository(str(tmp_path / "r"), tmp_path / "nope").run("snapshots")


@pytest.mark.parametrize("value", ["3:30", "03:30", "23:59"])
def test_backup_time_accepted(value):
    assert len(Settings.model_validate({"backup": {"time": value}}).backup.time) == 5


@pytest.mark.parametrize(("section", "fragment"), [
    ({"time": "24:00"}, "not a time of day"),
    ({"repository": "relative/path"}, "neither an absolute path"),
    ({"keep_daily": 0}, "greater than or equal to 1"),
    ({"retention": 3}, "Extra inputs"),
])
def test_backup_settings_refused(section, fragment):
    with pytest.raises(ValidationError, match=fragment):
        Settings.model_validate({"backup": section})


def test_schedule_with_systemd_and_cron():
    settings = Settings.model_validate({"backup": {"time": "01:05"}})
    rendered = render_role("backup", "2.4", "systemd", settings=settings)
    assert "OnCalendar=*-*-* 01:05:00" in rendered["etc/systemd/system/facteur-backup.timer.j2"]
    assert "ExecStart=/usr/local/sbin/facteur backup run" in \
        rendered["etc/systemd/system/facteur-backup.service.j2"]
    cron = render_role("backup", "2.3", "sysvinit", settings=settings)["etc/cron.d/facteur-backup.j2"]
    assert "\n5 1 * * * root nice -n 10 /usr/local/sbin/facteur backup run" in cron


def test_schedule_off_leaves_a_commented_cron_file():
    settings = Settings.model_validate({"backup": {"schedule": False}})
    cron = render_role("backup", "2.4", "sysvinit", settings=settings)["etc/cron.d/facteur-backup.j2"]
    assert "backup run" not in cron.replace("# disabled", "")
    assert os.linesep in cron


def test_status_backup_check():
    from datetime import UTC, datetime, timedelta

    from facteur.checks import ERROR, OK, WARNING
    from facteur.checks.backup import classify

    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def made(hours_ago: float, ok: bool = True) -> record.RunRecord:
        finished = (now - timedelta(hours=hours_ago)).isoformat()
        return record.RunRecord(finished=finished, ok=ok, snapshot="1a2b3c4d5e", error="" if ok else "boom")

    assert classify(None, now).status == WARNING
    assert classify(made(2), now).status == OK
    assert classify(made(27), now).status == ERROR
    failed = classify(made(1, ok=False), now)
    assert failed.status == ERROR and "boom" in failed.summary
