"""Several domains: two hosted domains deliver to each other; an alias domain delivers to its target."""
import uuid

import pytest

from tests.integration.helpers import fetch_message_by_id, make_mailbox, smtp_client

PASSWORD = "domains-pass-1"


@pytest.fixture(scope="module")
def two_domains(stack):
    for domain in ("first.test", "second.test"):
        result = stack.facteur("domain", "add", domain)
        assert result.returncode == 0, result.stderr
    make_mailbox(stack, "ann@first.test", PASSWORD)
    make_mailbox(stack, "ben@second.test", PASSWORD)
    return "ann@first.test", "ben@second.test"


def send(stack, login, sender, rcpt):
    mid = f"<{uuid.uuid4().hex}@test.facteur>"
    body = f"From: {sender}\r\nTo: {rcpt}\r\nSubject: cross\r\nMessage-ID: {mid}\r\n\r\nhi\r\n".encode()
    with smtp_client(stack, 587) as smtp:
        smtp.login(login, PASSWORD)
        assert smtp.sendmail(sender, [rcpt], body) == {}
    return mid


def test_domains_deliver_to_each_other(stack, two_domains):
    ann, ben = two_domains
    assert fetch_message_by_id(stack, ben, PASSWORD, send(stack, ann, ann, ben), timeout=30)
    assert fetch_message_by_id(stack, ann, PASSWORD, send(stack, ben, ben, ann), timeout=30)


def test_new_domain_is_usable_at_once(stack):
    """A domain added by the CLI accepts mail immediately (no stale lookup table)."""
    assert stack.facteur("domain", "add", "instant.test").returncode == 0
    make_mailbox(stack, "now@instant.test", PASSWORD)
    mid = send(stack, "now@instant.test", "now@instant.test", "now@instant.test")
    assert fetch_message_by_id(stack, "now@instant.test", PASSWORD, mid, timeout=30)


def test_alias_domain_delivers_to_target(stack, two_domains):
    ann, _ = two_domains
    result = stack.facteur("alias-domain", "add", "first-alias.test", "first.test")
    assert result.returncode == 0, result.stderr
    mid = f"<{uuid.uuid4().hex}@test.facteur>"
    with smtp_client(stack, 25) as smtp:
        assert smtp.sendmail("someone@outside.test", ["ann@first-alias.test"],
                             f"Subject: alias domain\r\nMessage-ID: {mid}\r\n\r\nx\r\n".encode()) == {}
    assert fetch_message_by_id(stack, ann, PASSWORD, mid, timeout=30)


def test_unknown_recipient_is_refused_at_rcpt(stack, two_domains):
    with smtp_client(stack, 25) as smtp:
        smtp.mail("someone@outside.test")
        code, reply = smtp.rcpt("nobody-here@first.test")
    assert code == 550
    assert b"5.1.1" in reply
