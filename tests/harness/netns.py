"""Network namespaces for the test containers, on 198.18.N.0/24 links that lead nowhere.

For container NAME with slot N:

    host:       bridge fctbr-N, 198.18.N.1/24 (also where apt-cacher-ng is reached)
    NAME:       eth0 198.18.N.2/24 (veth fcth-N on the bridge) + lo; the container runs in it
    NAME-x:     eth0 198.18.N.3/24 (veth fcts-N on the bridge) + lo; the "stranger", made on demand
    NAME-cH:    eth0 198.18.N.H/24 (veth fcts-N.H on the bridge) + lo; a test's own client, made and
                removed by that test (add_client/remove_client), e.g. one that gets banned

No default route, no NAT, no sysctl change: nothing in a namespace can reach beyond its link.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from . import layout
from .hostcmd import run


def exists(netns: str) -> bool:
    return Path("/run/netns", netns).exists()


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _attach(netns: str, host_end: str, bridge: str, address: str) -> None:
    """Create `netns` with a veth whose host end is on `bridge` and whose inner end is eth0 at `address`."""
    peer = host_end + "p"  # renamed to eth0 once inside the namespace
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", peer])
    run(["ip", "link", "set", peer, "netns", netns])
    run(["ip", "link", "set", host_end, "master", bridge])
    run(["ip", "link", "set", host_end, "up"])
    run(["ip", "-n", netns, "link", "set", peer, "name", "eth0"])
    run(["ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0"])
    run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])


def create(name: str, slot: layout.Slot) -> None:
    """Create the host bridge of `slot` and the container namespace `name` attached to it.

    Raises CommandError if a part already exists (call remove() first for leftovers).
    """
    run(["ip", "link", "add", slot.bridge, "type", "bridge"])
    run(["ip", "addr", "add", f"{slot.host_ip}/24", "dev", slot.bridge])
    run(["ip", "link", "set", slot.bridge, "up"])
    _attach(name, slot.host_veth, slot.bridge, slot.container_ip)


def add_stranger(name: str, slot: layout.Slot) -> str:
    """Create (once) the stranger namespace on the container's link; return its name.

    The stranger is neither the host nor the container: a client there is untrusted by any
    rule that trusts loopback, the host's address or the server's own address.
    """
    stranger = layout.stranger_netns(name)
    if not exists(stranger):
        _attach(stranger, slot.stranger_veth, slot.bridge, slot.stranger_ip)
    return stranger


def add_client(name: str, slot: layout.Slot, host: int) -> tuple[str, str]:
    """Create a client namespace of its own for one test, at 198.18.N.`host` on the container's link
    (`host` in 10..250, apart from the host, container and stranger); return (netns, address).

    For a test whose client must be a known, otherwise unused address (one that fail2ban bans, say),
    so that nothing it does to that address reaches another test. Replaces a leftover of the same name.
    """
    if not 10 <= host <= 250:
        raise ValueError(f"client host number {host} not in 10..250")
    netns, address = layout.client_netns(name, host), slot.address(host)
    remove_client(name, slot, host)
    _attach(netns, slot.client_veth(host), slot.bridge, address)
    # The container may still hold the MAC address of an earlier client at this address (another
    # test's, or an earlier run's): it would send there until the entry times out. Let it ask again.
    run(["ip", "-n", name, "neigh", "flush", "to", address], check=False)
    return netns, address


def remove_client(name: str, slot: layout.Slot, host: int) -> None:
    """Remove the client namespace made by add_client (silent if already gone)."""
    netns = layout.client_netns(name, host)
    if exists(netns):
        run(["ip", "netns", "delete", netns], check=False)
    if link_exists(slot.client_veth(host)):
        run(["ip", "link", "delete", slot.client_veth(host)], check=False)


_T = TypeVar("_T")
_CLONE_NEWNET = 0x40000000


def call_in(netns: str, function: Callable[..., _T], *args, **kwargs) -> _T:
    """Call `function(*args, **kwargs)` in a new thread that has entered network namespace `netns`
    (setns(2) moves only the calling thread), and return its result or raise its exception.

    Sockets opened by the function (smtplib, imaplib, http.client...) start from that namespace,
    so host-side clients can act as a client at the namespace's address.
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    error = ctypes.get_errno()
                    raise OSError(error, f"setns({netns}): {os.strerror(error)}")
            finally:
                os.close(fd)
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{netns}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def remove(name: str, slot: layout.Slot) -> None:
    """Remove the namespaces and links of container `name` (with any test clients); silent about parts
    already gone."""
    clients = sorted(Path("/run/netns").glob(layout.client_netns(name, "*"))) \
        if Path("/run/netns").is_dir() else []
    for netns in (*(path.name for path in clients), layout.stranger_netns(name), name):
        if exists(netns):
            run(["ip", "netns", "delete", netns], check=False)
    client_links = sorted(path.name for path in Path("/sys/class/net").glob(slot.client_veth("*")))
    for link in (*client_links, slot.stranger_veth, slot.host_veth, slot.bridge):
        if link_exists(link):
            run(["ip", "link", "delete", link], check=False)


def list_ours() -> tuple[list[str], list[str]]:
    """Return (namespaces, links) on the host whose names belong to the harness."""
    names = sorted(p.name for p in Path("/run/netns").glob(layout.NETNS_PREFIX + "*")) \
        if Path("/run/netns").is_dir() else []
    links = sorted(p.name for p in Path("/sys/class/net").iterdir()
                   if p.name.startswith(layout.LINK_PREFIXES))
    return names, links
