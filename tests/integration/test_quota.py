"""Quota: mail that would not fit is refused at RCPT time (552), never accepted and bounced later."""
import uuid

from tests.integration.helpers import fetch_message_by_id, make_mailbox, smtp_client

PASSWORD = "quota-pass-1"


def test_over_quota_is_refused_at_rcpt(stack):
    small, roomy = "small@example.test", "roomy@example.test"
    make_mailbox(stack, small, PASSWORD, quota="1M")
    make_mailbox(stack, roomy, PASSWORD)
    with smtp_client(stack, 25) as smtp:
        smtp.ehlo()
        assert smtp.mail("someone@outside.test", ["SIZE=2000000"])[0] == 250
        code, reply = smtp.rcpt(small)
        assert code == 552, reply
        assert smtp.rcpt(roomy)[0] == 250  # the same message fits elsewhere
        smtp.rset()
        # A small message still fits the small mailbox.
        mid = f"<{uuid.uuid4().hex}@test.facteur>"
        assert smtp.sendmail("someone@outside.test", [small],
                             f"Subject: fits\r\nMessage-ID: {mid}\r\n\r\nok\r\n".encode()) == {}
    assert fetch_message_by_id(stack, small, PASSWORD, mid, timeout=30)


def test_full_mailbox_refuses_further_mail(stack):
    full = "full@example.test"
    make_mailbox(stack, full, PASSWORD, quota="1M")
    filler = b"x" * 76 + b"\r\n"
    body = b"Subject: filler\r\n\r\n" + filler * (1_000_000 // len(filler))
    with smtp_client(stack, 25) as smtp:
        assert smtp.sendmail("someone@outside.test", [full], body) == {}
    # Once the filler is stored, the mailbox is (almost) full: a further 100 KB is refused at RCPT.
    def refused():
        with smtp_client(stack, 25) as smtp:
            smtp.ehlo()
            smtp.mail("someone@outside.test", ["SIZE=100000"])
            return smtp.rcpt(full)[0] == 552
    from tests.integration.helpers import wait_until
    assert wait_until(refused, timeout=30, interval=1)
