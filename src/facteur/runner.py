"""Run facteur's Ansible playbook: argv list (never a shell), progress on the terminal, full log to a file.

The facteur_progress callback writes JSON events to a temporary file that this module reads while the
playbook runs; Ansible's own output goes, complete, to /var/log/facteur/install-YYYYmmdd-HHMMSS.log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TextIO

import facteur
from facteur.errors import FacteurError

ANSIBLE_DIR = Path(facteur.__file__).parent / "ansible"
PLAYBOOK = ANSIBLE_DIR / "site.yml"
ANSIBLE_CFG = ANSIBLE_DIR / "ansible.cfg"
DEFAULT_LOG_DIR = Path("/var/log/facteur")
INTERPRETER = "/usr/bin/python3"
_POLL_SECONDS = 0.1
_FAILED = ("failed", "unreachable")


@dataclass
class RunResult:
    """Outcome of one playbook run. Counts are summed over hosts from Ansible's final stats."""

    returncode: int
    log_path: Path
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    failed_task: str | None = None
    failed_msg: str | None = None
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and self.unreachable == 0

    def failure_line(self) -> str:
        """Return one line saying what failed and where the full log is."""
        if self.failed_task:
            what = f"task '{self.failed_task}' failed: {self.failed_msg or 'no message'}"
        else:
            what = f"ansible-playbook exited with code {self.returncode}"
            error = _first_error_line(self.log_path)
            if error:
                what += f": {error}"
        return f"{what} (full log: {self.log_path})"


def ansible_playbook_bin() -> Path:
    """Return the ansible-playbook of the running interpreter's environment (the facteur venv)."""
    return Path(sys.executable).parent / "ansible-playbook"


def playbook_argv(
    varsfile: Path | str,
    *,
    playbook: Path | str = PLAYBOOK,
    inventory: str | None = None,
    check: bool = False,
    diff: bool = False,
    tags: str | None = None,
) -> list[str]:
    """Return the ansible-playbook command line. Without `inventory`, the local machine is the target
    through the local connection."""
    argv = [str(ansible_playbook_bin()), str(playbook)]
    if inventory:
        argv += ["-i", inventory]
    else:
        argv += ["-i", "localhost,", "-c", "local"]
    argv += ["-e", f"ansible_python_interpreter={INTERPRETER}", "-e", f"@{varsfile}"]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if tags:
        argv += ["--tags", tags]
    return argv


