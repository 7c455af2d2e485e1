"""Web: nginx serves Roundcube at / and PostfixAdmin at /postfixadmin/ over HTTPS only (HTTP
redirects), with HSTS; the superadmin logs in to PostfixAdmin with facteur's generated password and
sees the hosted domain; the postmaster mailbox logs in to Roundcube and sees its inbox.

Plain http.client and ssl from the test host: the connection goes to the machine's address while
SNI, the Host header and the certificate check use its hostname (see docs/web.md).
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import urllib.parse
from http.cookies import SimpleCookie

import pytest

from tests.integration.test_tls import old_tls_client_works, old_tls_context  # noqa: F401 - fixture

ADMIN = "postmaster@example.test"
DOMAIN = "example.test"


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `ip`, with SNI and certificate check against `host` (the machine's hostname)."""

    def __init__(self, host: str, ip: str, context: ssl.SSLContext, timeout: float = 30):
        super().__init__(host, 443, context=context, timeout=timeout)
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Browser:
    """Just enough of a browser for PostfixAdmin: one HTTPS connection per request, cookies kept."""

    def __init__(self, stack):
        self.stack = stack
        self.context = ssl.create_default_context(cafile=stack.ca_file)  # checks chain and name
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, http.client.HTTPMessage, str]:
        """Send one request; return (status, headers, body text). Cookies set by the answer are kept."""
        conn = _HTTPSConnection(self.stack.hostname, self.stack.ip, self.context)
        headers = {"Host": self.stack.hostname, "User-Agent": "facteur-tests"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers, text
        finally:
            conn.close()


def _plain_http_get(stack, path: str) -> http.client.HTTPResponse:
    """GET `path` over plain HTTP (port 80) with the machine's hostname; return the read response."""
    conn = http.client.HTTPConnection(stack.ip, 80, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": stack.hostname})
        response = conn.getresponse()
        response.read()
        return response
    finally:
        conn.close()


def test_http_redirects_to_https(stack):
    response = _plain_http_get(stack, "/postfixadmin/login.php")
    assert response.status == 301
    assert response.headers["Location"] == f"https://{stack.hostname}/postfixadmin/login.php"


def test_acme_challenge_path_stays_on_http(stack):
    response = _plain_http_get(stack, "/.well-known/acme-challenge/missing")
    assert response.status == 404  # served (nothing there yet), not redirected


def test_postfixadmin_login_page_over_https_with_hsts(stack):
    status, headers, body = Browser(stack).request("GET", "/postfixadmin/login.php")
    assert status == 200, body[:500]
    assert 'name="fUsername"' in body and 'name="fPassword"' in body
    assert re.search(r'name="token" value="[0-9a-f]{32}"', body)
    hsts = headers.get("Strict-Transport-Security", "")
    assert re.match(r"max-age=(\d+)", hsts) and int(re.match(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get_all("X-Frame-Options") == ["SAMEORIGIN"]
    assert "X-Powered-By" not in headers


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLSv1", "TLSv1.1"])
def test_old_tls_versions_are_refused_on_443(stack, old_tls_client_works, version):  # noqa: F811 - fixture
    with socket.create_connection((stack.ip, 443), timeout=20) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with old_tls_context(version).wrap_socket(raw, server_hostname=stack.hostname):
                pass


def test_superadmin_logs_in_and_sees_the_domain(stack):
    browser = Browser(stack)
    status, _, page = browser.request("GET", "/postfixadmin/login.php")
    assert status == 200
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    lang = re.search(r'<option value="([a-z_-]+)"[^>]*selected', page)
    form = {"fUsername": ADMIN, "fPassword": stack.admin_password, "token": token, "submit": "Login"}
    if lang:
        form["lang"] = lang.group(1)

    status, headers, body = browser.request("POST", "/postfixadmin/login.php", form)
    assert status == 302, f"login refused (status {status}): {body[:500]}"
    assert headers["Location"].endswith("main.php")

    status, _, domains = browser.request("GET", "/postfixadmin/list.php?table=domain")
    assert status == 200
    assert DOMAIN in domains
    assert ADMIN in domains  # the logged-in admin's name in the menu


def test_wrong_password_is_refused(stack):
    browser = Browser(stack)
    _, _, page = browser.request("GET", "/postfixadmin/login.php")
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    status, _, body = browser.request("POST", "/postfixadmin/login.php",
                                      {"fUsername": ADMIN, "fPassword": "not-the-password", "token": token})
    assert status == 200  # the form again, with an error; no redirect to main.php
    assert 'name="fPassword"' in body


def test_roundcube_login_page_at_the_root(stack):
    status, headers, body = Browser(stack).request("GET", "/")
    assert status == 200, body[:500]
    assert 'name="_user"' in body and 'name="_pass"' in body
    assert headers.get("Strict-Transport-Security", "").startswith("max-age=")
    assert headers.get_all("X-Frame-Options") == ["SAMEORIGIN"]


def test_roundcube_php_files_other_than_the_entry_point_are_not_served(stack):
    status, _, _ = Browser(stack).request("GET", "/plugins/managesieve/config.inc.php")
    assert status == 404


def test_mailbox_logs_in_to_roundcube_and_sees_its_inbox(stack):
    """The postmaster mailbox (same password as the superadmin) logs in: Roundcube reached Dovecot
    over IMAPS with the certificate checked."""
    browser = Browser(stack)
    _, _, page = browser.request("GET", "/")
    token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
    status, headers, body = browser.request("POST", "/?_task=login", {
        "_task": "login", "_action": "login", "_timezone": "UTC", "_url": "",
        "_user": ADMIN, "_pass": stack.admin_password, "_token": token})
    assert status == 302, f"login refused (status {status}): {body[:500]}"
    assert "_task=mail" in headers["Location"]
    status, _, inbox = browser.request("GET", "/?_task=mail&_mbox=INBOX")
    assert status == 200
    assert re.search(r"<title>[^<]*Inbox", inbox), inbox[:500]
