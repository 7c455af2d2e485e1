"""Roundcube in a real browser: the first mailbox made in PostfixAdmin's UI sends the second a message
with a 50 MiB attachment (random bytes, uploaded through the compose window's file input); it arrives
intact, a copy is in Sent, and the second reads it in Roundcube and downloads the attachment through
the browser, byte for byte the same (sha256)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.browser.pages import Roundcube

SIZE = 50 * 1024 * 1024  # limits.max_attachment_mb of the demo configuration


@dataclass(frozen=True)
class Attachment:
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Sent:
    subject: str


@pytest.fixture(scope="module")
def attachment(tmp_path_factory) -> Attachment:
    path = tmp_path_factory.mktemp("attachment") / f"figures-{secrets.token_hex(3)}.bin"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(SIZE // (1 << 20)):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            out.write(chunk)
    return Attachment(path, SIZE, digest.hexdigest())


@pytest.fixture(scope="module")
def sent(browser, ui_accounts, attachment) -> Sent:
    """The first mailbox sends the second the attachment from Roundcube's compose window."""
    subject = f"Figures {secrets.token_hex(4)}"
    rc = Roundcube(browser)
    rc.login(ui_accounts.first.address, ui_accounts.first.password, screenshots=True)
    rc.send_message(ui_accounts.second.address, subject, "The figures are attached.\n",
                    attachment=attachment.path, screenshots=True)
    rc.logout()
    return Sent(subject)


def _attachment_digests(message) -> dict[str, str]:
    return {part.get_filename(): hashlib.sha256(part.get_content()).hexdigest()
            for part in message.iter_attachments()}


def test_message_arrives_with_the_attachment_intact(stack, ui_accounts, sent, attachment):
    second = ui_accounts.second
    message = stack.wait_for_message(second.address, second.password,
                                     lambda m: m["Subject"] == sent.subject, timeout=120)
    assert ui_accounts.first.address in message["From"]
    assert _attachment_digests(message) == {attachment.path.name: attachment.sha256}


def test_a_copy_is_saved_in_sent(stack, ui_accounts, sent, attachment):
    first = ui_accounts.first
    copy = stack.wait_for_message(first.address, first.password,
                                  lambda m: m["Subject"] == sent.subject, timeout=60, mailbox="Sent")
    assert _attachment_digests(copy) == {attachment.path.name: attachment.sha256}


def test_recipient_downloads_the_attachment_byte_identical(stack, browser, ui_accounts, sent, attachment):
    second = ui_accounts.second
    stack.wait_for_message(second.address, second.password,
                           lambda m: m["Subject"] == sent.subject, timeout=120)
    rc = Roundcube(browser)
    rc.login(second.address, second.password)
    rc.open_message(sent.subject, screenshot=True)
    downloaded = rc.download_attachment(attachment.path.name, attachment.size)
    try:
        digest = hashlib.sha256(downloaded.read_bytes()).hexdigest()
    finally:
        downloaded.unlink()
        rc.logout()
    assert digest == attachment.sha256
