"""The backup's metrics for Prometheus: a node-exporter textfile written after each run.

The monitoring's preset rules read it: last success older than `monitoring.backup_max_age_hours`,
or a last run that failed, trips an alert. Written atomically (a temporary name that node exporter
ignores, then a rename), so a scrape never sees half a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from facteur.backup.record import RunRecord

# node exporter reads *.prom files in this directory (--collector.textfile.directory).
TEXTFILE_DIR = Path("/var/lib/prometheus/node-exporter")
TEXTFILE = TEXTFILE_DIR / "facteur_backup.prom"

_SUCCESS = re.compile(r"^facteur_backup_last_success_timestamp_seconds\s+([0-9.eE+]+)\s*$", re.M)


def previous_success(path: Path = TEXTFILE) -> float | None:
    """Return the last success timestamp in an existing textfile, or None."""
    try:
        match = _SUCCESS.search(path.read_text())
    except OSError:
        return None
    return float(match.group(1)) if match else None


def render(run: RunRecord, last_success: float | None) -> str:
    """Given the run just recorded and the previous success time (None: never), return the textfile."""
    finished = run.finished_at.timestamp()
    if run.ok:
        last_success = finished
    lines = [
        "# HELP facteur_backup_last_run_timestamp_seconds When the last `facteur backup run` finished.",
        "# TYPE facteur_backup_last_run_timestamp_seconds gauge",
        f"facteur_backup_last_run_timestamp_seconds {finished:.0f}",
        "# HELP facteur_backup_last_run_ok 1 if the last backup run succeeded, 0 if it failed.",
        "# TYPE facteur_backup_last_run_ok gauge",
        f"facteur_backup_last_run_ok {1 if run.ok else 0}",
        "# HELP facteur_backup_last_run_duration_seconds How long the last backup run took.",
        "# TYPE facteur_backup_last_run_duration_seconds gauge",
        f"facteur_backup_last_run_duration_seconds {run.seconds}",
    ]
    if last_success is not None:
        lines += [
            "# HELP facteur_backup_last_success_timestamp_seconds When the last successful backup finished.",
            "# TYPE facteur_backup_last_success_timestamp_seconds gauge",
            f"facteur_backup_last_success_timestamp_seconds {last_success:.0f}",
        ]
    return "\n".join(lines) + "\n"


def write(run: RunRecord, path: Path = TEXTFILE) -> bool:
    """Write the textfile for `run` if node exporter's directory exists (monitoring installed).

    Return True if written. Never raises: metrics must not turn a backup into a failure.
    """
    if not path.parent.is_dir():
        return False
    temporary = path.parent / f".{path.name}.tmp"
    try:
        temporary.write_text(render(run, previous_success(path)))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError:
        return False
    return True
