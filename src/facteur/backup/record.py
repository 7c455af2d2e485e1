"""The record of the last backup run: when, whether it worked, which snapshot.

`facteur status` and the monitoring read it: a backup that failed or did not run for a day must
be noticed. Written atomically, so a reader never sees half a record.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

RECORD_FILE = Path("/var/lib/facteur/backup/last-run.json")


@dataclass(frozen=True)
class RunRecord:
    finished: str            # ISO 8601, UTC
    ok: bool
    snapshot: str = ""       # restic snapshot id when ok
    seconds: float = 0.0
    error: str = ""          # one line when not ok

    @property
    def finished_at(self) -> datetime:
        return datetime.fromisoformat(self.finished)


def write(ok: bool, seconds: float, snapshot: str = "", error: str = "",
          path: Path = RECORD_FILE) -> RunRecord:
    """Record the outcome of a run that just finished; return the record."""
    record = RunRecord(finished=datetime.now(UTC).isoformat(timespec="seconds"), ok=ok,
                       snapshot=snapshot, seconds=round(seconds, 1), error=error)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(record), indent=1) + "\n")
    os.replace(temporary, path)
    return record


def read(path: Path = RECORD_FILE) -> RunRecord | None:
    """Return the last run's record, or None if no backup ever ran (or the record is unreadable)."""
    try:
        data = json.loads(path.read_text())
        return RunRecord(**data)
    except (OSError, ValueError, TypeError):
        return None
