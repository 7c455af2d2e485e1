"""A mailbox may send only as itself or an alias it receives; never as another mailbox."""
import pytest

from tests.integration.helpers import make_mailbox, smtp_client

PASSWORD = "identity-pass-1"


@pytest.fixture(scope="module")
def accounts(stack):
    make_mailbox(stack, "carol@example.test", PASSWORD)
    make_mailbox(stack, "dave@example.test", PASSWORD)
    result = stack.facteur("alias", "add", "sales@example.test", "carol@example.test")
    assert result.returncode == 0, result.stderr
    return "carol@example.test", "dave@example.test"


def rcpt_reply(stack, login, sender):
    with smtp_client(stack, 587) as smtp:
        smtp.login(login, PASSWORD)
        smtp.mail(sender)
        return smtp.rcpt("carol@example.test")


def test_cannot_send_as_another_mailbox(stack, accounts):
    carol, dave = accounts
    code, reply = rcpt_reply(stack, carol, dave)
    assert code == 553 and b"not owned" in reply


def test_cannot_send_as_a_foreign_address(stack, accounts):
    carol, _ = accounts
    code, _ = rcpt_reply(stack, carol, "ceo@bank.example")
    assert code == 553


def test_can_send_as_itself_and_an_owned_alias(stack, accounts):
    carol, _ = accounts
    assert rcpt_reply(stack, carol, carol)[0] == 250
    assert rcpt_reply(stack, carol, "sales@example.test")[0] == 250


def test_alias_owner_only(stack, accounts):
    _, dave = accounts
    code, _ = rcpt_reply(stack, dave, "sales@example.test")
    assert code == 553
