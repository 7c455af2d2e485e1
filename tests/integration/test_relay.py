"""No open relay: a stranger (another network namespace, not in mynetworks) cannot relay with any of
the classic address tricks, while mail for a hosted mailbox is accepted from it."""
import json
import textwrap

import pytest

from tests.integration.helpers import make_mailbox

LOCAL = "relaytest@example.test"

TRICKS = {
    "foreign domain": "victim@elsewhere.example",
    "percent hack": "victim%elsewhere.example@example.test",
    "bang path": "elsewhere.example!victim@example.test",
    "quoted local part": '"victim@elsewhere.example"@example.test',
    "source route": "@example.test:victim@elsewhere.example",
    "trailing dot": "victim@elsewhere.example.",
    "ip literal": "victim@[192.0.2.1]",
    "our ip literal with foreign user": "victim@elsewhere.example@[{ip}]",
}

# Runs on the host inside the stranger's namespace: raw RCPT commands, because smtplib.rcpt()
# re-parses addresses and would rewrite some tricks before sending them.
PROBE = textwrap.dedent("""
    import json, smtplib, sys
    ip, rcpts = sys.argv[1], json.loads(sys.argv[2])
    replies = {}
    smtp = smtplib.SMTP(ip, 25, local_hostname="stranger.test", timeout=20)
    smtp.ehlo()
    for name, rcpt in rcpts.items():
        smtp.rset()
        smtp.docmd("MAIL", "FROM:<someone@outside.example>")
        code, msg = smtp.docmd("RCPT", "TO:<" + rcpt + ">")
        replies[name] = [code, msg.decode(errors="replace")]
    smtp.quit()
    print(json.dumps(replies))
""")


@pytest.fixture(scope="module")
def replies(stack):
    make_mailbox(stack, LOCAL, "relay-pass-1")
    rcpts = {name: addr.format(ip=stack.ip) for name, addr in TRICKS.items()}
    rcpts["control: hosted mailbox"] = LOCAL
    result = stack.stranger(["/usr/bin/python3", "-c", PROBE, stack.ip, json.dumps(rcpts)])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_stranger_can_deliver_to_a_hosted_mailbox(replies):
    assert replies["control: hosted mailbox"][0] == 250


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_relay_trick_is_refused(replies, trick):
    code, msg = replies[trick]
    assert code >= 500, f"{trick}: {code} {msg}"
