"""Small helpers shared by the integration tests (mailboxes, SMTP sessions, waiting for mail)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from email.message import EmailMessage

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
