"""Roundcube in a real browser: a user turns the out-of-office reply on in Settings > Out of Office
(the managesieve plugin writes a Sieve script); a message sent to them over SMTP gets the reply,
marked as automatic and pointing back at the message it answers."""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.utils import make_msgid

from tests.integration.browser.pages import Roundcube
from tests.integration.helpers import make_mailbox, smtp_client


def test_vacation_reply_set_in_roundcube_arrives(stack, browser):
    tag = secrets.token_hex(4)
    away, asker = f"away-{tag}@example.test", f"asker-{tag}@example.test"
    away_pw, asker_pw = "Away-" + secrets.token_urlsafe(12), "Asker-" + secrets.token_urlsafe(12)
    make_mailbox(stack, away, away_pw)
    make_mailbox(stack, asker, asker_pw)

    rc = Roundcube(browser)
    rc.login(away, away_pw)
    confirmation = rc.set_vacation(f"Away {tag}", "I am away until Monday.\n", screenshot=True)
    rc.logout()
    assert "saved" in confirmation.lower(), confirmation

    message = EmailMessage()
    message["From"] = asker
    message["To"] = away
    message["Subject"] = f"Question {tag}"
    message["Message-ID"] = msgid = make_msgid(domain="example.test")
    message.set_content("Are you there?\n")
    with smtp_client(stack, 587) as smtp:
        smtp.login(asker, asker_pw)
        smtp.send_message(message)

    reply = stack.wait_for_message(asker, asker_pw, lambda m: f"Away {tag}" in (m["Subject"] or ""),
                                   timeout=90)
    assert away in reply["From"]
    assert (reply["Auto-Submitted"] or "").startswith("auto-replied")
    assert msgid in (reply["In-Reply-To"] or "")
    assert "away until Monday" in reply.get_body(("plain",)).get_content()
