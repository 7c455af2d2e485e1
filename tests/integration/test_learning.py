"""Learning: a message a user moves into Junk is learned by rspamd as spam, one moved out of Junk
as ham (Dovecot's IMAPSieve pipes it to rspamc), one deleted from Junk (moved to Trash) not at
all; a move still succeeds when rspamd cannot learn.

rspamd's Bayes classifier only starts classifying after 200 learns of each class, but `rspamc stat`
counts every learn: the tests read those counters. rspamd reads them from Redis periodically, so a
learn shows there up to about a minute later (42 s seen on Debian 12's rspamd 3.4).
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from tests.integration.helpers import make_mailbox, wait_until
from tests.integration.test_filtering import (  # noqa: F401 - filtering is a fixture
    fetch_raw,
    filtering,
    message,
    rspamd_ready,
    send_inbound,
    service,
)

USER, PASSWORD = "learner@example.test", "learner-pw-1"
# How long a learn may take to show in `rspamc stat` (see above).
COUNTER_DELAY = 120


def learned(stack) -> dict[str, int]:
    """Return rspamd's learn counters {"spam": N, "ham": M}, from `rspamc stat` inside the machine."""
    out = stack.exec(["rspamc", "stat"]).stdout
    counts = {}
    for symbol, count in re.findall(r"Statfile: BAYES_(SPAM|HAM)\b[^\n]*?learned: (\d+)", out):
        counts[symbol.lower()] = counts.get(symbol.lower(), 0) + int(count)
    assert set(counts) == {"spam", "ham"}, out
    return counts


def deliver(stack, subject: str) -> str:
    """Send a fresh message of ordinary prose to USER's INBOX; return its Message-ID once delivered.
    (rspamd does not learn a message of fewer than 11 words, nor the same message twice.)"""
    token = uuid.uuid4().hex
    body = (f"Hello,\n\nhere is the quarterly report {token} about the garden project: the tomatoes "
            "grew well this summer, the beans less so, and the committee would like to discuss the "
            "budget for new tools, the watering schedule and the autumn planting at the next "
            "meeting on Thursday evening in the village hall.\n\nBest regards,\nMarguerite\n")
    msg = message(f"{subject} {token[:8]}", body, to=USER)
    send_inbound(stack, msg)
    fetch_raw(stack, USER, PASSWORD, msg["Message-ID"])
    return msg["Message-ID"]


def move(stack, message_id: str, source: str, target: str) -> None:
    """IMAP MOVE the message with this Message-ID from `source` to `target`; AssertionError if the
    server does not answer OK."""
    imap = stack.imap(USER, PASSWORD)
    try:
        assert imap.select(f'"{source}"')[0] == "OK"
        _, data = imap.uid("SEARCH", "HEADER", "Message-ID", message_id.strip("<>"))
        uids = data[0].split()
        assert len(uids) == 1, f"{message_id} in {source}: {uids}"
        status, answer = imap.uid("MOVE", uids[0].decode(), f'"{target}"')
        assert status == "OK", answer
    finally:
        imap.logout()


def in_mailbox(stack, message_id: str, mailbox: str) -> bool:
    imap = stack.imap(USER, PASSWORD)
    try:
        assert imap.select(f'"{mailbox}"', readonly=True)[0] == "OK"
        _, data = imap.search(None, "HEADER", "Message-ID", message_id.strip("<>"))
        return bool(data[0].split())
    finally:
        imap.logout()


@pytest.fixture(scope="module")
def learning(filtering):  # noqa: F811 - the imported fixture, requested
    make_mailbox(filtering, USER, PASSWORD)
    return filtering


def test_moving_into_junk_learns_spam(learning):
    message_id = deliver(learning, "Garden report")
    before = learned(learning)
    move(learning, message_id, "INBOX", "Junk")
    after = wait_until(lambda: (c := learned(learning))["spam"] > before["spam"] and c, timeout=COUNTER_DELAY)
    assert after["spam"] == before["spam"] + 1, (before, after)
    assert in_mailbox(learning, message_id, "Junk")


def test_moving_out_of_junk_learns_ham_but_deleting_does_not(learning):
    kept = deliver(learning, "Garden minutes")
    deleted = deliver(learning, "Garden agenda")
    for message_id in (kept, deleted):
        move(learning, message_id, "INBOX", "Junk")
    before = learned(learning)
    # To Trash first: nothing learned. The learn runs during the MOVE command, so a ham learn from
    # this move would be in Redis before the next one, and in the same refresh of the counters.
    move(learning, deleted, "Junk", "Trash")
    move(learning, kept, "Junk", "INBOX")
    after = wait_until(lambda: (c := learned(learning))["ham"] > before["ham"] and c, timeout=COUNTER_DELAY)
    time.sleep(2)
    after = learned(learning)
    assert after["ham"] == before["ham"] + 1, (before, after)
    assert in_mailbox(learning, kept, "INBOX") and in_mailbox(learning, deleted, "Trash")


def test_a_move_succeeds_when_rspamd_cannot_learn(learning):
    # Already learned: rspamd refuses the same message twice (uploaded into Junk again here).
    message_id = deliver(learning, "Garden tools")
    raw = fetch_raw(learning, USER, PASSWORD, message_id)
    move(learning, message_id, "INBOX", "Junk")
    imap = learning.imap(USER, PASSWORD)
    try:
        status, answer = imap.append('"Junk"', None, None, raw)
        assert status == "OK", answer
    finally:
        imap.logout()
    # rspamd stopped: the move is not held up or refused.
    other = deliver(learning, "Garden budget")
    service(learning, "rspamd", "stop")
    try:
        started = time.monotonic()
        move(learning, other, "INBOX", "Junk")
        assert time.monotonic() - started < 20
        assert in_mailbox(learning, other, "Junk")
    finally:
        service(learning, "rspamd", "start")
        rspamd_ready(learning)
