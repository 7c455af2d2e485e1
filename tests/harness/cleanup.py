"""Find and remove what test containers left behind: processes, mounts, namespaces, links, files.

Only objects that carry the harness's names are touched: network namespaces `fct-*`, links
`fctbr-*`/`fcth-*`/`fcts-*`, mounts and systemd-nspawn processes under RUN_ROOT. A container
whose lock is held by a running test session is left alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from . import layout, log, netns, procs
from .hostcmd import run
from .mounts import mounts_under, umount_tree


def _kill_container_processes(nspawn_pid: int) -> None:
    """Power a leftover container off (SIGKILL of its PID 1 after 15 s), then make sure nspawn is gone."""
    pid1 = procs.container_init(nspawn_pid)
    if pid1 is not None and procs.cmdline(pid1)[:1] and "systemd" in procs.cmdline(pid1)[0]:
        os.kill(pid1, signal.SIGRTMIN + 4)  # systemd: orderly poweroff
        deadline = time.monotonic() + 15
        while procs.alive(nspawn_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    if pid1 is not None and procs.alive(pid1):
        os.kill(pid1, signal.SIGKILL)  # takes the whole PID namespace with it
    deadline = time.monotonic() + 15
    while procs.alive(nspawn_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if procs.alive(nspawn_pid):
        os.kill(nspawn_pid, signal.SIGKILL)
        time.sleep(0.5)


def _locked_by_other(name: str) -> bool:
    path = layout.lock_file(name)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def remove_container(name: str, lock_held: bool = False) -> list[str]:
    """Remove every leftover of container `name`; return a description of what was removed.

    Skips (and says so) a container in use by another session unless the caller holds its lock.
    """
    if not lock_held and _locked_by_other(name):
        return [f"{name}: in use by a running test session, left alone"]
    done = []
    run_dirs: set[Path] = set()
    try:
        state = json.loads(layout.state_file(name).read_text())
        if state.get("run_dir") not in (None, "None"):
            run_dirs.add(Path(state["run_dir"]))
    except (OSError, ValueError):
        state = {}
    for point in mounts_under(layout.RUN_ROOT):
        path = Path(point)
        if path.name == "merged" and path.parent.name == name:
            run_dirs.add(path.parent)
    if layout.RUN_ROOT.is_dir():
        run_dirs.update(p for p in layout.RUN_ROOT.glob(f"run-*/{name}") if p.is_dir())

    pids = set()
    if procs.alive(state.get("nspawn_pid"), state.get("nspawn_start")):
        pids.add(state["nspawn_pid"])
    for run_dir in run_dirs:
        pids.update(procs.find_by_arg(str(run_dir / "merged")))
    for pid in sorted(pids):
        _kill_container_processes(pid)
        done.append(f"{name}: killed systemd-nspawn {pid}")

    for run_dir in sorted(run_dirs):
        if mounts_under(run_dir):
            umount_tree(run_dir)
            done.append(f"{name}: unmounted {run_dir}/merged")
    slot = layout.slot_for(name)
    clients = list(Path("/run/netns").glob(layout.client_netns(name, "*")))
    if clients or any(netns.exists(n) for n in (name, layout.stranger_netns(name))) or any(
            netns.link_exists(link) for link in (slot.bridge, slot.host_veth, slot.stranger_veth)):
        netns.remove(name, slot)
        done.append(f"{name}: removed network namespace(s) and links of 198.18.{slot.number}.0/24")
    for run_dir in sorted(run_dirs):
        if run_dir.exists():
            subprocess.run(["rm", "-rf", "--one-file-system", "--", str(run_dir)], check=False)
            done.append(f"{name}: removed {run_dir}")
            try:
                run_dir.parent.rmdir()
            except OSError:
                pass
    if layout.state_file(name).exists():
        layout.state_file(name).unlink()
        done.append(f"{name}: removed state file")
    return done


def known_names() -> set[str]:
    """Return the names of all containers that have something left on this host."""
    names = set()
    if layout.RUN_ROOT.is_dir():
        names.update(p.stem for p in layout.RUN_ROOT.glob(layout.NETNS_PREFIX + "*.json"))
        names.update(p.name for p in layout.RUN_ROOT.glob(f"run-*/{layout.NETNS_PREFIX}*") if p.is_dir())
    for point in mounts_under(layout.RUN_ROOT):
        path = Path(point)
        if path.name == "merged" and path.parent.name.startswith(layout.NETNS_PREFIX):
            names.add(path.parent.name)
    spaces, _ = netns.list_ours()
    for space in spaces:
        names.add(layout.container_of_netns(space))
    return names


def remove_all() -> list[str]:
    """Remove the leftovers of every container not in use by a running session; return what was done."""
    done = []
    for name in sorted(known_names()):
        done += remove_container(name)
    busy = {layout.slot_for(n).number for n in known_names() if _locked_by_other(n)}
    _, links = netns.list_ours()
    for link in links:
        number = link.split("-", 1)[1].rstrip("p").split(".")[0]  # fcts-N.H: a test's client
        if number.isdigit() and int(number) in busy:
            continue
        if netns.link_exists(link):
            run(["ip", "link", "delete", link], check=False)
            done.append(f"removed link {link}")
    if layout.RUN_ROOT.is_dir():
        for run_dir in layout.RUN_ROOT.glob("run-*"):
            if run_dir.is_dir() and not mounts_under(run_dir):
                try:
                    run_dir.rmdir()
                except OSError:
                    pass
    return done


def main() -> int:
    done = remove_all()
    for line in done:
        log.info(line)
    if not done:
        log.info("nothing left over")
    return 0
