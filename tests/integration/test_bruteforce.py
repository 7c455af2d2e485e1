"""Brute-force protection: fail2ban bans an address after 5 failed logins to SMTP AUTH (587/465), IMAP,
Roundcube or PostfixAdmin, refuses its next connections on that service's ports, leaves other
addresses alone, lists it in `fail2ban-client status`, and lifts the ban after `security.ban_time`.

The failing client is a network namespace of this file's own (198.18.N.90 on the machine's link),
never the host (which the test configuration exempts, see tests/harness/testconfig.py) nor the
stranger that other files use: a ban here cannot decide another test. Every test unbans it at the
end. The clients are the host's own (smtplib, imaplib, http.client) run in a thread that entered
the namespace (tests.harness.netns.call_in).
"""

from __future__ import annotations

import base64
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.harness import netns
from tests.harness.waits import wait_until
from tests.integration.test_web import Browser

CLIENT_HOST = 90  # 198.18.N.90
FAILURES = 5  # security.max_retry's default (the test configuration keeps it)
USER = "postmaster@example.test"
WRONG = "not-the-password"


# --------------------------------------------------------------------------- one failed login each
# Exactly one authentication attempt per connection: smtplib's login() would try PLAIN then LOGIN
# (two failures), so the SMTP probe sends AUTH PLAIN itself.


def smtp_fail(stack, attempt: int = 0) -> None:
    port = (587, 465)[attempt % 2]  # both submission ports count
    smtp = stack.smtp_ssl(port) if port == 465 else stack.smtp(port)
    try:
        if port != 465:
            smtp.starttls()
        smtp.ehlo()
        token = base64.b64encode(f"\0{USER}\0{WRONG}".encode()).decode()
        code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
        assert code == 535, f"AUTH with a wrong password answered {code} {reply!r}"
    finally:
        smtp.close()


def smtp_works(stack, port: int = 587) -> bool:
    smtp = stack.smtp_ssl(port) if port == 465 else stack.smtp(port)
    try:
        return smtp.ehlo()[0] == 250
    finally:
        smtp.close()


def imap_fail(stack, attempt: int = 0) -> None:
    imap = stack.imap()
    try:
        with pytest.raises(imap.error):
            imap.login(USER, WRONG)
    finally:
        imap.logout()  # Dovecot logs the failure when the connection ends


def imap_works(stack) -> bool:
    imap = stack.imap()
    try:
        return imap.welcome.startswith(b"* OK")
    finally:
        imap.logout()


# Each attempt spells the login URL differently (the same page for the application): none escapes
# the count, since nginx logs its normalised path for fail2ban.
ROUNDCUBE_URLS = ["/?_task=login", "/", "/index.php?_task=login", "//?_task=login", "/%69ndex.php"]
POSTFIXADMIN_URLS = ["/postfixadmin/login.php", "/postfixadmin//login.php", "/postfixadmin/%6cogin.php",
                     "/postfixadmin/./login.php", "/postfixadmin/users/login.php"]


def roundcube_fail(stack, attempt: int = 0) -> None:
    browser = Browser(stack)  # a new session each time, as a password-guessing script would
    _, _, page = browser.request("GET", "/")
    token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
    url = ROUNDCUBE_URLS[attempt % len(ROUNDCUBE_URLS)]
    status, _, body = browser.request("POST", url, {
        "_task": "login", "_action": "login", "_timezone": "UTC", "_url": "",
        "_user": USER, "_pass": WRONG, "_token": token})
    assert status == 401, f"Roundcube answered {status} to a wrong password at {url}: {body[:300]}"


def roundcube_works(stack) -> bool:
    status, _, body = Browser(stack).request("GET", "/")
    return status == 200 and 'name="_user"' in body


def postfixadmin_fail(stack, attempt: int = 0) -> None:
    browser = Browser(stack)
    url = POSTFIXADMIN_URLS[attempt % len(POSTFIXADMIN_URLS)]
    page_url = "/postfixadmin/users/login.php" if "/users/" in url else "/postfixadmin/login.php"
    _, _, page = browser.request("GET", page_url)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    status, _, body = browser.request("POST", url, {"fUsername": USER, "fPassword": WRONG, "token": token})
    assert status == 200 and 'name="fPassword"' in body, \
        f"PostfixAdmin answered {status} at {url}: {body[:300]}"


def postfixadmin_works(stack) -> bool:
    status, _, body = Browser(stack).request("GET", "/postfixadmin/login.php")
    return status == 200 and 'name="fPassword"' in body


@dataclass(frozen=True)
class Service:
    jail: str
    ports: tuple[int, ...]  # refused to a banned address
    fail: Callable  # one failed login: fail(stack, attempt number)
    works: Callable  # a client at another address is served


