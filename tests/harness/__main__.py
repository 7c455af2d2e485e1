"""Command line for working with test containers by hand.

    python -m tests.harness shell trixie             # start (or attach to) fct-trixie and open a shell
    python -m tests.harness shell bookworm --install # ... after running ./facteur install once
    python -m tests.harness start trixie-noinit      # start and keep, no shell
    python -m tests.harness exec trixie -- postconf -n
    python -m tests.harness install trixie           # run ./facteur install again (log in artifacts)
    python -m tests.harness list                     # kept containers
    python -m tests.harness stop trixie
    python -m tests.harness cleanup                  # remove every leftover

Containers started here are kept running (like FACTEUR_TEST_KEEP=1), so that a test session with
FACTEUR_TEST_REUSE=1 can attach to them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from . import cleanup, install, layout, log, procs
from .container import Container


def _container(spec: str) -> Container:
    label = spec.removeprefix(layout.NETNS_PREFIX).removesuffix(layout.INSTANCE_SUFFIX or "\0")
    init = not label.endswith("-noinit")
    release = label.removesuffix("-noinit")
    return Container(release, init=init, keep=True, reuse=True)


def _up(spec: str, do_install: bool) -> Container:
    c = _container(spec)
    c.start()
    if do_install:
        install.ensure_installed(c)
    return c


def cmd_shell(args) -> int:
    c = _up(args.container, args.install)
    env = {"TERM": os.environ.get("TERM", "xterm"), "PS1": f"[{c.name}] \\w\\$ "}
    code = subprocess.call(c.nsenter_argv(["bash", "--norc", "-i"], env=env, cwd="/root"))
    c.stop()  # keep=True: leaves it running, releases the lock
    return code


def cmd_start(args) -> int:
    c = _up(args.container, args.install)
    print(json.dumps(json.loads(layout.state_file(c.name).read_text()), indent=1))
    c.stop()
    return 0


def cmd_install(args) -> int:
    c = _container(args.container)
    c.start()
    try:
        return install.run_install(c).returncode
    finally:
        c.stop()


def cmd_exec(args) -> int:
    c = _container(args.container)
    c.start()
    try:
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        cp = c.exec(argv, check=False, timeout=None)
        sys.stdout.write(cp.stdout)
        sys.stderr.write(cp.stderr)
        return cp.returncode
    finally:
        c.stop()


def cmd_list(args) -> int:
    for path in sorted(layout.RUN_ROOT.glob(layout.NETNS_PREFIX + "*.json")):
        try:
            state = json.loads(path.read_text())
        except ValueError:
            continue
        up = procs.alive(state.get("pid1"), state.get("pid1_start"))
        print(f"{state['name']:22} {state['ip']:14} {'up' if up else 'DEAD':5} {state['status']:9} "
              f"{state['run_dir']}")
    return 0


def cmd_stop(args) -> int:
    c = _container(args.container)
    c.keep = False
    if c.attach():
        c.stop()  # orderly poweroff, then mounts, namespaces and files go
        log.info(f"{c.name}: stopped")
        return 0
    for line in cleanup.remove_container(c.name):
        log.info(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    if os.geteuid() != 0:
        print("tests.harness: run as root (containers, mounts and namespaces need it)", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(prog="python -m tests.harness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    spec_help = "trixie, bookworm, trixie-noinit, bookworm-noinit"
    for name, func, helptext in (("shell", cmd_shell, "start or attach, then open a shell inside"),
                                 ("start", cmd_start, "start or attach and keep running")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("container", help=spec_help)
        p.add_argument("--install", action="store_true", help="run ./facteur install first unless done")
        p.set_defaults(func=func)
    p = sub.add_parser("install", help="run ./facteur install in a (kept) container")
    p.add_argument("container", help=spec_help)
    p.set_defaults(func=cmd_install)
    p = sub.add_parser("exec", help="run a command in a (kept) container")
    p.add_argument("container", help=spec_help)
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_exec)
    sub.add_parser("list", help="list kept containers").set_defaults(func=cmd_list)
    p = sub.add_parser("stop", help="stop and remove one container")
    p.add_argument("container", help=spec_help)
    p.set_defaults(func=cmd_stop)
    sub.add_parser("cleanup", help="remove every leftover container, mount, namespace and link").set_defaults(
        func=lambda args: cleanup.main())
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
