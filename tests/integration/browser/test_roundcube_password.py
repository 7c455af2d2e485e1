"""Roundcube in a real browser: a user changes their password in Settings > Password (the password
plugin); the new password works for IMAP, SMTP and Roundcube's own login at once, the old one no
longer does."""

from __future__ import annotations

import imaplib
import secrets
import smtplib

import pytest

from tests.integration.browser.pages import Roundcube
from tests.integration.helpers import make_mailbox, smtp_client


def test_password_changed_in_roundcube_works_for_imap_and_smtp(stack, browser):
    user = f"changer-{secrets.token_hex(4)}@example.test"
    old, new = "Old-" + secrets.token_urlsafe(12), "New-" + secrets.token_urlsafe(16)
    make_mailbox(stack, user, old)

    rc = Roundcube(browser)
    rc.login(user, old)
    confirmation = rc.change_password(old, new, screenshot=True)
    rc.logout()
    assert "saved" in confirmation.lower(), confirmation

    imap = stack.imap(user, new)
    try:
        assert imap.select("INBOX", readonly=True)[0] == "OK"
    finally:
        imap.logout()
    with pytest.raises(imaplib.IMAP4.error):
        stack.imap(user, old)

    with smtp_client(stack, 587) as smtp:
        smtp.login(user, new)
    with smtp_client(stack, 587) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login(user, old)

    rc.login(user, new)  # raises unless the message list appears
    rc.logout()
