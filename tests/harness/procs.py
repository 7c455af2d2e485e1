"""Facts about host processes read from /proc (no external tools, no guessing by name), and stopping
the ones the harness started."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'
    return text[text.rindex(")") + 2 :].split()


def starttime(pid: int) -> int | None:
    """Return the process start time (clock ticks since boot), or None if it does not exist."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return int(fields[19])


def ppid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def alive(pid: int | None, start: int | None = None) -> bool:
    """Return True if `pid` exists, is not a zombie and (if given) started at `start`."""
    if not pid:
        return False
    st = state(pid)
    if st is None or st in ("Z", "X"):
        return False
    return start is None or starttime(pid) == start


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def nspid(pid: int) -> list[int]:
    """Return the PID of `pid` in each nested PID namespace, outermost first."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    except OSError:
        pass
    return []


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children(pid: int) -> list[int]:
    return [p for p in all_pids() if ppid(p) == pid]


def container_init(nspawn_pid: int) -> int | None:
    """Return the host PID of the container's PID 1 (the nspawn child that is PID 1 in its namespace)."""
    for child in children(nspawn_pid):
        ids = nspid(child)
        if len(ids) >= 2 and ids[-1] == 1:
            return child
    return None


def find_by_arg(fragment: str, program: str = "systemd-nspawn") -> list[int]:
    """Return PIDs of `program` processes having an argument that contains `fragment`."""
    found = []
    for pid in all_pids():
        args = cmdline(pid)
        if args and os.path.basename(args[0]) == program and any(fragment in a for a in args[1:]):
            found.append(pid)
    return found


def end(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a process the harness started: SIGTERM, then SIGKILL if it is still there after `timeout`."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
