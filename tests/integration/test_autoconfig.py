"""Client autoconfiguration: Thunderbird's autoconfig and Outlook's autodiscover (XML and JSON) for
every hosted domain, over HTTPS with a certificate that covers the names clients ask for.

The answers are read the way the clients read them (XML namespaces, JSON), and the IMAP and SMTP
settings they give are then used to log in, as a client configured from them would.
"""

from __future__ import annotations

import http.client
import json
import ssl
import xml.etree.ElementTree as ET

import pytest

from tests.harness import clients
from tests.integration.test_web import _HTTPSConnection

ADMIN = "postmaster@example.test"
SECOND = "second.test"  # not in the certificate: reached with the hostname's SNI, Host header only
REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MOBILESYNC_NS = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"


def https(stack, method: str, path: str, name: str, host_header: str | None = None,
          body: str | None = None) -> tuple[int, http.client.HTTPMessage, str]:
    """One HTTPS request to the machine with SNI and certificate check for `name`."""
    context = ssl.create_default_context(cafile=stack.ca_file)
    conn = _HTTPSConnection(name, stack.ip, context)
    headers = {"Host": host_header or name, "User-Agent": "facteur-tests"}
    if body is not None:
        headers["Content-Type"] = "text/xml"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        conn.close()


def autodiscover_request(address: str, schema: str = OUTLOOK_NS) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{REQUEST_NS}"><Request>'
            f"<EMailAddress>{address}</EMailAddress>"
            f"<AcceptableResponseSchema>{schema}</AcceptableResponseSchema></Request></Autodiscover>")


def thunderbird_servers(text: str) -> dict[tuple[str, str], str]:
    """{(kind, port): socketType} of a config-v1.1.xml, checking the common elements on the way."""
    root = ET.fromstring(text)
    assert root.tag == "clientConfig"
    servers = {}
    for element in root.iter():
        if element.tag in ("incomingServer", "outgoingServer"):
            servers[(element.get("type"), element.findtext("port"))] = element.findtext("socketType")
            assert element.findtext("username") == "%EMAILADDRESS%"
            assert element.findtext("authentication") == "password-cleartext"
    return servers


def test_thunderbird_autoconfig_on_the_autoconfig_name(stack):
    status, headers, text = https(stack, "GET", f"/mail/config-v1.1.xml?emailaddress={ADMIN}",
                                  "autoconfig.example.test")
    assert status == 200 and headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(text)
    assert root.find("emailProvider").get("id") == "example.test"
    assert root.findtext("emailProvider/domain") == "example.test"
    assert {h.text for h in root.iter("hostname")} == {stack.hostname}
    assert thunderbird_servers(text) == {("imap", "993"): "SSL", ("pop3", "995"): "SSL",
                                         ("smtp", "465"): "SSL", ("smtp", "587"): "STARTTLS"}


def test_thunderbird_well_known_path_for_a_second_domain(stack):
    status, _, text = https(stack, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml",
                            stack.hostname, host_header=SECOND)
    assert status == 200
    assert ET.fromstring(text).findtext("emailProvider/domain") == SECOND


def test_plain_http_autoconfig_redirects_to_https_on_the_same_name(stack):
    conn = http.client.HTTPConnection(stack.ip, 80, timeout=30)
    try:
        conn.request("GET", "/mail/config-v1.1.xml", headers={"Host": "autoconfig.example.test"})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 301
    assert response.headers["Location"] == "https://autoconfig.example.test/mail/config-v1.1.xml"


@pytest.mark.parametrize("name, host_header, address", [
    ("autodiscover.example.test", None, ADMIN),
    (None, f"autodiscover.{SECOND}", f"bob@{SECOND}"),
])
def test_outlook_autodiscover_gives_imap_and_smtp_over_tls(stack, name, host_header, address):
    status, _, text = https(stack, "POST", "/autodiscover/autodiscover.xml", name or stack.hostname,
                            host_header=host_header, body=autodiscover_request(address))
    assert status == 200, text
    ns = {"o": OUTLOOK_NS}
    account = ET.fromstring(text).find("o:Response/o:Account", ns)
    assert account.findtext("o:AccountType", namespaces=ns) == "email"
    protocols = {p.findtext("o:Type", namespaces=ns): p for p in account.findall("o:Protocol", ns)}
    assert set(protocols) == {"IMAP", "POP3", "SMTP"}
    for kind, port in (("IMAP", "993"), ("POP3", "995"), ("SMTP", "465")):
        protocol = protocols[kind]
        assert protocol.findtext("o:Server", namespaces=ns) == stack.hostname
        assert protocol.findtext("o:Port", namespaces=ns) == port
        assert protocol.findtext("o:SSL", namespaces=ns) == "on"
        assert protocol.findtext("o:LoginName", namespaces=ns) == address