SERVICES = {
    "smtp-auth": Service("facteur-postfix-sasl", (587, 465), smtp_fail, smtp_works),
    "imap": Service("facteur-dovecot", (993, 143, 110, 995, 4190), imap_fail, imap_works),
    "roundcube": Service("facteur-roundcube", (443, 80), roundcube_fail, roundcube_works),
    "postfixadmin": Service("facteur-postfixadmin", (443, 80), postfixadmin_fail, postfixadmin_works),
}


# ------------------------------------------------------------------------------------------ helpers


def banned(stack, jail: str) -> list[str]:
    """Return the addresses `fail2ban-client status JAIL` lists as banned."""
    out = stack.exec(["fail2ban-client", "status", jail]).stdout
    match = re.search(r"Banned IP list:\s*(.*)$", out, re.M)
    assert match, f"unexpected `fail2ban-client status {jail}` output:\n{out}"
    return match.group(1).split()


def refused(ip: str, port: int) -> bool:
    """Return True if a TCP connection to ip:port is refused (fail2ban's nftables rule rejects it)."""
    try:
        with socket.create_connection((ip, port), timeout=10):
            return False
    except ConnectionRefusedError:
        return True


def unban(stack, address: str) -> None:
    stack.exec(["fail2ban-client", "unban", address], check=False)


@pytest.fixture
def client(stack):
    """This file's own client namespace on the machine's link: (namespace, address); unbanned and
    removed at the end."""
    container = stack.container
    name, address = netns.add_client(container.netns, container.slot, CLIENT_HOST)
    unban(stack, address)  # a leftover ban from an interrupted run
    yield name, address
    unban(stack, address)
    netns.remove_client(container.netns, container.slot, CLIENT_HOST)


def fail_until_banned(stack, client_ns: str, address: str, service: Service) -> float:
    """Make FAILURES failed logins from the client; return when the jail lists the address (the
    time.monotonic() of the ban). Fails if the address was banned before the last failure."""
    for attempt in range(1, FAILURES + 1):
        assert address not in banned(stack, service.jail), f"banned after {attempt - 1} failures"
        netns.call_in(client_ns, service.fail, stack, attempt)
    wait_until(lambda: address in banned(stack, service.jail), timeout=30,
               what=f"{address} banned by {service.jail}")
    banned_at = time.monotonic()
    # The jail lists the address a moment before its action has added it to the nftables set.
    wait_until(lambda: netns.call_in(client_ns, refused, stack.ip, service.ports[0]), timeout=10,
               what=f"{address} refused on port {service.ports[0]}")
    return banned_at


# ------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_five_failed_logins_ban_the_address(stack, client, name):
    service = SERVICES[name]
    client_ns, address = client
    fail_until_banned(stack, client_ns, address, service)

    for port in service.ports:
        assert netns.call_in(client_ns, refused, stack.ip, port), f"{address} still served on port {port}"
    # Another address (the stranger, not exempt) is still served, on the same ports.
    assert netns.call_in(stack.container.stranger_netns(), service.works, stack)
    assert service.works(stack)  # and the host
    # Only that service's ports: a banned webmail guesser may still fetch its mail over IMAP, say.
    other = 143 if service.jail != "facteur-dovecot" else 587
    assert not netns.call_in(client_ns, refused, stack.ip, other)

    assert address in banned(stack, service.jail)  # `fail2ban-client status JAIL` still lists it

    unban(stack, address)
    wait_until(lambda: netns.call_in(client_ns, service.works, stack), timeout=20,
               what=f"{address} served again after `fail2ban-client unban`")


def test_ban_is_lifted_after_ban_time(stack, client):
    service = SERVICES["smtp-auth"]
    client_ns, address = client
    ban_time = int(stack.exec(["fail2ban-client", "get", service.jail, "bantime"]).stdout.strip())
    assert ban_time <= 120, f"the test configuration should set a short ban_time, not {ban_time} s"
    banned_at = fail_until_banned(stack, client_ns, address, service)

    time.sleep(ban_time / 2)
    assert address in banned(stack, service.jail)
    assert netns.call_in(client_ns, refused, stack.ip, 587)

    wait_until(lambda: address not in banned(stack, service.jail), timeout=ban_time + 30,
               what=f"ban of {address} lifted")
    lifted_after = time.monotonic() - banned_at
    assert lifted_after >= ban_time - 5, f"lifted after {lifted_after:.0f} s, ban_time is {ban_time} s"
    assert wait_until(lambda: netns.call_in(client_ns, smtp_works, stack), timeout=10,
                      what=f"{address} served on 587 again")


