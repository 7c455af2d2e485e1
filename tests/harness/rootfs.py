"""Cached minimal Debian root filesystems, one per release, built once with debootstrap.

Layout under CACHE_DIR/RELEASE/:
    rootfs/          the tree (used read-only as the overlay's lower layer)
    .complete        stamp: JSON of the build parameters, written after a successful build
    debootstrap.log  output of the last build
    .lock            flock held while checking or building

A rootfs without a matching stamp is treated as absent and rebuilt. The build goes into a
temporary directory which is renamed into place, so a crash never leaves a half-built tree
that looks complete. debootstrap runs package scripts in a chroot, but only for the small
package set below, whose scripts do not touch kernel settings; apt/dpkg are never run by the
harness in a bare chroot (only inside a booted container, where nspawn protects /proc/sys).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from . import layout, log
from .mounts import mounts_under, umount_tree

INCLUDE = ["systemd", "systemd-sysv", "dbus", "iproute2", "netbase", "ca-certificates"]
VARIANT = "minbase"
BUILD_TIMEOUT = 1800


def build_params(release: str) -> dict:
    """The parameters that define a base tree; a stamp with other parameters means rebuild."""
    return {"release": release, "variant": VARIANT, "include": INCLUDE, "mirror": layout.MIRROR}


def stamp_path(release: str) -> Path:
    return layout.CACHE_DIR / release / ".complete"


def is_complete(release: str) -> bool:
    """Return True if the cached rootfs exists and its stamp matches the current build parameters."""
    root = layout.rootfs_dir(release)
    try:
        stamp = json.loads(stamp_path(release).read_text())
    except (OSError, ValueError):
        return False
    return root.is_dir() and stamp.get("params") == build_params(release)


def write_stamp(release: str) -> None:
    stamp = {"params": build_params(release), "built": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    tmp = stamp_path(release).with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp, indent=1) + "\n")
    os.replace(tmp, stamp_path(release))


def ensure(release: str) -> Path:
    """Given a release name, return the path of its complete cached rootfs, building it if needed.

    Raises CommandError-like RuntimeError with the tail of debootstrap's log if the build fails.
    """
    layout.python_version(release)  # validates the name
    base = layout.CACHE_DIR / release
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_complete(release):
            _build(release)
        _remove_stale(base)
    return layout.rootfs_dir(release)


def _build(release: str) -> None:
    base = layout.CACHE_DIR / release
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (./tests/run installs it)")
    tmp = base / f"rootfs.tmp-{os.getpid()}"
    _remove_tree(tmp)
    logfile = base / "debootstrap.log"
    argv = [
        "debootstrap", f"--variant={VARIANT}", "--include=" + ",".join(INCLUDE),
        release, str(tmp), layout.MIRROR,
    ]
    log.info(f"building the {release} base rootfs with debootstrap (a few minutes; log: {logfile})")
    t0 = time.monotonic()
    try:
        with open(logfile, "w") as out:
            cp = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                timeout=BUILD_TIMEOUT)
        if cp.returncode != 0:
            raise RuntimeError(
                f"debootstrap {release} failed (exit {cp.returncode}); last lines of {logfile}:\n"
                + log.tail(logfile.read_text(errors="replace"), 40)
            )
        _neutralize(tmp)
        old = None
        root = layout.rootfs_dir(release)
        if root.exists():
            old = base / f"rootfs.old-{int(time.time())}"
            os.rename(root, old)
        os.rename(tmp, root)
        write_stamp(release)
    finally:
        _remove_tree(tmp)
    log.info(f"{release} rootfs built in {time.monotonic() - t0:.0f}s")


def _neutralize(root: Path) -> None:
    """Drop what debootstrap copied from the build host (its resolver, its name)."""
    etc = root / "etc"
    resolv = etc / "resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("nameserver 127.0.0.1\n")
    (etc / "hostname").write_text("localhost\n")


def _remove_stale(base: Path) -> None:
    """Remove half-built trees, and replaced trees once no overlay uses this release's base.

    An overlay mounted before a rebuild still shows `lowerdir=<base>/rootfs` in mountinfo although
    it uses the renamed old tree, so old trees wait until no overlay names either path.
    """
    current = base / "rootfs"
    for path in base.iterdir():
        if path.name.startswith("rootfs.tmp-") and path.is_dir():
            _remove_tree(path)
        elif path.name.startswith("rootfs.old-") and path.is_dir():
            if not _used_as_lower(path) and not _used_as_lower(current):
                _remove_tree(path)


def _used_as_lower(path: Path) -> bool:
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return True
    return any(f"{key}{path}" in text for key in ("lowerdir=", ":"))


def _remove_tree(path: Path) -> None:
    """Remove a tree that debootstrap may have left mounts in (unmount first, never cross devices)."""
    if not path.exists():
        return
    if mounts_under(path):
        umount_tree(path)
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False)
