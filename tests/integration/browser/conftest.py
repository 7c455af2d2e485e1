"""Fixtures for the browser tests: headless Debian Chromium on the installed machine's web UIs.

    browser     session-scoped (one per release): a Browser (tests/harness/browser.py) that reaches
                https://HOSTNAME/ at the machine's address and trusts only its certificate
    ui_accounts session-scoped: a domain and two mailboxes made by the superadmin through
                PostfixAdmin's web UI (flow "a" of the browser tests), reused by the others

Skipped, with the reason, only if Debian's chromium or chromium-driver is not installed
(./tests/run installs both).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from tests.harness import browser as browser_mod
from tests.integration.browser.pages import SUPERADMIN, PostfixAdmin


@pytest.fixture(scope="session")
def browser(stack):
    """One headless Chromium for the whole session on this release's machine."""
    reason = browser_mod.missing()
    if reason:
        pytest.skip(f"browser tests need Debian's Chromium: {reason}")
    spki = browser_mod.server_spki_sha256(stack.hostname, stack.ip, stack.ca_file)
    b = browser_mod.Browser(hostname=stack.hostname, ip=stack.ip, spki=spki,
                            screenshot_prefix=stack.release)
    yield b
    b.close()


@dataclass(frozen=True)
class Account:
    address: str
    password: str


@dataclass(frozen=True)
class UIAccounts:
    domain: str
    first: Account
    second: Account


@pytest.fixture(scope="session")
def ui_accounts(stack, browser) -> UIAccounts:
    """A new domain with two mailboxes, made by the superadmin in PostfixAdmin's web UI."""
    tag = secrets.token_hex(3)
    domain = f"ui-{tag}.test"
    first = Account(f"anna@{domain}", "Anna-" + secrets.token_urlsafe(12))
    second = Account(f"bruno@{domain}", "Bruno-" + secrets.token_urlsafe(12))
    admin = PostfixAdmin(browser)
    admin.login(SUPERADMIN, stack.admin_password, screenshots=True)
    admin.add_domain(domain, screenshots=True)
    admin.add_mailbox(first.address, first.password, name="Anna Example", screenshots=True)
    admin.add_mailbox(second.address, second.password, name="Bruno Example")
    admin.show_mailboxes(domain, screenshot=True)
    admin.logout()
    return UIAccounts(domain, first, second)
