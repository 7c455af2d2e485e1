"""A burst of parallel deliveries to one mailbox is delivered at once, not deferred for minutes.

Postfix opens up to 20 LMTP connections; Dovecot must accept that many for a single user, or the
excess gets "451 Too many concurrent deliveries" and sits in the deferred queue (first retry after
five minutes). The 30 s bound below is far shorter than that retry.
"""
import concurrent.futures
import imaplib
import uuid

from tests.integration.helpers import make_mailbox, smtp_client, wait_until

USER, PASSWORD = "burst@example.test", "burst-pass-1"
SESSIONS, PER_SESSION = 20, 15


def test_parallel_burst_to_one_mailbox_arrives_at_once(stack):
    make_mailbox(stack, USER, PASSWORD)
    tag = uuid.uuid4().hex

    def session(n):
        with smtp_client(stack, 25) as smtp:
            for i in range(PER_SESSION):
                smtp.sendmail("someone@outside.test", [USER],
                              f"Subject: burst {tag} {n}-{i}\r\n\r\n{'x' * 10000}\r\n".encode())

    with concurrent.futures.ThreadPoolExecutor(SESSIONS) as pool:
        list(pool.map(session, range(SESSIONS)))

    def count():
        imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
        try:
            imap.login(USER, PASSWORD)
            imap.select("INBOX", readonly=True)
            _, data = imap.search(None, "SUBJECT", tag)
            return len(data[0].split())
        finally:
            imap.logout()

    assert wait_until(lambda: count() == SESSIONS * PER_SESSION, timeout=30, interval=1), \
        f"{count()} of {SESSIONS * PER_SESSION} delivered within 30 s"
