"""Host-side plumbing: run commands, watch processes, handle mounts, remove trees safely."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path


class HarnessError(RuntimeError):
    """The test machinery itself failed (not the product under test)."""


def run(argv: Sequence[str | os.PathLike], *, check: bool = True, timeout: float | None = 120,
        input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` on the host (never through a shell), capture text output.

    Raise HarnessError naming the command and its stderr if ``check`` and it exits non-zero.
    """
    argv = [os.fspath(a) for a in argv]
    try:
        result = subprocess.run(argv, input=input, capture_output=True, text=True, errors="replace",
                                timeout=timeout, env=env, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{' '.join(argv)}: no answer after {timeout}s") from exc
    except FileNotFoundError as exc:
        raise HarnessError(f"{argv[0]}: not found on this host") from exc
    if check and result.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} exited {result.returncode}: "
                           f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result


# ---------------------------------------------------------------- processes

def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def ppid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (scans /proc; no dependency on CONFIG_PROC_CHILDREN)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and ppid_of(int(entry)) == pid:
            kids.append(int(entry))
    return sorted(kids)


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return []


def ns_inode(pid: int | str, kind: str) -> int | None:
    """Inode of ``/proc/PID/ns/KIND`` (identifies a namespace), None if the process is gone."""
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except OSError:
        return None


def pids_in_pidns(inode: int) -> list[int]:
    """Every host PID whose PID namespace is ``inode``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and ns_inode(entry, "pid") == inode:
            found.append(int(entry))
    return found


def kill_pidns(inode: int | None) -> None:
    """SIGKILL every process left in a PID namespace (the container's, never the host's)."""
    if inode is None or inode == ns_inode("self", "pid"):
        return
    for pid in pids_in_pidns(inode):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_gone(pid: int, timeout: float, popen: subprocess.Popen | None = None) -> bool:
    """Wait until ``pid`` has exited (reaping it if it is our child). True if gone in time."""
    deadline = time.monotonic() + timeout
    while True:
        if popen is not None:
            if popen.poll() is not None:
                return True
        else:
            try:  # reap it if it happens to be our child
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == pid:
                    return True
            except ChildProcessError:
                pass
            if not pid_alive(pid):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- mounts

def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) of every mount in this mount namespace."""
    result = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fstype, _source, superopts = (right.split() + ["", ""])[:3]
            result.append((_unescape(left.split()[4]), fstype, superopts))
    return result


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path``, deepest first."""
    prefix = str(path).rstrip("/")
    found = [m for m, _, _ in mounts() if m == prefix or m.startswith(prefix + "/")]
    return sorted(set(found), key=lambda m: m.count("/"), reverse=True)


def is_mountpoint(path: Path) -> bool:
    return str(path).rstrip("/") in {m for m, _, _ in mounts()}


def unmount_tree(path: Path) -> None:
    """Unmount everything at or below ``path``; lazily if a mount is busy. Raise if any remains."""
    for point in mounts_under(path):
        if run(["umount", point], check=False, timeout=60).returncode != 0:
            run(["umount", "-l", point], check=False, timeout=60)
    left = mounts_under(path)
    if left:
        raise HarnessError(f"still mounted after umount: {', '.join(left)}")


def lowerdirs_in_use() -> set[str]:
    """Directories used as an overlayfs lower layer by any mount on this host."""
    used = set()
    for _point, fstype, opts in mounts():
        if fstype == "overlay":
            for opt in opts.split(","):
                if opt.startswith("lowerdir="):
                    used.update(opt[len("lowerdir="):].split(":"))
    return used


def safe_rmtree(path: Path, allowed_roots: Iterable[Path]) -> None:
    """Remove ``path`` after unmounting anything below it. Refuse paths outside ``allowed_roots``
    and never cross into another file system (a leftover bind mount is unmounted, not emptied)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    resolved = path.resolve()
    if not any(resolved != Path(root).resolve() and Path(root).resolve() in resolved.parents
               for root in allowed_roots):
        raise HarnessError(f"refusing to remove {path}: outside {', '.join(map(str, allowed_roots))}")
    unmount_tree(resolved)
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    rm = shutil.which("rm") or "/bin/rm"
    run([rm, "-rf", "--one-file-system", "--", str(resolved)], timeout=600)
