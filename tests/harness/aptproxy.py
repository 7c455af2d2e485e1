"""Debian's apt-cacher-ng on the host: the containers' only way to the package mirror.

Containers live in network namespaces without a route to the outside; their apt talks to
http://<host side of their link>:3142, and apt-cacher-ng fetches from deb.debian.org.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

from . import layout, log
from .hostcmd import run

BACKENDS = Path("/etc/apt-cacher-ng/backends_debian")
BACKEND_LINE = "http://deb.debian.org/debian/"


def systemd_is_init() -> bool:
    """Return True if the host runs systemd as PID 1 (the sd_booted() test)."""
    return os.path.isdir("/run/systemd/system")


def answers(host: str = "127.0.0.1", port: int = layout.APT_PROXY_PORT, timeout: float = 2.0) -> bool:
    """Return True if an HTTP server answers on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"HEAD /acng-report.html HTTP/1.0\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def ensure(wait: float = 30.0) -> None:
    """Make sure apt-cacher-ng is configured with Debian's mirror and answers on port 3142.

    Raises RuntimeError if it is not installed or does not answer within `wait` seconds.
    """
    if shutil.which("apt-cacher-ng") is None and not Path("/usr/sbin/apt-cacher-ng").exists():
        raise RuntimeError("apt-cacher-ng is not installed (./tests/run installs it)")
    changed = _ensure_backend()
    if changed or not answers():
        action = "restart" if changed else "start"
        log.info(f"apt-cacher-ng: {action}")
        if systemd_is_init():
            run(["systemctl", action, "apt-cacher-ng"], check=False)
        else:
            run(["service", "apt-cacher-ng", action], check=False)
    deadline = time.monotonic() + wait
    while not answers():
        if time.monotonic() > deadline:
            raise RuntimeError(f"apt-cacher-ng does not answer on 127.0.0.1:{layout.APT_PROXY_PORT} "
                               f"after {wait:.0f}s; see /var/log/apt-cacher-ng/")
        time.sleep(0.5)


def _ensure_backend() -> bool:
    """Without a backend line apt-cacher-ng answers 503 for /debian; add it. Return True if changed."""
    try:
        lines = BACKENDS.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    if any(line.strip().rstrip("/") == BACKEND_LINE.rstrip("/") for line in lines):
        return False
    BACKENDS.parent.mkdir(parents=True, exist_ok=True)
    BACKENDS.write_text("\n".join([*lines, BACKEND_LINE]) + "\n")
    log.info(f"apt-cacher-ng: added {BACKEND_LINE} to {BACKENDS}")
    return True
