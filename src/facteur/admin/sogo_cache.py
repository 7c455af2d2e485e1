"""What SOGo keeps of an account: forget it after its password changes or it is removed; open the
account's calendar and address book when it is made.

SOGo keeps each account's attributes in memcached under `ADDRESS+attributes`, with the SHA-1 of the
last password that worked; while that entry lives (SOGoCacheCleanupInterval), SOGo checks logins
against it alone: the old password keeps working and the new one is refused. Deleting the entry
makes SOGo ask the accounts view again at the next login.

SOGo creates a user's personal calendar and address book when that user first opens them, and
files an invitation from another local user into the attendee's personal calendar only if it
already exists ("Did not find folder of content object" otherwise). `open_account` does what that
first visit does, so that a new mailbox receives invitations in its calendar at once.
"""

from __future__ import annotations

import base64
import http.client
import socket
import urllib.parse

MEMCACHED = ("127.0.0.1", 11211)
SOGO = ("127.0.0.1", 20000)


def forget_user(address: str, server: tuple[str, int] = MEMCACHED, timeout: float = 2.0) -> bool:
    """Given a normalized address, delete SOGo's cached entry for it; return True if memcached
    answered (DELETED or NOT_FOUND), False if it is not reachable (SOGo not installed or down:
    nothing is cached then). Never raises for network errors."""
    key = f"{address}+attributes"
    if not key.isascii() or any(char.isspace() or ord(char) < 32 for char in key) or len(key) > 250:
        return False
    try:
        with socket.create_connection(server, timeout=timeout) as conn:
            conn.sendall(f"delete {key}\r\n".encode("ascii"))
            reply = conn.recv(64)
    except OSError:
        return False
    return reply.startswith((b"DELETED", b"NOT_FOUND"))


def open_account(address: str, password: str, server: tuple[str, int] = SOGO,
                 timeout: float = 10.0) -> bool:
    """Log into SOGo (over loopback, as nginx would pass the request) as `address` and list its
    calendars and address books, which makes SOGo create the personal ones. Return True if SOGo
    answered both with 207, False otherwise (SOGo not installed, down, or refusing): the account
    works anyway, SOGo then creates them at the user's first visit. Never raises for network
    errors."""
    token = base64.b64encode(f"{address}:{password}".encode()).decode("ascii")
    headers = {"Authorization": f"Basic {token}", "Depth": "1", "Content-Type": "text/xml"}
    body = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>'
    home = f"/SOGo/dav/{urllib.parse.quote(address, safe='@')}"
    try:
        for collection in ("Calendar", "Contacts"):
            conn = http.client.HTTPConnection(*server, timeout=timeout)
            try:
                conn.request("PROPFIND", f"{home}/{collection}/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            finally:
                conn.close()
            if response.status != 207:
                return False
    except OSError:
        return False
    return True
