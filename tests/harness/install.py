"""Run the README's install command inside a container, keeping its output as an artefact."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from pathlib import Path

from . import layout, log, testconfig
from .container import Container

INSTALL_TIMEOUT = float(os.environ.get("FACTEUR_TEST_INSTALL_TIMEOUT", "2400"))


class InstallFailed(AssertionError):
    """`./facteur install` failed; the message holds the log path and the last 40 lines."""


def _artifact(label: str) -> Path:
    layout.ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        path = layout.ARTIFACTS_DIR / f"{label}-install-{n}.log"
        try:
            with open(path, "x"):
                return path
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def run_install(container: Container, args: tuple[str, ...] = (), timeout: float = INSTALL_TIMEOUT
                ) -> subprocess.CompletedProcess[str]:
    """Run `cd /opt/facteur-src && FACTEUR_WHEELHOUSE=/opt/facteur-wheelhouse ./facteur install ARGS`.

    Output (stdout and stderr, as they come) goes to ARTIFACTS_DIR/<label>-install-N.log, whose
    path is printed. On success an install stamp is written in the container. Returns the
    CompletedProcess (stdout = the whole log, .logfile = its path); never raises on a non-zero exit.
    """
    logfile = _artifact(container.label)
    log.info(f"{container.name}: ./facteur install {' '.join(args)} (log: {logfile})")
    t0 = time.monotonic()
    try:
        cp = container.exec(
            ["./facteur", "install", *args],
            cwd=layout.SRC_IN_CONTAINER,
            env={"FACTEUR_WHEELHOUSE": layout.WHEELHOUSE_IN_CONTAINER},
            check=False, timeout=timeout, output=logfile,
        )
    except subprocess.TimeoutExpired:
        with open(logfile, "a") as out:
            out.write(f"\n[harness] ./facteur install killed after {timeout:.0f}s\n")
        cp = subprocess.CompletedProcess(["./facteur", "install", *args], -9,
                                         logfile.read_text(errors="replace"), "")
        cp.logfile = logfile
        return cp
    cp.logfile = logfile  # where the output is kept
    elapsed = time.monotonic() - t0
    log.info(f"{container.name}: install exited {cp.returncode} after {elapsed:.0f}s (log: {logfile})")
    if cp.returncode == 0:
        container.exec(["sh", "-c", 'mkdir -p "${1%/*}" && date -Is > "$1"', "sh",
                        layout.INSTALL_STAMP_IN_CONTAINER])
    else:
        _collect_logs(container)
    return cp


def installed(container: Container) -> bool:
    """Return True if an earlier install in this container succeeded (its stamp exists)."""
    return container.exec(["test", "-e", layout.INSTALL_STAMP_IN_CONTAINER], check=False).returncode == 0


def ensure_installed(container: Container) -> None:
    """Install unless a reused container already has a successful install (FACTEUR_TEST_REINSTALL=1 forces).

    Raises InstallFailed with the log path and the last 40 lines of output if the install fails.
    """
    if container.reused and installed(container) and os.environ.get("FACTEUR_TEST_REINSTALL") != "1":
        log.info(f"{container.name}: already installed (reused container), skipping the install")
        return
    if not installed(container):
        testconfig.write(container)
    cp = run_install(container)
    if cp.returncode != 0:
        raise InstallFailed(
            f"./facteur install failed in {container.name} ({container.release}, "
            f"{'systemd' if container.init else 'no init'}) with exit code {cp.returncode}.\n"
            f"Full log: {cp.logfile}\n"
            f"--- last 40 lines ---\n{log.tail(cp.stdout, 40)}"
        )


def _collect_logs(container: Container) -> None:
    """Copy the container's /var/log/facteur/*.log (the full Ansible logs) next to the artefacts."""
    source = container.host_path("/var/log/facteur")
    if not source.is_dir():
        return
    for path in sorted(source.glob("*.log")):
        dest = layout.ARTIFACTS_DIR / f"{container.label}-{path.name}"
        dest.write_bytes(path.read_bytes())
        log.info(f"{container.name}: copied {path.name} to {dest}")
