"""PostfixAdmin in a real browser: the superadmin logs in, makes a domain and two mailboxes through
the web forms (the `ui_accounts` fixture, flow "a" of the web issue); they exist for the CLI and work
over IMAP at once. A wrong password gets PostfixAdmin's error, not the main page."""

from __future__ import annotations

import imaplib
import secrets

import pytest

from tests.integration.browser.pages import SUPERADMIN, PostfixAdmin


def test_domain_and_mailboxes_made_in_the_ui_are_listed_by_the_cli(stack, ui_accounts):
    listed = stack.facteur("mailbox", "list")
    assert listed.returncode == 0, listed.stderr
    assert ui_accounts.first.address in listed.stdout
    assert ui_accounts.second.address in listed.stdout
    domains = stack.facteur("domain", "list")
    assert domains.returncode == 0, domains.stderr
    assert ui_accounts.domain in domains.stdout


@pytest.mark.parametrize("which", ["first", "second"])
def test_mailbox_made_in_the_ui_logs_in_over_imap(stack, ui_accounts, which):
    account = getattr(ui_accounts, which)
    imap = stack.imap(account.address, account.password)
    try:
        typ, _ = imap.select("INBOX", readonly=True)
        assert typ == "OK"
    finally:
        imap.logout()
    with pytest.raises(imaplib.IMAP4.error):
        stack.imap(account.address, account.password + "-wrong")


def test_wrong_superadmin_password_gets_the_login_error(stack, browser):
    error = PostfixAdmin(browser).login_error(SUPERADMIN, "not-" + secrets.token_urlsafe(10))
    assert "not correct" in error, error
    assert "login.php" in browser.driver.current_url
