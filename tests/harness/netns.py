"""Network namespaces for the test containers, on 198.18.N.0/24 links that lead nowhere.

For container NAME with slot N:

    host:       bridge fctbr-N, 198.18.N.1/24 (also where apt-cacher-ng is reached)
    NAME:       eth0 198.18.N.2/24 (veth fcth-N on the bridge) + lo; the container runs in it
    NAME-x:     eth0 198.18.N.3/24 (veth fcts-N on the bridge) + lo; the "stranger", made on demand
    NAME-TAG:   other peers of layout.PEERS (veth fcts-N-TAG), made on demand by the tests that need them

No default route, no NAT, no sysctl change: nothing in a namespace can reach beyond its link.
"""

from __future__ import annotations

from pathlib import Path

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


def add_peer(name: str, slot: layout.Slot, tag: str) -> str:
    """Create (once) peer `tag`'s namespace (layout.PEERS) on container `name`'s link; return its name."""
    peer = layout.peer_netns(name, tag)
    if not exists(peer):
        _attach(peer, slot.peer_veth(tag), slot.bridge, slot.peer_ip(tag))
    return peer


def add_stranger(name: str, slot: layout.Slot) -> str:
    """Create (once) the stranger namespace on the container's link; return its name.

    The stranger is neither the host nor the container: a client there is untrusted by any
    rule that trusts loopback, the host's address or the server's own address.
    """
    return add_peer(name, slot, "x")


def remove_peer(name: str, slot: layout.Slot, tag: str) -> None:
    """Remove peer `tag`'s namespace and veth; silent if already gone."""
    if exists(layout.peer_netns(name, tag)):
        run(["ip", "netns", "delete", layout.peer_netns(name, tag)], check=False)
    if link_exists(slot.peer_veth(tag)):
        run(["ip", "link", "delete", slot.peer_veth(tag)], check=False)


def remove(name: str, slot: layout.Slot) -> None:
    """Remove the namespaces and links of container `name` and its peers; silent about parts already gone."""
    for tag in layout.PEERS:
        remove_peer(name, slot, tag)
    if exists(name):
        run(["ip", "netns", "delete", name], check=False)
    for link in (slot.host_veth, slot.bridge):
        if link_exists(link):
            run(["ip", "link", "delete", link], check=False)


def list_ours() -> tuple[list[str], list[str]]:
    """Return (namespaces, links) on the host whose names belong to the harness."""
    names = sorted(p.name for p in Path("/run/netns").glob(layout.NETNS_PREFIX + "*")) \
        if Path("/run/netns").is_dir() else []
    links = sorted(p.name for p in Path("/sys/class/net").iterdir()
                   if p.name.startswith(layout.LINK_PREFIXES))
    return names, links
