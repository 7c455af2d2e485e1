"""The harness itself, before any install: containers boot as expected, reach Debian's packages
through the host's proxy and nothing else, and the stranger namespace is a distinct client."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.harness

LISTEN_ONCE = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
s.settimeout(20)
print("listening", flush=True)
conn, (peer, _) = s.accept()
conn.sendall(b"hello from the stranger\\n")
conn.close()
print(peer, flush=True)
"""


def test_systemd_is_pid_1(container):
    assert container.exec(["cat", "/proc/1/comm"]).stdout.strip() == "systemd"
    state = container.exec(["systemctl", "is-system-running"], check=False).stdout.strip()
    assert state in ("running", "degraded")


def test_identity(container):
    assert container.exec(["hostname"]).stdout.strip() == "mail"
    assert container.exec(["hostname", "--fqdn"]).stdout.strip() == "mail.example.test"
    addresses = container.exec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
    assert f"{container.ip}/24" in addresses


def test_apt_reaches_debian_through_the_proxy(container):
    container.exec(["apt-get", "update"], timeout=300)
    container.exec(["apt-get", "install", "-y", "--no-install-recommends", "hello"], timeout=300,
                   env={"DEBIAN_FRONTEND": "noninteractive"})
    assert container.exec(["hello"]).stdout.strip() == "Hello, world!"


def test_no_route_beyond_the_test_link(container):
    routes = container.exec(["ip", "-4", "route", "show"]).stdout
    assert "default" not in routes, routes


def test_checkout_and_wheelhouse_are_mounted_read_only(container):
    assert container.exec(["test", "-x", "/opt/facteur-src/facteur"], check=False).returncode == 0
    assert container.exec(["test", "-f", "/opt/facteur-wheelhouse/.facteur-requirements.sha256"],
                          check=False).returncode == 0
    for path in ("/opt/facteur-src/.write-test", "/opt/facteur-wheelhouse/.write-test"):
        touch = container.exec(["touch", path], check=False)
        assert touch.returncode != 0 and "Read-only" in touch.stderr


def test_exec_environment_does_not_leak(container, monkeypatch):
    monkeypatch.setenv("FACTEUR_LEAK_PROBE", "1")
    env = container.exec(["env"]).stdout
    assert "FACTEUR_LEAK_PROBE" not in env
    assert "HOME=/root" in env.splitlines()


def test_stranger_is_a_third_address(container):
    """A client in the stranger namespace is neither the host nor the container."""
    netns = container.stranger_netns()
    listener = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", LISTEN_ONCE, "2525"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "listening"
        greeting = container.exec(
            ["bash", "-c", f"exec 3<>/dev/tcp/{container.slot.stranger_ip}/2525 && head -n1 <&3"], timeout=30)
        assert greeting.stdout.strip() == "hello from the stranger"
        out, err = listener.communicate(timeout=30)
        assert out.strip() == container.ip, err
    finally:
        listener.kill()
        listener.wait()


def test_noinit_container_has_no_init_system(noinit_container):
    comm = noinit_container.exec(["cat", "/proc/1/comm"]).stdout.strip()
    assert comm != "systemd"
    assert noinit_container.exec(["test", "-d", "/run/systemd/system"], check=False).returncode != 0
    noinit_container.exec(["apt-get", "update"], timeout=300)
