"""facteur.admin.sogo_cache against a tiny memcached-speaking server on loopback."""

from __future__ import annotations

import socket
import threading

from facteur.admin import sogo_cache


def serve_once(reply: bytes) -> tuple[tuple[str, int], list[bytes]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received: list[bytes] = []

    def run():
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(512))
            conn.sendall(reply)
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname(), received


def test_deletes_the_accounts_entry():
    address, received = serve_once(b"DELETED\r\n")
    assert sogo_cache.forget_user("alice@example.org", address) is True
    assert received == [b"delete alice@example.org+attributes\r\n"]


def test_not_found_is_fine():
    address, _ = serve_once(b"NOT_FOUND\r\n")
    assert sogo_cache.forget_user("bob@example.org", address) is True


def test_no_memcached_is_not_an_error():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()
    probe.close()
    assert sogo_cache.forget_user("alice@example.org", free, timeout=0.5) is False


def test_refuses_keys_memcached_cannot_hold():
    assert sogo_cache.forget_user("a b@example.org", ("127.0.0.1", 1)) is False
