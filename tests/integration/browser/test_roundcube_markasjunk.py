"""Roundcube's Spam button (markasjunk): the open message moves into Junk, and rspamd learns it as
spam through Dovecot's IMAPSieve, as for a move made by any other mail program."""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.utils import make_msgid

from tests.integration.browser.pages import Roundcube
from tests.integration.helpers import smtp_client, wait_until
from tests.integration.test_filtering import mailbox_has
from tests.integration.test_learning import COUNTER_DELAY, learned


def test_spam_button_moves_the_message_into_junk_and_rspamd_learns_it(stack, browser, ui_accounts):
    sender, user = ui_accounts.first, ui_accounts.second
    tag = secrets.token_hex(4)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender.address, user.address, f"Offer {tag}"
    message["Message-ID"] = message_id = make_msgid(domain=ui_accounts.domain)
    # Long enough for rspamd to learn (it skips messages of fewer than 11 words), unique per run.
    message.set_content(f"Hello,\n\nreference {tag}: our catalogue of garden furniture is out, with "
                        "tables, benches and parasols at prices you will not find anywhere else "
                        "this season, delivered to your door within the week.\n")
    with smtp_client(stack, 587) as smtp:
        smtp.login(sender.address, sender.password)
        smtp.send_message(message)
    wait_until(lambda: mailbox_has(stack, user.address, user.password, message_id, "INBOX"), timeout=90,
               what="the message in INBOX")
    before = learned(stack)

    rc = Roundcube(browser)
    rc.login(user.address, user.password)
    rc.open_message(f"Offer {tag}")
    browser.clickable("a.junk").click()
    wait_until(lambda: mailbox_has(stack, user.address, user.password, message_id, "Junk"), timeout=60,
               what="the message in Junk after the Spam button")
    rc.logout()
    assert not mailbox_has(stack, user.address, user.password, message_id, "INBOX")
    wait_until(lambda: learned(stack)["spam"] > before["spam"], timeout=COUNTER_DELAY,
               what="rspamd's spam learn counter to grow")
