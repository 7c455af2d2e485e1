"""Overlay mounts for container trees, and unmounting whatever is left under a directory."""

from __future__ import annotations

import time
from pathlib import Path

from .hostcmd import run


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mountpoints() -> list[str]:
    """Return the mount points of the host's mount namespace, in mount order."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.append(_unescape(fields[4]))
    return points


def mounts_under(path: Path | str) -> list[str]:
    """Return the mount points at or below `path`, deepest first."""
    prefix = str(Path(path))
    found = [p for p in mountpoints() if p == prefix or p.startswith(prefix.rstrip("/") + "/")]
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def mount_overlay(lower: Path, upper: Path, work: Path, merged: Path) -> None:
    """Mount an overlay of `lower` (read-only) and `upper` (changes) at `merged`."""
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)])


def umount_tree(path: Path | str, attempts: int = 10) -> None:
    """Unmount everything at or below `path`; falls back to a lazy unmount if still busy.

    Raises RuntimeError if something is still mounted there afterwards.
    """
    for _ in range(attempts):
        points = mounts_under(path)
        if not points:
            return
        for point in points:
            run(["umount", point], check=False)
        if mounts_under(path):
            time.sleep(0.5)
    for point in mounts_under(path):
        run(["umount", "-l", point], check=False)
    left = mounts_under(path)
    if left:
        raise RuntimeError(f"still mounted after unmount attempts: {left}")
