"""Calendars and contacts (SOGo): CalDAV, CardDAV, sharing across hosted domains, the per-domain
directory (listed over CardDAV, searched through SOGo's own address-book requests), ActiveSync,
invitations by mail and in the attendee's calendar with the answer back in the organiser's event,
and the same passwords as mail.

Real clients over HTTPS with the certificate checked against the hostname: the `caldav` library
for CalDAV (after discovering the context root through /.well-known/caldav itself, which that
library does not do), plain HTTP requests for CardDAV, SOGo's DAV sharing requests and ActiveSync.
The test host cannot resolve the machine's names: this module resolves them to the machine's
address for its own process while it runs.
"""

from __future__ import annotations

import re
import socket
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import caldav
import pytest
import requests
from caldav.lib import error as caldav_error

from tests.integration.helpers import make_mailbox

OTHER_DOMAIN = "cal-other.test"
ALICE = "cal-alice@example.test"
CAROL = "cal-carol@example.test"
BOB = f"cal-bob@{OTHER_DOMAIN}"
PASSWORDS = {ALICE: "alice-calendar-1", CAROL: "carol-calendar-1", BOB: "bob-calendar-1"}
# Named accounts for the directory search, one in each domain, both named "... Directory".
DORA = "cal-dora@example.test"
DORIAN = f"cal-dorian@{OTHER_DOMAIN}"
NAMES = {DORA: "Dora Directory", DORIAN: "Dorian Directory"}
DAV = "{DAV:}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
INVERSE_DAV = "urn:inverse:params:xml:ns:inverse-dav"


@pytest.fixture(scope="module")
def resolve(stack):
    """Resolve the machine's names (hostname, DOMAIN and its subdomains) to its address in this
    process, as the DNS of a real site would."""
    original = socket.getaddrinfo
    names = (stack.hostname, "example.test", OTHER_DOMAIN)

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and any(host == n or host.endswith("." + n) for n in names):
            host = stack.ip
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    yield
    socket.getaddrinfo = original


@pytest.fixture(scope="module")
def accounts(stack, resolve):
    """Alice and Carol in example.test, Bob in a second hosted domain, made with the CLI."""
    result = stack.facteur("domain", "add", OTHER_DOMAIN)
    assert result.returncode == 0 or "already" in result.stderr, result.stderr
    for address, password in PASSWORDS.items():
        make_mailbox(stack, address, password)
    return PASSWORDS


@pytest.fixture(scope="module")
def named_accounts(stack, accounts):
    """Dora (example.test) and Dorian (the other domain), with full names, made with the CLI."""
    for address, name in NAMES.items():
        result = stack.facteur("mailbox", "add", address, "--password-stdin", "--name", name,
                               input="directory-entry-1\n")
        assert result.returncode == 0 or "already exists" in result.stderr, result.stderr
    return NAMES


def session(stack, user: str | None = None) -> requests.Session:
    """An HTTPS session that trusts the machine's CA only (not the environment's bundle)."""
    s = requests.Session()
    s.trust_env = False
    s.verify = stack.ca_file
    if user:
        s.auth = (user, PASSWORDS[user])
    return s


def base(stack) -> str:
    return f"https://{stack.hostname}"


def discover(stack, service: str) -> str:
    """RFC 6764 bootstrap as a client does it: the well-known URL, its redirect followed by hand."""
    response = session(stack).request("PROPFIND", f"{base(stack)}/.well-known/{service}",
                                      headers={"Depth": "0"}, allow_redirects=False)
    assert response.status_code in (301, 302), response.status_code
    location = response.headers["Location"]
    assert location == f"{base(stack)}/SOGo/dav/"
    return location


def dav_client(stack, user: str, password: str | None = None) -> caldav.DAVClient:
    return caldav.DAVClient(url=discover(stack, "caldav"), username=user,
                            password=password or PASSWORDS[user], ssl_verify_cert=stack.ca_file)


def unshare(stack, owner: str, collection_url: str, user: str) -> None:
    """Take a user off a collection's sharing list (a rerun on a kept machine starts clean)."""
    body = f'<?xml version="1.0"?><acl-query xmlns="{INVERSE_DAV}"><remove-user user="{user}"/></acl-query>'
    response = session(stack, owner).post(collection_url, data=body,
                                          headers={"Content-Type": "text/xml; charset=utf-8"})
    assert response.status_code in (200, 204), (response.status_code, response.text)


