"""Small helpers shared by the integration tests (mailboxes, SMTP sessions, waiting for mail)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import jinja2

from facteur.config.schema import StubZone
from tests.harness.clients import SMTP
from tests.harness.stack import Stack
from tests.harness.waits import wait_for_message, wait_for_port, wait_until  # noqa: F401 - re-exported


def make_mailbox(stack: Stack, address: str, password: str, quota: str | None = None) -> None:
    """Make sure `address` exists with `password` (and `quota` if given), through the facteur CLI.

    An existing mailbox gets the password (and quota) set again, so tests may share addresses.
    Raises AssertionError with the CLI's output if a command fails.
    """
    args = ["mailbox", "add", address, "--password-stdin"]
    if quota is not None:
        args += ["--quota", quota]
    result = stack.facteur(*args, input=password + "\n")
    if result.returncode != 0 and "already exists" in result.stderr:
        result = stack.facteur("mailbox", "passwd", address, "--password-stdin", input=password + "\n")
        if result.returncode == 0 and quota is not None:
            result = stack.facteur("mailbox", "quota", address, quota)
    assert result.returncode == 0, f"facteur {' '.join(args)}: {result.stdout}{result.stderr}"


@contextlib.contextmanager
def smtp_client(stack: Stack, port: int, timeout: float = 30) -> Iterator[SMTP]:
    """An SMTP session to the machine: implicit TLS on 465, STARTTLS on 25 and 587.

    The certificate is verified against the machine's CA and hostname. Ready for login()/mail().
    """
    if port == 465:
        smtp = stack.smtp_ssl(port, timeout=timeout)
    else:
        smtp = stack.smtp(port, timeout=timeout)
        smtp.starttls()
    try:
        smtp.ehlo()
        yield smtp
    finally:
        try:
            smtp.quit()
        except Exception:  # noqa: BLE001 - the server may already have closed the session
            smtp.close()


def fetch_message_by_id(stack: Stack, user: str, password: str, message_id: str,
                        timeout: float = 30, mailbox: str = "INBOX") -> EmailMessage:
    """Wait until `user`'s `mailbox` holds the message with this Message-ID; return it.

    Raises TimeoutError if it has not arrived within `timeout` seconds.
    """
    wanted = message_id.strip()
    return stack.wait_for_message(user, password, lambda m: (m["Message-ID"] or "").strip() == wanted,
                                  timeout=timeout, mailbox=mailbox)


UNBOUND_STUB_TEMPLATE = (Path(__file__).resolve().parents[2] / "src/facteur/ansible/roles/unbound/templates"
                         / "etc/unbound/unbound.conf.d/facteur-stub-zones.conf.j2")
TEST_STUB_CONF = "/etc/unbound/unbound.conf.d/zz-test-stub.conf"


def unbound_stub_zones(zones: list[dict]) -> str:
    """Return the unbound snippet the unbound role writes for network.dns_stub_zones = `zones`
    ([{zone, servers, trust_anchor}]): validated by the schema and rendered from the role's own
    template as an install would."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    template = env.from_string(UNBOUND_STUB_TEMPLATE.read_text())
    stubs = [StubZone.model_validate(zone).model_dump() for zone in zones]
    return template.render(ansible_managed="written by facteur's tests", unbound__stub_zones=stubs)


@contextlib.contextmanager
def stub_zones(stack: Stack, zones: list[dict]) -> Iterator[None]:
    """Point the machine's unbound at given servers for `zones` ([{zone, servers, trust_anchor}]) as
    network.dns_stub_zones would, without a re-install; removed (and unbound restarted) afterwards."""
    stack.exec(["sh", "-c", 'cat > "$1"', "sh", TEST_STUB_CONF], input=unbound_stub_zones(zones))
    stack.exec(["service", "unbound", "restart"])
    try:
        yield
    finally:
        stack.exec(["rm", "-f", TEST_STUB_CONF])
        stack.exec(["service", "unbound", "restart"])
