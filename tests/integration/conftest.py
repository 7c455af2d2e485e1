"""Fixtures for the integration tests: one freshly installed container per Debian release.

    stack          session-scoped, parametrized over FACTEUR_TEST_RELEASES (default "trixie,bookworm"):
                   a container booted with systemd, `./facteur install` run once, wrapped in a Stack
    container      the same container before/without the install (harness tests use it directly)
    noinit_stack   trixie (FACTEUR_TEST_NOINIT_RELEASE) without an init system, installed; only for
                   tests marked `noinit` (deselect them with -m "not noinit")

The install failing fails every test that uses `stack`, with the last 40 lines of its output and
the path of the full log. See docs/testing.md for keeping containers between runs.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.harness import install, layout, log, sysctlguard
from tests.harness.container import Container
from tests.harness.stack import Stack
from tests.harness.waits import wait_for_message, wait_for_port, wait_until  # noqa: F401 - re-exported


def _releases() -> list[str]:
    raw = os.environ.get("FACTEUR_TEST_RELEASES", "trixie,bookworm")
    releases = [r.strip() for r in raw.split(",") if r.strip()]
    unknown = [r for r in releases if r not in layout.PYTHON_VERSION]
    if unknown:
        raise pytest.UsageError(f"FACTEUR_TEST_RELEASES: unknown release(s) {unknown}; "
                                f"known: {sorted(layout.PYTHON_VERSION)}")
    return releases


RELEASES = _releases()
NOINIT_RELEASE = os.environ.get("FACTEUR_TEST_NOINIT_RELEASE", "trixie")


def pytest_configure(config):
    config.addinivalue_line("markers", "harness: proves the test harness itself (containers, no install)")
    config.addinivalue_line("markers", "noinit: runs on a machine without an init system")

    def sink(line: str) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        if capman is None:
            print(line, file=sys.stderr, flush=True)
            return
        with capman.global_and_fixture_disabled():
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    log.set_sink(sink)


def pytest_collection_modifyitems(config, items):
    """Tests that use the no-init machine carry the `noinit` marker, so `-m "not noinit"` skips them."""
    for item in items:
        if {"noinit_stack", "noinit_container"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.noinit)


@pytest.fixture(scope="session")
def _host_guard():
    """Snapshot the host's sysctls; after the last container is gone, fail if any changed."""
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (containers, mounts, network namespaces)")
    before = sysctlguard.snapshot()
    yield
    changed = sysctlguard.diff(before, sysctlguard.snapshot())
    if changed:
        pytest.fail("host kernel settings changed during the tests:\n" + "\n".join(changed), pytrace=False)


def _boot(release: str, init: bool) -> Container:
    container = Container(release, init=init)
    try:
        container.start()
    except Exception as exc:  # noqa: BLE001 - reported as the fixture's failure, without a traceback
        pytest.fail(f"cannot start the {release} test container ({'systemd' if init else 'no init'}):\n{exc}",
                    pytrace=False)
    return container


def _install(container: Container) -> Stack:
    try:
        install.ensure_installed(container)
    except install.InstallFailed as exc:
        pytest.fail(str(exc), pytrace=False)
    return Stack(container)


@pytest.fixture(scope="session", params=RELEASES)
def container(request, _host_guard):
    """A booted container (systemd as PID 1) of one release, not installed yet."""
    c = _boot(request.param, init=True)
    yield c
    c.stop()


@pytest.fixture(scope="session")
def stack(container):
    """The container of one release with `./facteur install` done (once per session)."""
    s = _install(container)
    yield s
    s.close()


@pytest.fixture(scope="session")
def noinit_container(_host_guard):
    """A container without an init system (PID 1 is nspawn's stub), not installed yet."""
    c = _boot(NOINIT_RELEASE, init=False)
    yield c
    c.stop()


@pytest.fixture(scope="session")
def noinit_stack(noinit_container):
    """The no-init container with `./facteur install` done; for tests marked `noinit`."""
    s = _install(noinit_container)
    yield s
    s.close()
