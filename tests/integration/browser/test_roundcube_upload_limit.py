"""Roundcube in a real browser: a 60 MiB attachment, above limits.max_attachment_mb (50), gets
Roundcube's own size message in the compose window, which stays usable; it is not uploaded, and no
blank or error page replaces the window."""

from __future__ import annotations

import secrets

from tests.integration.browser.pages import Roundcube
from tests.integration.helpers import make_mailbox


def test_60_mib_upload_gets_roundcubes_size_message(stack, browser, tmp_path):
    user = f"big-{secrets.token_hex(4)}@example.test"
    password = "Big-" + secrets.token_urlsafe(12)
    make_mailbox(stack, user, password)
    too_big = tmp_path / "too-big.bin"
    with too_big.open("wb") as out:
        out.truncate(60 * 1024 * 1024)  # the size matters, not the bytes

    rc = Roundcube(browser)
    rc.login(user, password)
    rc.open_compose()
    message = rc.upload_error(too_big)
    browser.screenshot("roundcube-size-error")
    assert "exceeds the maximum size of 50 MB" in message, message
    assert browser.visible("#compose-subject").is_enabled()  # still the compose window
    assert not [li for li in browser.all("#attachment-list li") if too_big.name in li.text]
    rc.logout()
