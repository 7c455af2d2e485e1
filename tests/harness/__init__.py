"""facteur's integration test harness: throw-away Debian 12/13 machines in systemd-nspawn.

Modules, one job each:
    layout     paths, names and addresses (198.18.N.0/24 per container)
    rootfs     cached debootstrap base trees
    aptproxy   the host's apt-cacher-ng, the containers' only way to Debian's mirror
    wheelhouse pinned wheels for the containers' CPython (tools/download-wheels)
    netns      network namespaces: container, host bridge, "stranger"
    mounts     overlay mounts and their removal
    container  Container: boot, exec, read files, stop
    install    run `./facteur install` inside, keep the log as an artefact
    clients    TLS-verified mail clients and wait-until-ready helpers
    cleanup    remove whatever a crashed session left behind
Command line: python -m tests.harness {shell,start,install,exec,list,stop,cleanup} (see --help).
"""

from .container import Container, ContainerError, ExecError  # noqa: F401
