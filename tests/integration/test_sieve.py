"""Sieve: a script uploaded over ManageSieve (4190, STARTTLS) files incoming mail into a folder."""
import base64
import imaplib
import socket
import uuid

import pytest

from tests.integration.helpers import make_mailbox, smtp_client, wait_until

USER, PASSWORD = "sieve-user@example.test", "sieve-pass-1"
SCRIPT = b'require ["fileinto", "mailbox"];\r\nif header :contains "subject" "[project]" {\r\n' \
         b'  fileinto :create "Projects";\r\n}\r\n'


class ManageSieve:
    """Just enough of RFC 5804 for the test: STARTTLS, AUTHENTICATE PLAIN, PUTSCRIPT, SETACTIVE."""

    def __init__(self, host, port=4190, timeout=20):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.read_response()

    def read_response(self):
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("managesieve closed the connection")
            lines.append(line)
            if line.startswith((b"OK", b"NO", b"BYE")):
                return line, lines

    def command(self, text):
        self.sock.sendall(text + b"\r\n")
        status, lines = self.read_response()
        if not status.startswith(b"OK"):
            raise AssertionError(status.decode(errors="replace"))
        return lines

    def starttls(self, context):
        self.command(b"STARTTLS")
        self.sock = context.wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")
        return self.read_response()[1]  # capabilities are sent again after TLS

    def login(self, user, password):
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        self.command(b'AUTHENTICATE "PLAIN" "' + token + b'"')

    def putscript(self, name, script):
        self.command(b'PUTSCRIPT "' + name + b'" {' + str(len(script)).encode() + b"+}\r\n" + script)

    def close(self):
        try:
            self.sock.sendall(b"LOGOUT\r\n")
        finally:
            self.sock.close()


def test_managesieve_requires_tls_before_login(stack):
    client = ManageSieve(stack.ip)
    try:
        with pytest.raises(AssertionError):
            client.login(USER, PASSWORD)
    finally:
        client.close()


def test_uploaded_script_files_mail_into_folder(stack):
    make_mailbox(stack, USER, PASSWORD)
    client = ManageSieve(stack.ip)
    try:
        client.starttls(stack.ssl_context())
        client.login(USER, PASSWORD)
        client.putscript(b"facteur-test", SCRIPT)
        client.command(b'SETACTIVE "facteur-test"')
    finally:
        client.close()

    mid = f"<{uuid.uuid4().hex}@test.facteur>"
    with smtp_client(stack, 25) as smtp:
        smtp.sendmail("someone@outside.test", [USER],
                      f"Subject: [project] status\r\nMessage-ID: {mid}\r\n\r\nfiled\r\n".encode())

    def in_projects():
        imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
        try:
            imap.login(USER, PASSWORD)
            typ, _ = imap.select("Projects", readonly=True)
            if typ != "OK":
                return False
            _, data = imap.search(None, "HEADER", "Message-ID", mid)
            return bool(data[0].split())
        finally:
            imap.logout()

    assert wait_until(in_projects, timeout=30, interval=0.5)
