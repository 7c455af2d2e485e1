"""Where the harness keeps things, and the fixed facts about each test machine.

Every path and address used by the harness comes from here, so that cleanup can find
everything that a crashed session may have left behind.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

#: The checkout under test (bind-mounted read-only into every container).
REPO = Path(__file__).resolve().parents[2]

#: Long-lived caches: base root filesystems, wheelhouses, the test venv.
CACHE_DIR = Path(os.environ.get("FACTEUR_TEST_CACHE", "/var/cache/facteur-tests"))

#: Per-run state: overlay layers, container state files, locks, artefacts.
RUN_ROOT = Path(os.environ.get("FACTEUR_TEST_RUN_ROOT", "/var/tmp/facteur-tests"))

#: Install logs, console logs and other files worth reading after a failure.
ARTIFACTS_DIR = Path(os.environ.get("FACTEUR_TEST_ARTIFACTS", str(RUN_ROOT / "artifacts")))

#: Debian's mirror; containers reach it only through the host's apt-cacher-ng.
MIRROR = "http://deb.debian.org/debian"
APT_PROXY_PORT = 3142

#: Every network object the harness creates starts with one of these (cleanup relies on it).
NETNS_PREFIX = "fct-"
LINK_PREFIXES = ("fctbr-", "fcth-", "fcts-")

#: Paths inside the containers.
SRC_IN_CONTAINER = "/opt/facteur-src"
WHEELHOUSE_IN_CONTAINER = "/opt/facteur-wheelhouse"
INSTALL_STAMP_IN_CONTAINER = "/var/lib/facteur-tests/install-ok"
CONTAINER_HOSTNAME = "mail"
CONTAINER_FQDN = "mail.example.test"

#: CPython version of Debian's python3 per release (wheels must match it).
PYTHON_VERSION = {"bookworm": "3.11", "trixie": "3.13"}

#: Fixed /24 per container name: 198.18.N.0/24. Unknown names get a hashed slot in 20..49.
FIXED_SLOTS = {
    "fct-trixie": 10,
    "fct-bookworm": 12,
    "fct-trixie-noinit": 14,
    "fct-bookworm-noinit": 16,
}


@dataclass(frozen=True)
class Slot:
    """The addresses of one container's test link (a host bridge with a /24 on it)."""

    number: int

    @property
    def subnet(self) -> str:
        return f"198.18.{self.number}.0/24"

    @property
    def host_ip(self) -> str:
        return f"198.18.{self.number}.1"

    @property
    def container_ip(self) -> str:
        return f"198.18.{self.number}.2"

    @property
    def stranger_ip(self) -> str:
        return f"198.18.{self.number}.3"

    def address(self, host: int) -> str:
        """198.18.N.`host`: the address of a test's own client on this link (netns.add_client)."""
        return f"198.18.{self.number}.{host}"

    def client_veth(self, host: int | str) -> str:
        """Host end of the veth of client `host` (fcts-N.H: one of the stranger's names, so that
        cleanup finds it and knows its slot)."""
        return f"fcts-{self.number}.{host}"

    @property
    def bridge(self) -> str:
        return f"fctbr-{self.number}"

    @property
    def host_veth(self) -> str:
        return f"fcth-{self.number}"

    @property
    def stranger_veth(self) -> str:
        return f"fcts-{self.number}"


#: FACTEUR_TEST_INSTANCE=1..9 gives a test session its own set of machines (`fct-trixie-i1`, ...)
#: on their own subnets, so that several sessions (developers, helpers) can run side by side.
INSTANCE = os.environ.get("FACTEUR_TEST_INSTANCE", "").strip()
if INSTANCE and not (len(INSTANCE) == 1 and INSTANCE in "123456789"):
    raise ValueError(f"FACTEUR_TEST_INSTANCE must be one digit 1..9, not {INSTANCE!r}")
INSTANCE_SUFFIX = f"-i{INSTANCE}" if INSTANCE else ""


def container_name(release: str, init: bool = True) -> str:
    """Given a release and whether it boots an init system, return the container's name."""
    return f"{NETNS_PREFIX}{release}" + ("" if init else "-noinit") + INSTANCE_SUFFIX


def label(name: str) -> str:
    """Short name used in artefact file names: `fct-trixie-noinit` -> `trixie-noinit`."""
    return name[len(NETNS_PREFIX):] if name.startswith(NETNS_PREFIX) else name


def slot_for(name: str) -> Slot:
    """Return the fixed slot of a known container name (shifted by 100 + 10 x instance for an
    instance's machines), or a stable hashed one in 20..49."""
    base, sep, instance = name.rpartition("-i")
    if sep and instance.isdigit() and base in FIXED_SLOTS:
        return Slot(FIXED_SLOTS[base] + 100 + 10 * int(instance))
    if name in FIXED_SLOTS:
        return Slot(FIXED_SLOTS[name])
    return Slot(20 + zlib.crc32(name.encode()) % 30)


def stranger_netns(name: str) -> str:
    return f"{name}-x"


def client_netns(name: str, host: int | str) -> str:
    """Namespace of a test's own client `host` (198.18.N.host) on container `name`'s link."""
    return f"{name}-c{host}"


def container_of_netns(netns: str) -> str:
    """Given one of the harness's namespace names, return the name of the container it belongs to."""
    base, sep, suffix = netns.rpartition("-")
    if sep and (suffix == "x" or (suffix[:1] == "c" and suffix[1:].isdigit())):
        return base
    return netns


def state_file(name: str) -> Path:
    return RUN_ROOT / f"{name}.json"


def lock_file(name: str) -> Path:
    return RUN_ROOT / f"{name}.lock"


def rootfs_dir(release: str) -> Path:
    return CACHE_DIR / release / "rootfs"


def python_version(release: str) -> str:
    try:
        return PYTHON_VERSION[release]
    except KeyError:
        raise ValueError(f"unknown release {release!r}: expected one of {sorted(PYTHON_VERSION)}") from None


def wheelhouse_dir(release: str, digest: str) -> Path:
    """One wheelhouse per CPython and lock-file digest, so sessions testing different locks never
    swap a wheelhouse from under each other's containers."""
    return CACHE_DIR / f"wheelhouse-cp{python_version(release).replace('.', '')}-{digest[:12]}"
