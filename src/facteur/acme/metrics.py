"""The ACME runs' metrics for Prometheus: a node-exporter textfile written after each certbot run.

The monitoring's preset rules read it: a last run that failed trips CertificateRenewalFailed, and
no run for days (the schedule stopped) trips CertificateRenewalNotRunning. Written atomically.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from facteur.acme import paths
from facteur.acme.record import RunRecord

_SUCCESS = re.compile(r"^facteur_acme_last_success_timestamp_seconds\s+([0-9.eE+]+)\s*$", re.M)


def previous_success(path: Path = paths.TEXTFILE) -> float | None:
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
        "# HELP facteur_acme_last_run_timestamp_seconds When the last certbot run (issue or renew) finished.",
        "# TYPE facteur_acme_last_run_timestamp_seconds gauge",
        f"facteur_acme_last_run_timestamp_seconds {finished:.0f}",
        "# HELP facteur_acme_last_run_ok 1 if the last certbot run succeeded, 0 if it failed.",
        "# TYPE facteur_acme_last_run_ok gauge",
        f'facteur_acme_last_run_ok{{action="{run.action}"}} {1 if run.ok else 0}',
    ]
    if last_success is not None:
        lines += [
            "# HELP facteur_acme_last_success_timestamp_seconds When the last successful certbot run ended.",
            "# TYPE facteur_acme_last_success_timestamp_seconds gauge",
            f"facteur_acme_last_success_timestamp_seconds {last_success:.0f}",
        ]
    return "\n".join(lines) + "\n"


def write(run: RunRecord, path: Path = paths.TEXTFILE) -> bool:
    """Write the textfile for `run` if node exporter's directory exists (monitoring installed).

    Return True if written. Never raises: metrics must not turn a renewal into a failure.
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
