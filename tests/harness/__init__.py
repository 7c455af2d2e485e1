"""Test harness for facteur: throwaway Debian containers (systemd-nspawn over a cached root filesystem),
their private networks, the apt proxy and the wheelhouse they install from.

Modules, one job each:

- ``paths``      where the harness keeps its caches, state and artifacts
- ``log``        progress lines on the real terminal (pytest captures the rest)
- ``proc``       running host commands, waiting for processes, mounts
- ``machines``   the table of test machines (trixie, bookworm, trixie-noinit) and their addresses
- ``rootfs``     the cached minimal Debian root filesystem of a release
- ``aptproxy``   apt-cacher-ng on the host, the containers' only way to Debian's packages
- ``wheelhouse`` the pinned wheels for the container's Python, for an offline ``./facteur install``
- ``netns``      bridge + namespaces: the container's and a "stranger" client's
- ``container``  boot, exec into, stop a container; keep/reuse for fast iteration
- ``install``    run ``./facteur install`` inside and keep its log
- ``stack``      the object the integration tests receive (addresses, TLS, CLI, stranger)
- ``cleanup``    remove every leftover the harness made (all names start with ``fct``)
- ``sysctlguard`` snapshot of the host's kernel settings, to prove the tests changed none

``python -m tests.harness --help`` gives the command line (shell, install, stop, cleanup, status).
"""
