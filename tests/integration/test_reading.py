"""Reading mail: IMAP 143 (STARTTLS) and 993, POP3 110 (STLS) and 995; special-use folders."""
import imaplib
import poplib
import uuid

import pytest

from tests.integration.helpers import fetch_message_by_id, make_mailbox, smtp_client

PASSWORD = "reading-pass-1"
USER = "reader@example.test"


@pytest.fixture(scope="module")
def delivered(stack):
    make_mailbox(stack, USER, PASSWORD)
    mid = f"<{uuid.uuid4().hex}@test.facteur>"
    body = f"From: {USER}\r\nTo: {USER}\r\nSubject: read me\r\nMessage-ID: {mid}\r\n\r\nhello\r\n"
    with smtp_client(stack, 587) as smtp:
        smtp.login(USER, PASSWORD)
        smtp.sendmail(USER, [USER], body.encode())
    assert fetch_message_by_id(stack, USER, PASSWORD, mid, timeout=30) is not None
    return mid


def test_imap_143_disables_login_before_starttls(stack, delivered):
    imap = imaplib.IMAP4(stack.ip, 143, timeout=20)
    try:
        assert "LOGINDISABLED" in imap.capabilities
        assert "STARTTLS" in imap.capabilities
        imap.starttls(ssl_context=stack.ssl_context())
        imap.login(USER, PASSWORD)
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK" and int(data[0]) >= 1
    finally:
        imap.shutdown()


def test_imap_993(stack, delivered):
    imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
    try:
        imap.login(USER, PASSWORD)
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "HEADER", "Message-ID", delivered)
        assert typ == "OK" and data[0].split()
    finally:
        imap.logout()


def test_special_use_folders_exist_and_are_subscribed(stack, delivered):
    imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
    try:
        imap.login(USER, PASSWORD)
        typ, subscribed = imap.lsub()
        assert typ == "OK"
        names = b" ".join(subscribed)
        typ, listed = imap.list()
        flags = b" ".join(listed)
        for folder, flag in [("Drafts", b"\\Drafts"), ("Sent", b"\\Sent"), ("Trash", b"\\Trash"),
                             ("Junk", b"\\Junk"), ("Archive", b"\\Archive")]:
            assert folder.encode() in names, f"{folder} not subscribed"
            assert flag in flags, f"{flag!r} special-use flag missing"
    finally:
        imap.logout()


def test_pop3_110_needs_stls_before_login(stack, delivered):
    pop = poplib.POP3(stack.ip, 110, timeout=20)
    try:
        caps = pop.capa()
        assert "STLS" in caps
        with pytest.raises(poplib.error_proto):
            pop.user(USER)
            pop.pass_(PASSWORD)
    finally:
        pop.close()
    pop = poplib.POP3(stack.ip, 110, timeout=20)
    try:
        pop.stls(context=stack.ssl_context())
        pop.user(USER)
        pop.pass_(PASSWORD)
        count, _ = pop.stat()
        assert count >= 1
    finally:
        pop.quit()


def test_pop3_995(stack, delivered):
    pop = poplib.POP3_SSL(stack.ip, 995, context=stack.ssl_context(), timeout=20)
    try:
        pop.user(USER)
        pop.pass_(PASSWORD)
        count, _ = pop.stat()
        assert count >= 1
    finally:
        pop.quit()


def test_imap_wrong_password_is_refused(stack, delivered):
    imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(USER, "wrong-password")
    finally:
        imap.shutdown()
