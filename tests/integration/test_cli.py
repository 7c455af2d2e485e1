"""Day-2 commands: passwords set by the CLI work over SMTP and IMAP; bad input gives one clean line."""
import imaplib
import smtplib

import pytest

from tests.integration.helpers import make_mailbox, smtp_client


def one_line_error(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_password_set_by_cli_works_for_smtp_and_imap(stack):
    user = "cli-user@example.test"
    make_mailbox(stack, user, "first-password-1")
    result = stack.facteur("mailbox", "passwd", user, "--password-stdin", input="second-password-2\n")
    assert result.returncode == 0, result.stderr
    with smtp_client(stack, 587) as smtp:
        smtp.login(user, "second-password-2")
    with smtp_client(stack, 587) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(user, "first-password-1")
    imap = imaplib.IMAP4_SSL(stack.ip, 993, ssl_context=stack.ssl_context(), timeout=20)
    try:
        imap.login(user, "second-password-2")
    finally:
        imap.logout()


def test_mailbox_list_shows_cli_mailbox(stack):
    make_mailbox(stack, "listed@example.test", "listed-pass-1")
    result = stack.facteur("mailbox", "list")
    assert result.returncode == 0
    assert "listed@example.test" in result.stdout


@pytest.mark.parametrize("args, fragment", [
    (["mailbox", "add", "not-an-address", "--password-stdin"], "not-an-address"),
    (["mailbox", "add", "x@unknown-domain.test", "--password-stdin"], "unknown-domain.test"),
    (["domain", "add", "bad..domain"], "bad..domain"),
])
def test_bad_input_gives_one_line(stack, args, fragment):
    line = one_line_error(stack.facteur(*args, input="long-enough-pass\n"))
    assert fragment in line


def test_duplicate_mailbox_is_refused(stack):
    make_mailbox(stack, "twice@example.test", "twice-pass-1")
    line = one_line_error(stack.facteur("mailbox", "add", "twice@example.test", "--password-stdin",
                                        input="twice-pass-2\n"))
    assert "twice@example.test" in line


def test_short_password_is_refused(stack):
    one_line_error(stack.facteur("mailbox", "add", "short@example.test", "--password-stdin", input="abc\n"))


def test_status_and_check_pass(stack):
    status = stack.facteur("status")
    assert status.returncode == 0, status.stdout + status.stderr
    check = stack.facteur("check")
    assert check.returncode == 0, check.stdout + check.stderr