def test_autodiscover_settings_log_in(stack):
    """A client set up from the autodiscover answer logs in to IMAP and SMTP with them."""
    _, _, text = https(stack, "POST", "/autodiscover/autodiscover.xml", "autodiscover.example.test",
                       body=autodiscover_request(ADMIN))
    ns = {"o": OUTLOOK_NS}
    found = {p.findtext("o:Type", namespaces=ns): (p.findtext("o:Server", namespaces=ns),
                                                    int(p.findtext("o:Port", namespaces=ns)),
                                                    p.findtext("o:LoginName", namespaces=ns))
             for p in ET.fromstring(text).iter(f"{{{OUTLOOK_NS}}}Protocol")}
    server, port, login = found["IMAP"]
    imap = clients.IMAP4_SSL(server, port, ip=stack.ip,
                             ssl_context=ssl.create_default_context(cafile=stack.ca_file))
    try:
        assert imap.login(login, stack.admin_password)[0] == "OK"
    finally:
        imap.logout()
    server, port, login = found["SMTP"]
    with clients.SMTP_SSL(server, port, ip=stack.ip,
                          context=ssl.create_default_context(cafile=stack.ca_file)) as smtp:
        assert smtp.login(login, stack.admin_password)[0] == 235


def test_activesync_request_is_answered_in_its_schema(stack):
    status, _, text = https(stack, "POST", "/autodiscover/autodiscover.xml", "autodiscover.example.test",
                            body=autodiscover_request(ADMIN, MOBILESYNC_NS))
    assert status == 200
    response = ET.fromstring(text).find(f"{{{MOBILESYNC_NS}}}Response")
    assert response is not None, text
    # SOGo serves ActiveSync (calendar.activesync, on by default): its URL on the hostname, no error.
    assert response.find(f".//{{{MOBILESYNC_NS}}}Error") is None, text
    url = response.find(f".//{{{MOBILESYNC_NS}}}Url")
    assert url is not None, text
    assert url.text == f"https://{stack.hostname}/Microsoft-Server-ActiveSync"


def test_autodiscover_json_points_at_the_xml_service(stack):
    status, _, text = https(stack, "GET",
                            f"/autodiscover/autodiscover.json/v1.0/{ADMIN}?Protocol=AutodiscoverV1",
                            "autodiscover.example.test")
    assert status == 200
    assert json.loads(text) == {"Protocol": "AutodiscoverV1",
                                "Url": "https://autodiscover.example.test/autodiscover/autodiscover.xml"}


@pytest.mark.parametrize("method, body, expected", [
    ("GET", None, 405),
    ("POST", "not xml", 400),
    ("POST", autodiscover_request("not-an-address"), 400),
])
def test_bad_autodiscover_requests_get_a_clear_status(stack, method, body, expected):
    status, _, text = https(stack, method, "/autodiscover/autodiscover.xml", "autodiscover.example.test",
                            body=body)
    assert status == expected and text.strip()


def test_apple_profile_sets_up_mail_calendars_and_contacts(stack):
    """iOS/macOS: a .mobileconfig for one address (mail, and CalDAV/CardDAV through SOGo)."""
    import plistlib

    status, headers, text = https(stack, "GET", f"/apple/facteur.mobileconfig?emailaddress={ADMIN}",
                                  "autoconfig.example.test")
    assert status == 200 and headers["Content-Type"].startswith("application/x-apple-aspen-config")
    profile = plistlib.loads(text.encode())
    assert profile["PayloadType"] == "Configuration"
    payloads = {p["PayloadType"]: p for p in profile["PayloadContent"]}
    mail = payloads["com.apple.mail.managed"]
    assert (mail["EmailAddress"], mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"],
            mail["IncomingMailServerUseSSL"]) == (ADMIN, stack.hostname, 993, True)
    assert (mail["OutgoingMailServerHostName"], mail["OutgoingMailServerPortNumber"],
            mail["OutgoingMailServerUseSSL"]) == (stack.hostname, 465, True)
    caldav = payloads["com.apple.caldav.account"]
    assert caldav["CalDAVHostName"] == stack.hostname and caldav["CalDAVPort"] == 443
    assert caldav["CalDAVPrincipalURL"] == f"https://{stack.hostname}/SOGo/dav/postmaster%40example.test/"
    assert payloads["com.apple.carddav.account"]["CardDAVUsername"] == ADMIN
    # Downloaded again, the same identifiers: the device replaces the profile instead of adding one.
    again = plistlib.loads(https(stack, "GET", f"/apple/facteur.mobileconfig?emailaddress={ADMIN}",
                                 "autoconfig.example.test")[2].encode())
    assert [p["PayloadUUID"] for p in again["PayloadContent"]] == \
        [p["PayloadUUID"] for p in profile["PayloadContent"]]
    status, _, _ = https(stack, "GET", "/apple/facteur.mobileconfig", "autoconfig.example.test")
    assert status == 400