def test_the_filters_take_the_address_the_server_logged(stack):
    """A user name is the client's own text: one that imitates a log line must not get another
    address banned. fail2ban-regex (fail2ban's own matcher) reads crafted lines in both log formats."""
    when = "[29/Nov/2026:02:54:06 +0000]"
    lines = {
        "facteur-dovecot": [
            # 2.4 (journal) and 2.3 (log_path file, with "Info: ") wordings.
            "Nov 29 02:53:34 mail dovecot[18730]: imap-login: Login aborted: Connection closed (auth failed, "
            "1 attempts in 2 secs) (auth_failed): user=<a>, method=PLAIN, rip=192.0.2.66, lip=10.0.0.1, "
            "TLS, session=<x>, method=PLAIN, rip=198.51.100.1, lip=198.18.1.2, TLS: Connection closed, "
            "session=<y>",
            "Nov 29 02:53:34 pop3-login: Info: Disconnected (auth failed, 3 attempts in 12 secs): "
            "user=<b>, method=PLAIN, rip=198.51.100.2, lip=198.18.1.2, TLS, session=<z>",
            "Nov 29 02:53:34 imap-login: Info: Disconnected (no auth attempts in 0 secs): user=<>, "
            "rip=192.0.2.67, lip=198.18.1.2, TLS, session=<w>",
        ],
        "facteur-postfix-sasl": [
            "Nov 29 02:53:02 mail postfix/submission/smtpd[1]: warning: unknown[198.51.100.3]: SASL PLAIN "
            "authentication failed: (reason unavailable), sasl_username=x[192.0.2.68]",
            "Nov 29 02:53:02 mail postfix/smtps/smtpd[1]: warning: host.example[2001:db8::4]: SASL LOGIN "
            "authentication failed: UGFzc3dvcmQ6",
            "Nov 29 02:53:02 mail postfix/smtpd[1]: warning: unknown[192.0.2.69]: SASL LOGIN authentication "
            "failed: port 25 offers no AUTH; not a submission port",
        ],
        # The nginx role's log of POSTs: address, date, status, method, normalised path (last).
        "facteur-roundcube": [
            f"198.51.100.5 {when} 401 POST /index.php",
            f"192.0.2.70 {when} 302 POST /index.php",
            f"192.0.2.71 {when} 404 POST /x 401 POST /index.php",
        ],
        "facteur-postfixadmin": [
            f"198.51.100.6 {when} 200 POST /postfixadmin/login.php",
            f"198.51.100.7 {when} 200 POST /postfixadmin/users/login.php",
            f"192.0.2.72 {when} 302 POST /postfixadmin/login.php",
            f"192.0.2.73 {when} 404 POST /x 200 POST /postfixadmin/login.php",
            f"192.0.2.74 {when} 200 POST /postfixadmin/edit.php",
        ],
    }
    expected = {
        "facteur-dovecot": ["198.51.100.1", "198.51.100.2"],
        "facteur-postfix-sasl": ["198.51.100.3", "2001:db8::4"],
        "facteur-roundcube": ["198.51.100.5"],
        "facteur-postfixadmin": ["198.51.100.6", "198.51.100.7"],
    }
    for jail, sample in lines.items():
        path = f"/tmp/facteur-tests-{jail}.log"
        stack.exec(["sh", "-c", 'cat > "$1"', "sh", path], input="\n".join(sample) + "\n")
        result = stack.exec(["fail2ban-regex", "--out", "ip", path, f"/etc/fail2ban/filter.d/{jail}.conf"])
        assert result.stdout.split() == expected[jail], f"{jail}:\n{result.stdout}{result.stderr}"


def test_fail2ban_runs_with_facteurs_jails(stack):
    status = stack.exec(["fail2ban-client", "status"]).stdout
    for service in SERVICES.values():
        assert service.jail in status, status
    ignore = stack.exec(["fail2ban-client", "get", "facteur-dovecot", "ignoreip"]).stdout
    assert stack.host_ip in ignore and "127.0.0.0/8" in ignore, ignore
    result = stack.facteur("status")
    assert re.search(r"^\S*\s*fail2ban\b.*running", result.stdout, re.M | re.I), result.stdout


def test_without_init_bans_from_the_log_files(noinit_stack):
    """No systemd: fail2ban runs from its init script and reads /var/log/mail.log and
    /var/log/dovecot.log (Postfix's maillog_file, Dovecot's log_path)."""
    stack = noinit_stack
    result = stack.exec(["service", "fail2ban", "status"], check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    container = stack.container
    client_ns, address = netns.add_client(container.netns, container.slot, CLIENT_HOST)
    try:
        for name in ("smtp-auth", "imap"):
            service = SERVICES[name]
            fail_until_banned(stack, client_ns, address, service)
            assert netns.call_in(client_ns, refused, stack.ip, service.ports[0])
    finally:
        unban(stack, address)
        netns.remove_client(container.netns, container.slot, CLIENT_HOST)
