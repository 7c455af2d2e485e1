"""Attachments: 50 MiB arrives byte-identical; 60 MiB is refused with 552 during the SMTP dialogue."""
import email
import email.policy
import hashlib
import imaplib
import os
import smtplib
import uuid
from email.message import EmailMessage

import pytest

from tests.integration.helpers import fetch_message_by_id, make_mailbox, smtp_client

PASSWORD = "size-pass-1"
SENDER, RCPT = "big-sender@example.test", "big-rcpt@example.test"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def accounts(stack):
    make_mailbox(stack, SENDER, PASSWORD)
    make_mailbox(stack, RCPT, PASSWORD)


def with_attachment(size):
    payload = os.urandom(size)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SENDER, RCPT, f"{size // MIB} MiB"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@test.facteur>"
    msg.set_content("attached")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename="blob.bin")
    return msg, hashlib.sha256(payload).hexdigest()


def test_50_mib_attachment_arrives_identical(stack, accounts):
    msg, digest = with_attachment(50 * MIB)
    with smtp_client(stack, 587, timeout=300) as smtp:
        smtp.login(SENDER, PASSWORD)
        assert smtp.send_message(msg) == {}
    assert fetch_message_by_id(stack, RCPT, PASSWORD, msg["Message-ID"], timeout=120)
    imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=120)
    try:
        imap.login(RCPT, PASSWORD)
        imap.select("INBOX", readonly=True)
        _, found = imap.search(None, "HEADER", "Message-ID", msg["Message-ID"])
        _, data = imap.fetch(found[0].split()[0], "(BODY.PEEK[])")
    finally:
        imap.logout()
    received = email.message_from_bytes(data[0][1], policy=email.policy.default)
    attachment = next(received.iter_attachments())
    assert hashlib.sha256(attachment.get_content()).hexdigest() == digest


def test_60_mib_declared_size_refused_with_552(stack, accounts):
    msg, _ = with_attachment(60 * MIB)
    with smtp_client(stack, 587, timeout=300) as smtp:
        smtp.login(SENDER, PASSWORD)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.send_message(msg)  # smtplib declares SIZE=, Postfix refuses at MAIL FROM
    assert refused.value.smtp_code == 552


def test_60_mib_undeclared_refused_with_552_after_data(stack, accounts):
    msg, _ = with_attachment(60 * MIB)
    raw = msg.as_bytes().replace(b"\n", b"\r\n")
    with smtp_client(stack, 587, timeout=300) as smtp:
        smtp.login(SENDER, PASSWORD)
        assert smtp.mail(SENDER)[0] == 250  # no SIZE parameter
        assert smtp.rcpt(RCPT)[0] == 250
        code, _ = smtp.data(raw)
    assert code == 552
