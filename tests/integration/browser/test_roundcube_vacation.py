"""Roundcube in a real browser: the second mailbox made in PostfixAdmin's UI turns the out-of-office
reply on in Settings > Out of Office (the managesieve plugin writes a Sieve script); a message the
first mailbox sends it over SMTP gets the reply, marked as automatic and pointing back at the message
it answers."""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.utils import make_msgid

from tests.integration.browser.pages import Roundcube
from tests.integration.helpers import smtp_client


def test_vacation_reply_set_in_roundcube_arrives(stack, browser, ui_accounts):
    tag = secrets.token_hex(4)
    asker, away = ui_accounts.first, ui_accounts.second

    rc = Roundcube(browser)
    rc.login(away.address, away.password)
    confirmation = rc.set_vacation(f"Away {tag}", "I am away until Monday.\n", screenshot=True)
    rc.logout()
    assert "saved" in confirmation.lower(), confirmation

    message = EmailMessage()
    message["From"] = asker.address
    message["To"] = away.address
    message["Subject"] = f"Question {tag}"
    message["Message-ID"] = msgid = make_msgid(domain=ui_accounts.domain)
    message.set_content("Are you there?\n")
    with smtp_client(stack, 587) as smtp:
        smtp.login(asker.address, asker.password)
        smtp.send_message(message)

    reply = stack.wait_for_message(asker.address, asker.password,
                                   lambda m: f"Away {tag}" in (m["Subject"] or ""), timeout=90)
    assert away.address in reply["From"]
    assert (reply["Auto-Submitted"] or "").startswith("auto-replied")
    assert msgid in (reply["In-Reply-To"] or "")
    assert "away until Monday" in reply.get_body(("plain",)).get_content()
