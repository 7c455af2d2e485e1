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


def serve_http(status: int, count: int) -> tuple[tuple[str, int], list[str]]:
    """A loopback HTTP server answering `count` requests with `status`; records each request head."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(count)
    received: list[str] = []

    def run():
        for _ in range(count):
            conn, _ = server.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(rest) < length:
                    rest += conn.recv(4096)
                received.append(head.decode())
                answer = f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                conn.sendall(answer.encode())
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname(), received


def test_open_account_lists_calendars_then_address_books_as_the_user():
    address, received = serve_http(207, 2)
    assert sogo_cache.open_account("alice@example.org", "secret pass", address) is True
    assert [head.split("\r\n")[0] for head in received] == [
        "PROPFIND /SOGo/dav/alice@example.org/Calendar/ HTTP/1.1",
        "PROPFIND /SOGo/dav/alice@example.org/Contacts/ HTTP/1.1",
    ]
    # Basic base64("alice@example.org:secret pass")
    assert "Authorization: Basic YWxpY2VAZXhhbXBsZS5vcmc6c2VjcmV0IHBhc3M=" in received[0]
    assert "Depth: 1" in received[0]


def test_open_account_refused_is_false():
    address, received = serve_http(401, 1)
    assert sogo_cache.open_account("alice@example.org", "wrong", address) is False
    assert len(received) == 1


def test_open_account_without_sogo_is_not_an_error():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()
    probe.close()
    assert sogo_cache.open_account("alice@example.org", "x", free, timeout=0.5) is False
