"""The machine a benchmark measures: a fresh container with the stack installed, or the kept test
container (--reuse), and the command-line options that choose between them."""
from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

from tests.harness.container import Container
from tests.harness.install import run_install


class InstallFailed(Exception):
    """The fresh container's `facteur install` failed; the message names its log."""


def add_machine_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --release and --reuse, the options every benchmark shares."""
    parser.add_argument("--release", default="trixie", choices=["trixie", "bookworm"])
    parser.add_argument("--reuse", action="store_true",
                        help="measure the kept, installed test container of FACTEUR_TEST_INSTANCE "
                             "instead of a fresh one")


@contextlib.contextmanager
def installed_machine(args: argparse.Namespace, name: str) -> Iterator[Container]:
    """Yield the machine to measure: with args.reuse the kept test container as it is (left
    running as found), otherwise a fresh container called `name`, installed here (its install
    time printed) and removed afterwards. Raises InstallFailed if that install fails."""
    if args.reuse:
        container = Container(args.release, keep=True, reuse=True)
        container.start()
        try:
            yield container
        finally:
            container.stop()
        return
    with Container(args.release, keep=False, reuse=False, name=name) as container:
        started = time.monotonic()
        first = run_install(container)
        if first.returncode != 0:
            raise InstallFailed(f"install failed, see {first.logfile}")
        print(f"install ({args.release}): fresh {time.monotonic() - started:.0f} s")
        yield container