def ansible_env(events_file: Path | None = None) -> dict[str, str]:
    """Return the environment for ansible-playbook: facteur's ansible.cfg and, if given, the events file."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # Ansible refuses to start without a UTF-8 locale (LC_ALL=C in a bare container, for instance).
    current = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    if current and "utf-8" not in current.lower().replace("utf8", "utf-8"):
        env["LC_ALL"] = "C.UTF-8"
    if events_file is not None:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "facteur_progress"
        env["FACTEUR_EVENTS_FILE"] = str(events_file)
    return env


def count_tasks(argv: Sequence[str]) -> int:
    """Given a playbook command line, return how many tasks `--list-tasks` shows (0 if it cannot tell).

    Tasks pulled in dynamically (include_tasks), fact gathering and handlers are not listed: the
    total is an estimate that the progress display raises when it is passed.
    """
    try:
        listing = subprocess.run(
            [*argv, "--list-tasks"], env=ansible_env(), capture_output=True, text=True, check=False
        )
    except OSError:
        return 0
    if listing.returncode != 0:
        return 0
    count, in_tasks = 0, False
    for line in listing.stdout.splitlines():
        stripped = line.strip()
        if stripped.startswith("play #"):
            in_tasks = False
        elif stripped == "tasks:":
            in_tasks = True
        elif in_tasks and stripped:
            count += 1
    return count


def log_file(log_dir: Path | str | None = None) -> Path:
    """Return a new log path install-YYYYmmdd-HHMMSS.log in `log_dir` (default $FACTEUR_LOG_DIR or
    /var/log/facteur), creating the directory 0750."""
    directory = Path(log_dir or os.environ.get("FACTEUR_LOG_DIR") or DEFAULT_LOG_DIR)
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    os.chmod(directory, 0o750)
    stem = f"install-{datetime.now():%Y%m%d-%H%M%S}"
    path, number = directory / f"{stem}.log", 1
    while path.exists():  # two runs in the same second keep both logs
        number += 1
        path = directory / f"{stem}-{number}.log"
    return path


def run_playbook(
    varsfile: Path | str,
    *,
    playbook: Path | str = PLAYBOOK,
    inventory: str | None = None,
    check: bool = False,
    diff: bool = False,
    tags: str | None = None,
    log_dir: Path | str | None = None,
    out: TextIO | None = None,
) -> RunResult:
    """Run `playbook` with the role variables in `varsfile`; return its RunResult (never raises on a
    failed task: the caller decides). Progress goes to `out` (default stdout): a single updating bar
    on a terminal, one line per role otherwise. Ansible's complete output goes to the log file.
    Raise FacteurError if ansible-playbook is not installed next to this Python."""
    out = out or sys.stdout
    if not ansible_playbook_bin().exists():
        raise FacteurError(
            f"{ansible_playbook_bin()} not found: run facteur through ./facteur, which installs it"
        )
    argv = playbook_argv(varsfile, playbook=playbook, inventory=inventory, check=check, diff=diff, tags=tags)
    log_path = log_file(log_dir)
    progress = Progress(count_tasks(argv), out)
    with tempfile.TemporaryDirectory(prefix="facteur-events-") as tmp:
        events_path = Path(tmp) / "events.jsonl"
        events_path.touch(mode=0o600)
        with open(log_path, "w", encoding="utf-8") as log, open(events_path, encoding="utf-8") as events:
            os.chmod(log_path, 0o640)
            log.write(f"# {datetime.now().isoformat(timespec='seconds')} {' '.join(argv)}\n")
            log.flush()
            process = subprocess.Popen(
                argv,
                env=ansible_env(events_path),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            reader = EventReader(events)
            try:
                while process.poll() is None:
                    for event in reader.read():
                        progress.handle(event)
                    time.sleep(_POLL_SECONDS)
            except KeyboardInterrupt:
                process.terminate()
                process.wait()
                progress.finish()
                raise
            for event in reader.read():
                progress.handle(event)
            progress.finish()
    return progress.result(process.returncode, log_path)


class EventReader:
    """Reads complete JSON lines appended to an open file; a half-written last line waits."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self._pending = ""

    def read(self) -> list[dict]:
        self._pending += self._handle.read()
        *lines, self._pending = self._pending.split("\n")
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # not ours (a stray write): the log has everything anyway
        return events


class Progress:
    """Turns events into a progress display and keeps what the final RunResult needs."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = total
        self.done = 0
        self.out = out
        self.tty = out.isatty()
        self.role: str | None = None
        self.failed_task: str | None = None
        self.failed_msg: str | None = None
        self.stats: dict[str, dict[str, int]] = {}
        self._drawn = False

    def handle(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "task":
            self._task(event)
        elif kind == "result" and event.get("status") in _FAILED and not event.get("ignored"):
            self.failed_task = _label(event)
            self.failed_msg = event.get("msg")
        elif kind == "stats":
            self.stats = event.get("hosts", {})

    def _task(self, event: dict) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        role = event.get("role") or ""
        if self.tty:
            self._draw(_label(event))
        elif role and role != self.role:
            print(f"facteur: {role} ({self.done}/{self.total})", file=self.out, flush=True)
        if role:
            self.role = role

    def _draw(self, label: str) -> None:
        width = shutil.get_terminal_size((80, 24)).columns
        filled = 10 * self.done // self.total if self.total else 0
        line = f"[{'#' * filled}{'.' * (10 - filled)}] {self.done}/{self.total} {label}"
        line = line[: width - 1]
        self.out.write("\r" + line.ljust(width - 1))
        self.out.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.out.write("\n")
            self.out.flush()
            self._drawn = False

    def result(self, returncode: int, log_path: Path) -> RunResult:
        totals = {key: sum(host.get(key, 0) for host in self.stats.values())
                  for key in ("ok", "changed", "failures", "unreachable", "skipped")}
        return RunResult(
            returncode=returncode,
            log_path=log_path,
            ok=totals["ok"],
            changed=totals["changed"],
            failed=totals["failures"],
            unreachable=totals["unreachable"],
            skipped=totals["skipped"],
            failed_task=self.failed_task,
            failed_msg=self.failed_msg,
            hosts=self.stats,
        )


def _label(event: dict) -> str:
    role, task = event.get("role") or "", event.get("task") or ""
    return f"{role} : {task}" if role else task


def _first_error_line(log_path: Path) -> str | None:
    """Return the first line of Ansible's own error report (ERROR! ...) in the log, if any."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            for line in log:
                if line.startswith("ERROR!") or line.startswith("[ERROR]"):
                    return " ".join(line.split())[:300]
    except OSError:
        return None
    return None
