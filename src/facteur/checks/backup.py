"""The `facteur status` check of backups: the last run must have worked, less than 26 hours ago.

26 hours: a daily run plus its random delay and some slack, so one late run does not alarm.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facteur.backup import record
from facteur.checks import ERROR, OK, WARNING, CheckResult

MAX_AGE = timedelta(hours=26)
NAME = "backup"


def classify(last: record.RunRecord | None, now: datetime) -> CheckResult:
    """Return the backup check's result for the record of the last run (None: never ran)."""
    if last is None:
        return CheckResult(NAME, WARNING, "no backup has run yet", "sudo facteur backup run")
    age = now - last.finished_at
    hours = age.total_seconds() / 3600
    if not last.ok:
        return CheckResult(NAME, ERROR, f"last run failed {hours:.0f} h ago: {last.error}",
                           "fix the cause, then sudo facteur backup run")
    if age > MAX_AGE:
        return CheckResult(NAME, ERROR, f"last snapshot is {hours:.0f} h old (more than 26 h)",
                           "check the schedule (systemctl status facteur-backup.timer), then "
                           "sudo facteur backup run")
    return CheckResult(NAME, OK, f"last snapshot {last.snapshot[:8]}, {hours:.1f} h ago")


def check_backup() -> CheckResult:
    return classify(record.read(), datetime.now(UTC))
