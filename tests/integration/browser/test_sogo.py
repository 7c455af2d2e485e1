"""SOGo's web calendar in the browser: a mailbox made in PostfixAdmin's UI logs in with its mail
password and sees its own calendar (the screenshot is the calendar guide's picture)."""

from __future__ import annotations

import re
import urllib.parse


def test_sogo_web_login_opens_the_users_calendar(stack, browser, ui_accounts):
    account = ui_accounts.first
    browser.forget_session()
    browser.get("/SOGo/")
    browser.visible('input[ng-model="app.creds.username"]', timeout=60)
    browser.fill('input[ng-model="app.creds.username"]', account.address)
    browser.fill("#passwordField", account.password)
    browser.clickable('button[type="submit"][aria-label="Connect"]').click()
    browser.wait(lambda d: "/SOGo/so/" in d.current_url, timeout=60, what="SOGo's main view after login")
    browser.get(f"/SOGo/so/{urllib.parse.quote(account.address)}/Calendar/view")
    browser.text_appears("md-sidenav", re.escape(account.address), timeout=60)
    browser.text_appears("md-sidenav", r"Personal Calendar|Calendrier personnel", timeout=60)
    browser.screenshot("sogo-calendar")


def test_sogo_web_login_refuses_a_wrong_password(stack, browser, ui_accounts):
    browser.forget_session()
    browser.get("/SOGo/")
    browser.visible('input[ng-model="app.creds.username"]', timeout=60)
    browser.fill('input[ng-model="app.creds.username"]', ui_accounts.first.address)
    browser.fill("#passwordField", "not-the-password-1")
    browser.clickable('button[type="submit"][aria-label="Connect"]').click()
    browser.text_appears("body", r"(?i)wrong|incorrect|invalid|failed", timeout=60)
    assert "/SOGo/so/" not in browser.driver.current_url
