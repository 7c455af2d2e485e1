"""Forget what SOGo remembers of an account after its password changes or it is removed.

SOGo keeps each account's attributes in memcached under `ADDRESS+attributes`, with the SHA-1 of the
last password that worked; while that entry lives (SOGoCacheCleanupInterval), SOGo checks logins
against it alone: the old password keeps working and the new one is refused. Deleting the entry
makes SOGo ask the accounts view again at the next login.
"""

from __future__ import annotations

import socket

MEMCACHED = ("127.0.0.1", 11211)


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
