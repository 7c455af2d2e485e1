"""Wheelhouses: the pinned Python wheels for a container's CPython, downloaded on the host.

Containers cannot reach PyPI; the bootstrap installs offline from the wheelhouse bind-mounted
at /opt/facteur-wheelhouse (FACTEUR_WHEELHOUSE). Built by tools/download-wheels (the same
script an air-gapped site uses), cached under CACHE_DIR/wheelhouse-cpXY-<lock digest>: a changed
requirements.lock gets a new one (the stamp holds the full sha256); unused ones go after a week.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from . import layout, log

SCRIPT = layout.REPO / "tools" / "download-wheels"
STAMP = ".facteur-requirements.sha256"


def lock_digest(lockfile: Path) -> str:
    """Return the sha256 of the lock file, or 'no-lock' if it does not exist yet."""
    try:
        return hashlib.sha256(lockfile.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "no-lock"


def ensure(release: str, lockfile: Path | None = None) -> Path:
    """Given a release, return a wheelhouse directory matching requirements.lock for its CPython.

    Raises RuntimeError with pip's output if the download fails. Without a lock file, returns an
    empty wheelhouse (the install will then say what is missing).
    """
    lockfile = lockfile or layout.REPO / "requirements.lock"
    want = lock_digest(lockfile)
    target = layout.wheelhouse_dir(release, want)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(str(target) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            have = (target / STAMP).read_text().strip()
        except OSError:
            have = None
        if have == want:
            os.utime(target)  # marks it as in use (see _prune)
            return target
        tmp = Path(f"{target}.tmp-{os.getpid()}")
        subprocess.run(["rm", "-rf", "--", str(tmp)], check=True)
        tmp.mkdir()
        try:
            if want == "no-lock":
                log.info(f"{lockfile} does not exist yet: empty wheelhouse {target}")
            else:
                _download(release, lockfile, tmp)
            (tmp / STAMP).write_text(want + "\n")
            subprocess.run(["rm", "-rf", "--", str(target)], check=True)  # an incomplete one
            os.rename(tmp, target)
        finally:
            subprocess.run(["rm", "-rf", "--", str(tmp)], check=False)
    _prune(target)
    return target


def _prune(keep: Path, max_age_days: float = 7) -> None:
    """Remove the other wheelhouses of the same CPython not used for `max_age_days`."""
    prefix = keep.name.rsplit("-", 1)[0] + "-"
    for other in keep.parent.glob(prefix + "*"):
        if other == keep or not other.is_dir():
            continue
        if time.time() - other.stat().st_mtime > max_age_days * 86400:
            subprocess.run(["rm", "-rf", "--", str(other)], check=False)


def _download(release: str, lockfile: Path, dest: Path) -> None:
    version = layout.python_version(release)
    log.info(f"downloading wheels for CPython {version} into {dest.name} (host pip)")
    t0 = time.monotonic()
    env = dict(os.environ, PYTHON=sys.executable)
    cp = subprocess.run(
        [str(SCRIPT), "--python", version, "--requirements", str(lockfile), str(dest)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=1200,
    )
    if cp.returncode != 0:
        raise RuntimeError(f"tools/download-wheels failed (exit {cp.returncode}):\n"
                           + log.tail(cp.stdout + cp.stderr, 40))
    count = len(list(dest.glob("*.whl")))
    log.info(f"{count} wheels for CPython {version} in {time.monotonic() - t0:.0f}s")