def share(stack, owner: str, collection_url: str, user: str, roles: list[str]) -> None:
    """Share a calendar or address book the way SOGo's own clients do: its inverse-dav acl-query
    (add the user, then set the user's roles)."""
    s = session(stack, owner)
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    add = f'<?xml version="1.0"?><acl-query xmlns="{INVERSE_DAV}"><add-user user="{user}"/></acl-query>'
    response = s.post(collection_url, data=add, headers=headers)
    assert response.status_code in (200, 204), (response.status_code, response.text)
    role_xml = "".join(f"<{role}/>" for role in roles)
    body = (f'<?xml version="1.0"?><acl-query xmlns="{INVERSE_DAV}"><set-roles user="{user}">'
            f"{role_xml}</set-roles></acl-query>")
    response = s.post(collection_url, data=body, headers=headers)
    assert response.status_code in (200, 204), (response.status_code, response.text)


def event(summary: str, uid: str | None = None, attendee: str | None = None,
          organizer: str | None = None) -> str:
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=2)
    stamp = "%Y%m%dT%H%M%SZ"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//facteur tests//EN", "BEGIN:VEVENT",
             f"UID:{uid or uuid.uuid4()}", f"DTSTAMP:{datetime.now(UTC).strftime(stamp)}",
             f"DTSTART:{start.strftime(stamp)}", f"DTEND:{(start + timedelta(hours=1)).strftime(stamp)}",
             f"SUMMARY:{summary}"]
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
    if attendee:
        lines.append(f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;ROLE=REQ-PARTICIPANT:mailto:{attendee}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def summaries(calendar) -> set[str]:
    return {str(e.icalendar_component.get("summary")) for e in calendar.events()}


# ----------------------------------------------------------------------------------- CalDAV


def test_well_known_redirects_to_sogo_dav(stack, resolve):
    assert discover(stack, "caldav") == discover(stack, "carddav")


def test_caldav_discovery_then_calendar_and_event(stack, accounts):
    client = dav_client(stack, ALICE)
    principal = client.principal()
    assert str(principal.url).rstrip("/").endswith(f"/SOGo/dav/{ALICE}")
    calendar = principal.make_calendar(name="Team plans", cal_id=f"team-{uuid.uuid4().hex[:8]}")
    calendar.save_event(event("Kick-off"))
    assert "Kick-off" in summaries(calendar)
    assert any(c.url == calendar.url for c in principal.calendars())


def test_wrong_password_is_refused(stack, accounts):
    with pytest.raises(caldav_error.AuthorizationError):
        dav_client(stack, ALICE, "not-the-password").principal()


def test_share_calendar_with_another_domain_read_only_then_read_write(stack, accounts):
    owner = dav_client(stack, ALICE).principal()
    calendar = owner.make_calendar(name="Shared", cal_id=f"shared-{uuid.uuid4().hex[:8]}")
    calendar.save_event(event("Visible to Bob"))
    url = str(calendar.url)

    bob = dav_client(stack, BOB)
    # Not shared yet: Bob sees nothing of it.
    with pytest.raises(caldav_error.DAVError):
        bob.calendar(url=url).events()

    share(stack, ALICE, url, BOB, ["PublicViewer", "ConfidentialViewer", "PrivateViewer"])
    shared = bob.calendar(url=url)
    assert "Visible to Bob" in summaries(shared)
    with pytest.raises(caldav_error.DAVError):
        shared.save_event(event("Written by Bob, read-only"))
    assert "Written by Bob, read-only" not in summaries(calendar)

    share(stack, ALICE, url, BOB, ["PublicModifier", "ConfidentialModifier", "PrivateModifier",
                                   "ObjectCreator", "ObjectEraser"])
    shared.save_event(event("Written by Bob"))
    assert "Written by Bob" in summaries(calendar)


# ----------------------------------------------------------------------------------- CardDAV


def addressbook_home(stack, user: str) -> str:
    body = ('<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
            "<prop><C:addressbook-home-set/></prop></propfind>")
    s = session(stack, user)
    response = s.request("PROPFIND", f"{discover(stack, 'carddav')}{user}/", data=body,
                         headers={"Depth": "0", "Content-Type": "text/xml"})
    assert response.status_code == 207, response.text
    href = ET.fromstring(response.content).find(f".//{CARDDAV}addressbook-home-set/{DAV}href")
    assert href is not None, response.text
    return base(stack) + href.text


def vcard(uid: str, name: str, email: str) -> str:
    return "\r\n".join(["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{name}",
                        f"N:{name};;;;", f"EMAIL;TYPE=work:{email}", "END:VCARD", ""])


def test_carddav_create_and_read_a_vcard(stack, accounts):
    home = addressbook_home(stack, ALICE)
    uid = uuid.uuid4().hex
    url = f"{home.rstrip('/')}/personal/{uid}.vcf"
    s = session(stack, ALICE)
    response = s.put(url, data=vcard(uid, "Dora Explorer", "dora@elsewhere.test"),
                     headers={"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"})
    assert response.status_code in (201, 204), (response.status_code, response.text)
    response = s.get(url)
    assert response.status_code == 200
    assert "FN:Dora Explorer" in response.text and "dora@elsewhere.test" in response.text


def directory(stack, user: str) -> dict[str, str]:
    """{address: vCard} of the user's directory (SOGo's address book of the accounts), as a CardDAV
    client syncs it: PROPFIND Depth 1, then GET of each card."""
    home = addressbook_home(stack, user)
    s = session(stack, user)
    response = s.request("PROPFIND", f"{home.rstrip('/')}/directory/", headers={"Depth": "1"})
    assert response.status_code == 207, (response.status_code, response.text)
    hrefs = {h.text for h in ET.fromstring(response.content).iter(f"{DAV}href")}
    cards = {}
    for href in sorted(hrefs):
        if href.endswith("/directory/"):
            continue
        card = s.get(base(stack) + href)
        assert card.status_code == 200, href
        cards[href.rsplit("/", 1)[1]] = card.text
    return cards


def test_directory_lists_the_users_of_ones_own_domain_only(stack, accounts):
    alices = directory(stack, ALICE)
    assert {ALICE, CAROL, "postmaster@example.test"} <= set(alices)
    assert f"EMAIL;TYPE=work:{CAROL}" in alices[CAROL]
    assert all(address.endswith("@example.test") for address in alices), sorted(alices)
    bobs = directory(stack, BOB)
    assert BOB in bobs
    assert all(address.endswith("@" + OTHER_DOMAIN) for address in bobs), sorted(bobs)


def web_session(stack, user: str) -> requests.Session:
    """Logged into SOGo's web interface, as its own pages are: session cookie and XSRF header."""
    s = session(stack)
    response = s.post(f"{base(stack)}/SOGo/connect",
                      json={"userName": user, "password": PASSWORDS[user], "rememberLogin": 0})
    assert response.status_code == 200, (response.status_code, response.text)
    s.headers["X-XSRF-TOKEN"] = s.cookies["XSRF-TOKEN"]
    return s


def directory_search(stack, user: str, text: str) -> dict[str, str]:
    """{address: full name} of the directory's entries whose name or address contains `text`, as
    SOGo's web interface and its address completion ask for them (the address book's `view`)."""
    response = web_session(stack, user).post(
        f"{base(stack)}/SOGo/so/{user}/Contacts/directory/view", json={"value": text})
    assert response.status_code == 200, (response.status_code, response.text)
    headers = response.json().get("headers") or []
    if not headers:
        return {}
    fields = headers[0]
    rows = [dict(zip(fields, row, strict=True)) for row in headers[1:]]
    return {row["c_mail"]: row["c_cn"] for row in rows}


def test_directory_search_finds_ones_own_domain_by_name_or_address(stack, named_accounts):
    by_name = directory_search(stack, ALICE, "directory")
    assert by_name == {DORA: "Dora Directory"}, by_name
    by_address = directory_search(stack, ALICE, "cal-")
    assert {ALICE, CAROL, DORA} <= set(by_address), by_address
    assert all(address.endswith("@example.test") for address in by_address), by_address
    assert directory_search(stack, BOB, "Directory") == {DORIAN: "Dorian Directory"}
    assert set(directory_search(stack, BOB, "cal-carol")) == set()
    assert set(directory_search(stack, CAROL, "DORA")) == {DORA}


def test_share_address_book_with_another_domain(stack, accounts):
    home = addressbook_home(stack, ALICE)
    collection = f"{home.rstrip('/')}/personal/"
    uid = uuid.uuid4().hex
    s = session(stack, ALICE)
    assert s.put(f"{collection}{uid}.vcf", data=vcard(uid, "Shared Card", "shared@elsewhere.test"),
                 headers={"Content-Type": "text/vcard"}).status_code in (201, 204)
    unshare(stack, ALICE, collection, BOB)
    bob = session(stack, BOB)
    assert bob.get(f"{collection}{uid}.vcf").status_code in (403, 404)
    share(stack, ALICE, collection, BOB, ["ObjectViewer"])
    response = bob.get(f"{collection}{uid}.vcf")
    assert response.status_code == 200 and "FN:Shared Card" in response.text
    other = uuid.uuid4().hex
    response = bob.put(f"{collection}{other}.vcf", data=vcard(other, "By Bob", "b@elsewhere.test"),
                       headers={"Content-Type": "text/vcard"})
    assert response.status_code == 403


# ----------------------------------------------------------------------------------- ActiveSync


def test_activesync_options(stack, accounts):
    response = session(stack, ALICE).options(f"{base(stack)}/Microsoft-Server-ActiveSync")
    assert response.status_code == 200
    assert "14.1" in response.headers["MS-ASProtocolVersions"].split(",")
    assert "FolderSync" in response.headers["MS-ASProtocolCommands"].split(",")


def test_activesync_foldersync_lists_mail_calendar_and_contacts(stack, accounts):
    # WBXML 1.3, UTF-8; code page 7 (FolderHierarchy): <FolderSync><SyncKey>0</SyncKey></FolderSync>
    body = bytes([0x03, 0x01, 0x6A, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03]) + b"0" + bytes([0x00, 0x01, 0x01])
    response = session(stack, ALICE).post(
        f"{base(stack)}/Microsoft-Server-ActiveSync",
        params={"Cmd": "FolderSync", "User": ALICE, "DeviceId": "facteurtest01", "DeviceType": "iPhone"},
        data=body,
        headers={"Content-Type": "application/vnd.ms-sync.wbxml", "MS-ASProtocolVersion": "14.1",
                 "User-Agent": "facteur-tests/1.0"})
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("application/vnd.ms-sync.wbxml")
    content = response.content
    assert content[:4] == bytes([0x03, 0x01, 0x6A, 0x00])
    # <Status>1</Status> (token 0x0C with content) and folders by name.
    assert bytes([0x4C, 0x03]) + b"1\x00" in content
    for name in (b"INBOX", b"Sent"):
        assert name in content, content


# ----------------------------------------------------------------------------------- accounts


def test_password_changed_with_the_cli_logs_into_sogo(stack, accounts):
    # A login first: SOGo then caches the account with this password (memcached).
    dav_client(stack, CAROL).principal()
    new = "carol-calendar-2"
    result = stack.facteur("mailbox", "passwd", CAROL, "--password-stdin", input=new + "\n")
    assert result.returncode == 0, result.stderr
    try:
        dav_client(stack, CAROL, new).principal()
        with pytest.raises(caldav_error.AuthorizationError):
            dav_client(stack, CAROL, PASSWORDS[CAROL]).principal()
    finally:
        stack.facteur("mailbox", "passwd", CAROL, "--password-stdin", input=PASSWORDS[CAROL] + "\n")


def test_web_login(stack, accounts):
    s = session(stack)
    response = s.post(f"{base(stack)}/SOGo/connect",
                      json={"userName": ALICE, "password": PASSWORDS[ALICE], "rememberLogin": 0})
    assert response.status_code == 200, (response.status_code, response.text)
    assert s.cookies.get("0xHIGHFLYxSOGo")
    bad = session(stack).post(f"{base(stack)}/SOGo/connect",
                              json={"userName": ALICE, "password": "wrong-password-1"})
    assert bad.status_code in (401, 403)


# ----------------------------------------------------------------------------------- invitations


def test_invitation_reaches_the_attendees_inbox_as_imip(stack, accounts):
    calendar = dav_client(stack, ALICE).principal().calendar(cal_id="personal")
    uid = f"facteur-imip-{uuid.uuid4().hex}"
    calendar.save_event(event("Budget meeting", uid=uid, organizer=ALICE, attendee=CAROL))

    def is_invitation(message) -> bool:
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                text = part.get_payload(decode=True).decode("utf-8", "replace")
                return uid in text and "METHOD:REQUEST" in text
        return False

    message = stack.wait_for_message(CAROL, PASSWORDS[CAROL], is_invitation, timeout=90)
    assert ALICE in message["From"]



def unfolded(ical: str) -> str:
    return re.sub(r"\r?\n[ \t]", "", ical)


def attendee_line(ical: str, address: str) -> str:
    return next(line for line in unfolded(ical).splitlines()
                if line.startswith("ATTENDEE") and address in line)


def find_event(calendar, uid: str):
    """The event of that UID in the calendar, by listing it as a syncing client does."""
    return next((e for e in calendar.events() if str(e.icalendar_component.get("uid")) == uid), None)


def test_attendees_answer_updates_the_organisers_event(stack, accounts):
    # A mailbox just made with the CLI, which has never used SOGo.
    attendee = f"cal-guest-{uuid.uuid4().hex[:8]}@example.test"
    password = "guest-calendar-1"
    make_mailbox(stack, attendee, password)
    try:
        organiser = dav_client(stack, ALICE).principal().calendar(cal_id="personal")
        uid = f"facteur-reply-{uuid.uuid4().hex}"
        organiser.save_event(event("Planning review", uid=uid, organizer=ALICE, attendee=attendee))

        # SOGo files the invitation in the local attendee's personal calendar; the attendee's
        # CalDAV client accepts it there, and SOGo carries the answer to the organiser's event.
        mine = dav_client(stack, attendee, password).principal().calendar(cal_id="personal")
        invitation = find_event(mine, uid)
        assert invitation is not None, "the invitation is not in the attendee's calendar"
        assert "PARTSTAT=NEEDS-ACTION" in attendee_line(invitation.data, attendee)
        invitation.data = unfolded(invitation.data).replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED")
        invitation.save()

        answered = find_event(organiser, uid)
        assert "PARTSTAT=ACCEPTED" in attendee_line(answered.data, attendee), answered.data
    finally:
        stack.facteur("mailbox", "remove", attendee)
