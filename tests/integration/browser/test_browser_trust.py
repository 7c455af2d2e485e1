"""The browser tests' own trust rule: Chromium accepts the machine's certificate only because it is
given that certificate's key (checked against the machine's CA first), not because certificate
errors are switched off. Given another key, the same browser gets Chromium's certificate error page
instead of PostfixAdmin."""

from __future__ import annotations

import base64
import hashlib

from tests.harness import browser as browser_mod


def test_the_pinned_key_is_the_servers_and_verified_by_the_ca(stack, browser):
    pin = browser_mod.server_spki_sha256(stack.hostname, stack.ip, stack.ca_file)
    assert len(base64.b64decode(pin)) == 32
    browser.get("/postfixadmin/login.php")
    browser.visible("#fUsername")


def test_another_key_gets_the_certificate_error_page(stack, browser):  # browser: skips without Chromium
    wrong_pin = base64.b64encode(hashlib.sha256(b"not the server's key").digest()).decode()
    with browser_mod.Browser(hostname=stack.hostname, ip=stack.ip, spki=wrong_pin) as other:
        other.get("/postfixadmin/login.php")
        other.wait(lambda d: "ERR_CERT" in d.page_source, what="Chromium's certificate error page")
        assert not other.all("#fUsername")
