"""Web: nginx serves Roundcube at / and PostfixAdmin at /postfixadmin/ over HTTPS only (HTTP
redirects), with HSTS; the superadmin logs in to PostfixAdmin with facteur's generated password and
sees the hosted domain; the postmaster mailbox logs in to Roundcube and sees its inbox.

Plain http.client and ssl from the test host: the connection goes to the machine's address while
SNI, the Host header and the certificate check use its hostname (see docs/web.md).
"""

from __future__ import annotations

import http.client
import imaplib
import json
import re
import secrets
import socket
import ssl
import urllib.parse
from http.cookies import SimpleCookie

import pytest

from tests.integration.helpers import make_mailbox, smtp_client
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

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, body: bytes | None = None
                ) -> tuple[int, http.client.HTTPMessage, str]:
        """Send one request (a form, or a raw `body` with its Content-Type in `headers`); return
        (status, headers, body text). Cookies set by the answer are kept."""
        conn = _HTTPSConnection(self.stack.hostname, self.stack.ip, self.context, timeout=120)
        headers = {"Host": self.stack.hostname, "User-Agent": "facteur-tests", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
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


# --- Roundcube's password plugin, PostfixAdmin's list cap and the upload limits -------------------

def _imap_login_works(stack, user: str, password: str) -> bool:
    imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
    try:
        imap.login(user, password)
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _roundcube_login(stack, user: str, password: str) -> tuple[Browser, str]:
    """Log `user` in to Roundcube; return the browser and the session's request token."""
    browser = Browser(stack)
    _, _, page = browser.request("GET", "/")
    token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
    status, headers, body = browser.request("POST", "/?_task=login", {
        "_task": "login", "_action": "login", "_timezone": "UTC", "_url": "",
        "_user": user, "_pass": password, "_token": token})
    assert status == 302, f"Roundcube login refused for {user} (status {status}): {body[:300]}"
    status, _, page = browser.request("GET", "/?_task=settings&_action=plugin.password")
    assert status == 200, page[:300]
    return browser, re.search(r'"request_token":"([^"]+)"', page).group(1)


def _roundcube_change_password(browser: Browser, token: str, current: str, new: str) -> str:
    """POST the password plugin's form; return the answer's text (Roundcube's message is in it)."""
    status, _, body = browser.request(
        "POST", "/?_task=settings&_action=plugin.password-save",
        {"_task": "settings", "_action": "plugin.password-save", "_token": token,
         "_curpasswd": current, "_newpasswd": new, "_confpasswd": new})
    assert status == 200, body[:300]
    return body


def test_password_plugin_account_may_only_change_passwords(stack):
    grants = stack.exec(["mariadb", "--batch", "--skip-column-names", "-e",
                         "SHOW GRANTS FOR 'roundcube_password'@'localhost'"]).stdout.splitlines()
    assert len(grants) == 2, grants  # USAGE (login only) and the one column grant
    assert grants[0].startswith("GRANT USAGE ON *.* TO `roundcube_password`@`localhost`")
    columns = r"(`password`, `modified`|`modified`, `password`)"
    assert re.match(rf"GRANT SELECT \(`username`\), UPDATE \({columns}\) ON `postfixadmin`\.`mailbox` "
                    r"TO `roundcube_password`@`localhost`$", grants[1]), grants[1]
    # With its own password (from the secrets), it cannot read hashes or touch any other table.
    secret = stack.read_file("/etc/facteur/secrets/mariadb-roundcube-password").strip()
    for sql in ("SELECT password FROM mailbox", "SELECT address FROM alias",
                "UPDATE mailbox SET quota = 1 WHERE username = 'nobody'"):
        result = stack.exec(["mariadb", "-u", "roundcube_password", "postfixadmin", "-e", sql],
                            env={"MYSQL_PWD": secret}, check=False)
        assert result.returncode != 0 and "denied" in result.stderr, (sql, result.stderr)


def test_password_plugin_is_offered_in_roundcube(stack):
    browser, _ = _roundcube_login(stack, ADMIN, stack.admin_password)
    _, _, page = browser.request("GET", "/?_task=settings&_action=plugin.password")
    assert 'name="_curpasswd"' in page and 'name="_newpasswd"' in page and 'name="_confpasswd"' in page


def test_password_changed_in_roundcube_works_for_imap_and_smtp(stack):
    user, old, new = "pwchange@example.test", "old-password-1", "new-password-2"
    make_mailbox(stack, user, old)
    browser, token = _roundcube_login(stack, user, old)

    # The current password is required, and the new one follows the CLI's rule (8 characters).
    _roundcube_change_password(browser, token, "not-the-current", new)
    _roundcube_change_password(browser, token, old, "short1")
    assert _imap_login_works(stack, user, old)

    body = _roundcube_change_password(browser, token, old, new)
    assert "Successfully saved" in body, re.findall(r"display_message\([^)]*\)", body)
    assert _imap_login_works(stack, user, new)
    assert not _imap_login_works(stack, user, old)
    with smtp_client(stack, 587) as smtp:  # Postfix authenticates through Dovecot: same hash
        smtp.login(user, new)
    stored = stack.exec(["mariadb", "--batch", "--skip-column-names", "postfixadmin", "-e",
                         f"SELECT password FROM mailbox WHERE username = '{user}'"]).stdout.strip()
    assert re.fullmatch(r"\{BLF-CRYPT\}\$2y\$10\$[./A-Za-z0-9]{53}", stored), stored


def test_vacation_reply_set_in_roundcube_is_a_sieve_rule(stack):
    """Roundcube's Out of Office page (managesieve_vacation) writes a Sieve `vacation` rule to the
    user's active script through Dovecot's ManageSieve; a mail to the user gets the reply."""
    # A new sender each run: the rule answers one sender once a day.
    user, password = "away@example.test", "away-password-1"
    sender, sender_password = f"asker-{secrets.token_hex(4)}@example.test", "asker-password-1"
    make_mailbox(stack, user, password)
    make_mailbox(stack, sender, sender_password)
    browser, token = _roundcube_login(stack, user, password)
    status, _, page = browser.request("GET", "/?_task=settings&_action=plugin.managesieve-vacation")
    assert status == 200 and 'name="vacation_reason"' in page, page[:500]
    status, _, body = browser.request("POST", "/?_task=settings&_action=plugin.managesieve-vacation", {
        "_token": token, "vacation_status": "on", "vacation_subject": "Away (facteur test)",
        "vacation_reason": "Back on Monday.", "vacation_interval": "1", "vacation_interval_type": "days",
        "vacation_action": "keep"})
    assert status == 200, body[:300]
    script = stack.read_file(f"/var/vmail/example.test/{user.split('@')[0]}/.dovecot.sieve")
    assert "vacation" in script and "Back on Monday." in script, script

    with smtp_client(stack, 587) as smtp:
        smtp.login(sender, sender_password)
        smtp.sendmail(sender, [user], f"From: {sender}\r\nTo: {user}\r\nSubject: are you there\r\n"
                      f"Message-ID: <vacation-{secrets.token_hex(8)}@facteur.test>\r\n\r\nHello\r\n")
    reply = stack.wait_for_message(sender, sender_password,
                                   lambda m: "Away (facteur test)" in str(m.get("Subject", "")))
    assert "Back on Monday." in reply.get_payload(decode=True).decode("utf-8", "replace")


def _postfixadmin_login(stack) -> Browser:
    browser = Browser(stack)
    _, _, page = browser.request("GET", "/postfixadmin/login.php")
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    status, _, body = browser.request("POST", "/postfixadmin/login.php", {
        "fUsername": ADMIN, "fPassword": stack.admin_password, "token": token, "lang": "en",
        "submit": "Login"})
    assert status == 302, body[:300]
    return browser


def _postfixadmin_create_alias(browser: Browser, local: str, destinations: list[str]
                               ) -> tuple[int, str]:
    """Fill and send PostfixAdmin's "Add alias" form as a person would; return (status, page)."""
    _, _, form = browser.request("GET", "/postfixadmin/edit.php?table=alias")
    token = re.search(r'name="token" value="([^"]+)"', form).group(1)
    status, _, body = browser.request("POST", "/postfixadmin/edit.php?table=alias", {
        "table": "alias", "token": token, "value[localpart]": local, "value[domain]": DOMAIN,
        # A browser sends a textarea's lines separated by CRLF.
        "value[goto]": "\r\n".join(destinations), "value[active]": "1", "submit": "Add Alias"})
    return status, body


def _alias_goto(stack, address: str) -> str:
    return stack.exec(["mariadb", "--batch", "--skip-column-names", "postfixadmin", "-e",
                       f"SELECT goto FROM alias WHERE address = '{address}'"]).stdout.strip()


def test_postfixadmin_ui_refuses_an_alias_over_the_list_cap(stack):
    """limits.max_list_members (20): PostfixAdmin's form saves 20 destinations, and refuses 21 with
    a message that says why (the database's triggers refuse the row; PostfixAdmin 3.3 does not
    check $CONF['alias_goto_limit'] itself)."""
    browser = _postfixadmin_login(stack)
    members = [f"member{n}@example.org" for n in range(21)]
    run = secrets.token_hex(4)  # new addresses each run (a kept machine may run this again)

    status, page = _postfixadmin_create_alias(browser, f"cap-too-big-{run}", members)
    assert status == 200, page[:300]  # the form again, not a PHP error page
    assert "an alias may have at most 20 destinations" in page, page[:3000]
    assert _alias_goto(stack, f"cap-too-big-{run}@example.test") == ""

    status, page = _postfixadmin_create_alias(browser, f"cap-ok-{run}", members[:20])
    assert status == 302, page[:3000]  # saved: back to the list
    assert _alias_goto(stack, f"cap-ok-{run}@example.test") == ",".join(members[:20])

    # The CLI applies the same cap (it checks before writing).
    result = stack.facteur("list", "add", f"cap-cli-{run}@example.test",
                           *[arg for member in members for arg in ("--member", member)])
    assert result.returncode != 0 and "20" in result.stderr, result.stderr
    # And so does the database for any other writer, even facteur's own account.
    result = stack.exec(["mariadb", "postfixadmin", "-e",
                         "UPDATE alias SET goto = CONCAT(goto, ',one-more@example.org') "
                         f"WHERE address = 'cap-ok-{run}@example.test'"], check=False)
    assert result.returncode != 0 and "at most 20 destinations" in result.stderr, result.stderr


def test_postfixadmin_password_rule_is_the_cli_rule(stack):
    rule = stack.exec(["php", "-r", "include '/etc/postfixadmin/config.inc.php';"
                       "echo json_encode($CONF['password_validation']);"]).stdout
    assert rule == '{"\\/^.{8,}$\\/su":"password_too_short 8"}', rule


def test_postfixadmin_language_defaults_to_locale(stack):
    """PostfixAdmin's default language is `locale` (the test configuration keeps the demo's `en`):
    a browser that asks for none gets it preselected; one asking for French gets French."""
    language = stack.exec(["php", "-r", "include '/etc/postfixadmin/config.inc.php';"
                           "echo $CONF['default_language'];"]).stdout
    assert language == "en"
    _, _, page = Browser(stack).request("GET", "/postfixadmin/login.php")
    assert re.search(r"<option value=['\"]en['\"][^>]*selected", page), page[:2000]
    status, _, french = Browser(stack).request("GET", "/postfixadmin/login.php",
                                               headers={"Accept-Language": "fr"})
    assert status == 200 and "Mot de passe" in french


# Asks a PHP-FPM pool for a script's output over its FastCGI socket (run inside the machine).
_FASTCGI_GET = r"""
import socket, struct, sys
sock_path, script = sys.argv[1], sys.argv[2]
def record(kind, content):
    return struct.pack("!BBHHBx", 1, kind, 1, len(content), 0) + content
def pair(name, value):
    name, value = name.encode(), value.encode()
    size = lambda n: bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return size(len(name)) + size(len(value)) + name + value
params = {"SCRIPT_FILENAME": script, "SCRIPT_NAME": "/probe.php", "REQUEST_METHOD": "GET",
          "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1"}
conn = socket.socket(socket.AF_UNIX)
conn.connect(sock_path)
conn.sendall(record(1, struct.pack("!HB5x", 1, 0))
             + record(4, b"".join(pair(k, v) for k, v in params.items())) + record(4, b"")
             + record(5, b""))
def exactly(n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise SystemExit("connection closed")
        data += chunk
    return data
out = b""
while True:
    _, kind, _, length, padding = struct.unpack("!BBHHBx", exactly(8))
    content = exactly(length)
    exactly(padding)
    if kind == 6:
        out += content
    if kind == 3:
        break
sys.stdout.write(out.decode().split("\r\n\r\n", 1)[1])
"""


@pytest.mark.parametrize("pool", ["roundcube", "postfixadmin"])
def test_php_upload_limits_as_seen_by_the_pool(stack, pool):
    """One uploaded file up to limits.max_attachment_mb (50 MiB); the whole request (file and form)
    up to nginx's client_max_body_size, which is larger: a 60 MiB file reaches PHP, which refuses
    it, so Roundcube can say why instead of nginx answering 413."""
    probe = "/run/facteur-test-php-limits.php"
    stack.exec(["sh", "-c", f"umask 022; cat > {probe}"], input=(
        "<?php echo json_encode(['upload_max_filesize' => ini_get('upload_max_filesize'), "
        "'post_max_size' => ini_get('post_max_size'), 'display_errors' => ini_get('display_errors')]);"))
    try:
        seen = json.loads(stack.exec(["python3", "-c", _FASTCGI_GET, f"/run/php/{pool}.sock", probe]).stdout)
    finally:
        stack.exec(["rm", "-f", probe])
    assert seen["upload_max_filesize"] == "50M"
    post_max = int(seen["post_max_size"].removesuffix("M"))
    assert post_max > 60
    assert seen["display_errors"] in ("", "0", "Off")
    site = stack.read_file("/etc/nginx/sites-available/facteur.conf")
    assert f"client_max_body_size {post_max}m;" in site


def _roundcube_compose(stack) -> tuple[Browser, str, str]:
    """Log the postmaster in and open a compose window; return (browser, token, compose id)."""
    browser, token = _roundcube_login(stack, ADMIN, stack.admin_password)
    status, headers, page = browser.request("GET", "/?_task=mail&_action=compose")
    assert status == 302, page[:300]  # compose first gets an _id
    compose_id = re.search(r"_id=([0-9a-zA-Z]+)", headers["Location"]).group(1)
    return browser, token, compose_id


def _roundcube_upload(browser: Browser, token: str, compose_id: str, size: int) -> str:
    """Attach a file of `size` bytes to the compose window as Roundcube's page does (XHR); return
    the answer (JSON with the commands the page runs: the new attachment, or an error message)."""
    boundary = "facteur" + secrets.token_hex(8)
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"_attachments[]\"; "
        f"filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".encode(),
        b"\0" * size, f"\r\n--{boundary}--\r\n".encode()])
    status, _, answer = browser.request(
        "POST", f"/?_task=mail&_action=upload&_id={compose_id}&_uploadid=upload{secrets.token_hex(4)}"
        "&_from=compose&_remote=1", body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Roundcube-Request": token})
    assert status == 200, f"status {status}: {answer[:300]}"  # never nginx's 413 page
    return answer


def test_roundcube_takes_a_50_mib_attachment_and_explains_a_60_mib_refusal(stack):
    browser, token, compose_id = _roundcube_compose(stack)
    answer = _roundcube_upload(browser, token, compose_id, 50 * 1024 * 1024)
    assert "add2attachment_list" in answer and "exceeds" not in answer, answer[:500]
    answer = _roundcube_upload(browser, token, compose_id, 60 * 1024 * 1024)
    assert "The uploaded file exceeds the maximum size of 50 MB" in answer, answer[:500]


def test_roundcube_announces_the_attachment_limit(stack):
    browser, _, compose_id = _roundcube_compose(stack)
    status, _, page = browser.request("GET", f"/?_task=mail&_action=compose&_id={compose_id}")
    assert status == 200, page[:300]
    announced = re.findall(r'"max_filesize":(\d+)', page)
    assert announced == [str(50 * 1024 * 1024)], announced
