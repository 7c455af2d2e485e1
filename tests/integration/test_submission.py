"""Submission: 587 (STARTTLS, then AUTH) and 465 (implicit TLS); port 25 never offers AUTH."""
import smtplib
import uuid

import pytest

from tests.integration.helpers import fetch_message_by_id, make_mailbox, smtp_client

PASSWORD = "submission-pass-1"


@pytest.fixture(scope="module")
def users(stack):
    domain = "example.test"
    sender, rcpt = f"sub-a@{domain}", f"sub-b@{domain}"
    for addr in (sender, rcpt):
        make_mailbox(stack, addr, PASSWORD)
    return sender, rcpt


def message(sender, rcpt, subject):
    mid = f"<{uuid.uuid4().hex}@test.facteur>"
    body = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n\r\n"
            f"{subject}\r\n").encode()
    return mid, body


@pytest.mark.parametrize("port", [587, 465])
def test_authenticated_submission_is_delivered(stack, users, port):
    sender, rcpt = users
    mid, body = message(sender, rcpt, f"via {port}")
    with smtp_client(stack, port) as smtp:
        smtp.login(sender, PASSWORD)
        assert smtp.sendmail(sender, [rcpt], body) == {}
    assert fetch_message_by_id(stack, rcpt, PASSWORD, mid, timeout=30) is not None


def test_587_offers_no_auth_before_starttls(stack):
    smtp = smtplib.SMTP(stack.ip, 587, local_hostname="client.test", timeout=20)
    try:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")
        code, _ = smtp.docmd("AUTH", "PLAIN AHN1Yi1hQGV4YW1wbGUudGVzdABzdWJtaXNzaW9uLXBhc3MtMQ==")
        assert code >= 500
    finally:
        smtp.close()


def test_587_refuses_mail_without_auth(stack, users):
    sender, rcpt = users
    with smtp_client(stack, 587) as smtp:
        smtp.mail(sender)
        code, _ = smtp.rcpt(rcpt)
        assert code >= 500


def test_25_never_offers_auth(stack):
    smtp = smtplib.SMTP(stack.ip, 25, local_hostname="client.test", timeout=20)
    try:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        smtp._host = stack.hostname
        smtp.starttls(context=stack.ssl_context())
        smtp.ehlo()
        assert not smtp.has_extn("auth"), "AUTH must not be offered on the MX port, even with TLS"
    finally:
        smtp.close()


@pytest.mark.parametrize("port", [587, 465])
def test_wrong_password_is_refused(stack, users, port):
    sender, _ = users
    with smtp_client(stack, port) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(sender, "not-the-password")
