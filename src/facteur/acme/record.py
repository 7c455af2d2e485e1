"""The record of the last certbot run (an issuance or a renewal): when, what, whether it worked.

`facteur status` reads it, and facteur.acme.metrics turns it into the metrics of the
CertificateRenewalFailed alert. A scheduled renewal that fails must not go unnoticed: the
certificate keeps working for weeks, then every client refuses it at once. Written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from facteur.acme import paths

ACTIONS = ("issue", "renew")


@dataclass(frozen=True)
class RunRecord:
    finished: str          # ISO 8601, UTC
    action: str            # "issue" or "renew"
    ok: bool
    changed: bool = False  # a new certificate was obtained
    seconds: float = 0.0
    error: str = ""        # one line when not ok

    @property
    def finished_at(self) -> datetime:
        return datetime.fromisoformat(self.finished)


def write(action: str, ok: bool, changed: bool, seconds: float, error: str = "",
          path: Path = paths.RECORD_FILE) -> RunRecord:
    """Record the outcome of a certbot run that just finished; return the record."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    record = RunRecord(finished=datetime.now(UTC).isoformat(timespec="seconds"), action=action, ok=ok,
                       changed=changed, seconds=round(seconds, 1), error=error)
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(record), indent=1) + "\n")
    os.replace(temporary, path)
    return record


def read(path: Path = paths.RECORD_FILE) -> RunRecord | None:
    """Return the last run's record, or None if certbot never ran for facteur (or it is unreadable)."""
    try:
        return RunRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
