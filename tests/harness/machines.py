"""The test machines: one name per container, each with its own /24 in 198.18.0.0/15.

=============== ======== ===== ======================= =====================
name            release  init  container / stranger    namespaces
=============== ======== ===== ======================= =====================
trixie          trixie   yes   198.18.10.2 / .3        fct-trixie, fct-trixie-x
bookworm        bookworm yes   198.18.12.2 / .3        fct-bookworm, fct-bookworm-x
trixie-noinit   trixie   no    198.18.14.2 / .3        fct-trixie-noinit, fct-trixie-noinit-x
=============== ======== ===== ======================= =====================

The host side of each network is the bridge ``fctbr-N`` at 198.18.N.1 (also where the apt proxy answers).
"""
from __future__ import annotations

from dataclasses import dataclass

from .proc import HarnessError

#: Debian release -> (Debian version, the Python that release ships)
RELEASES = {
    "bookworm": ("12", "3.11"),
    "trixie": ("13", "3.13"),
}

HOSTNAME = "mail"
DOMAIN = "example.test"
FQDN = f"{HOSTNAME}.{DOMAIN}"


@dataclass(frozen=True)
class Machine:
    name: str
    release: str
    init: bool
    net: int

    @property
    def python_version(self) -> str:
        return RELEASES[self.release][1]

    @property
    def debian_version(self) -> str:
        return RELEASES[self.release][0]

    @property
    def netns(self) -> str:
        return f"fct-{self.name}"

    @property
    def stranger_netns(self) -> str:
        return f"fct-{self.name}-x"

    @property
    def bridge(self) -> str:
        return f"fctbr-{self.net}"

    @property
    def host_ip(self) -> str:
        return f"198.18.{self.net}.1"

    @property
    def ip(self) -> str:
        return f"198.18.{self.net}.2"

    @property
    def stranger_ip(self) -> str:
        return f"198.18.{self.net}.3"


MACHINES = {m.name: m for m in (
    Machine("trixie", "trixie", True, 10),
    Machine("bookworm", "bookworm", True, 12),
    Machine("trixie-noinit", "trixie", False, 14),
)}


def machine(name: str) -> Machine:
    """The machine called ``name`` (``trixie``, ``bookworm``, ``trixie-noinit``); HarnessError if unknown."""
    try:
        return MACHINES[name]
    except KeyError:
        raise HarnessError(f"unknown test machine {name!r}; known: {', '.join(MACHINES)}") from None


def machine_for(release: str, init: bool = True) -> Machine:
    """The machine for ``release`` with or without an init system."""
    return machine(release if init else f"{release}-noinit")
