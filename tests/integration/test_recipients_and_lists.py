"""Many recipients: one message to 20 mailboxes; a 20-member list; the 21st member is refused."""
import imaplib
import time
import uuid

import pytest

from tests.integration.helpers import fetch_message_by_id, make_mailbox, smtp_client

PASSWORD = "lists-pass-1"
DOMAIN = "example.test"


@pytest.fixture(scope="module")
def members(stack):
    addrs = [f"member{i:02d}@{DOMAIN}" for i in range(1, 22)]
    for addr in addrs:
        make_mailbox(stack, addr, PASSWORD)
    return addrs


def count_by_id(stack, user, mid):
    """How many copies of `mid` the user's INBOX holds, once at least one has arrived."""
    assert fetch_message_by_id(stack, user, PASSWORD, mid, timeout=30) is not None, user
    time.sleep(0.5)  # a duplicate, if any, would be delivered in the same queue run
    imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
    try:
        imap.login(user, PASSWORD)
        imap.select("INBOX", readonly=True)
        _, data = imap.search(None, "HEADER", "Message-ID", mid)
        return len(data[0].split())
    finally:
        imap.logout()


def test_one_message_to_twenty_recipients(stack, members):
    sender, rcpts = members[0], members[1:21]
    assert len(rcpts) == 20
    mid = f"<{uuid.uuid4().hex}@test.facteur>"
    body = f"From: {sender}\r\nSubject: twenty\r\nMessage-ID: {mid}\r\n\r\nhello all\r\n".encode()
    with smtp_client(stack, 587) as smtp:
        smtp.login(sender, PASSWORD)
        assert smtp.sendmail(sender, rcpts, body) == {}
    for rcpt in rcpts:
        assert count_by_id(stack, rcpt, mid) == 1, rcpt


def test_twenty_member_list_reaches_each_member_once(stack, members):
    listaddr = f"team@{DOMAIN}"
    first20 = members[:20]
    args = ["list", "add", listaddr]
    for member in first20:
        args += ["--member", member]
    result = stack.facteur(*args)
    assert result.returncode == 0, result.stderr
    mid = f"<{uuid.uuid4().hex}@test.facteur>"
    with smtp_client(stack, 25) as smtp:
        # One member is also named directly: Postfix must still deliver one copy only.
        assert smtp.sendmail("someone@outside.test", [listaddr, first20[0]],
                             f"Subject: list\r\nMessage-ID: {mid}\r\n\r\nto the team\r\n".encode()) == {}
    for member in first20:
        assert count_by_id(stack, member, mid) == 1, member


def test_twenty_first_member_is_refused_and_list_unchanged(stack, members):
    listaddr = f"team@{DOMAIN}"
    before = stack.facteur("list", "show", listaddr, "--json")
    assert before.returncode == 0, before.stderr
    result = stack.facteur("list", "add-member", listaddr, members[20])
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "20" in lines[0]
    after = stack.facteur("list", "show", listaddr, "--json")
    assert after.stdout == before.stdout


def test_list_created_over_the_cap_is_refused(stack, members):
    args = ["list", "add", f"toobig@{DOMAIN}"]
    for member in members:  # 21 members
        args += ["--member", member]
    result = stack.facteur(*args)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert stack.facteur("list", "show", f"toobig@{DOMAIN}").returncode != 0


def test_recipients_beyond_the_limit_are_deferred(stack, members):
    """limits.max_recipients (50 by default) caps one submitted message; the excess gets a 4xx."""
    sender = members[0]
    with smtp_client(stack, 587) as smtp:
        smtp.login(sender, PASSWORD)
        assert smtp.mail(sender)[0] == 250
        codes = [smtp.rcpt(f"member{i % 21 + 1:02d}+r{i}@{DOMAIN}")[0] for i in range(51)]
        smtp.rset()
    assert codes[:50] == [250] * 50
    assert codes[50] == 452
