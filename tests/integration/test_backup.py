"""Backups: `facteur backup run|list|verify|restore` with restic.

Two domains are filled with mailboxes, messages, a list and a Sieve script; a snapshot is taken and
verified; a restore over the running install brings a deleted message back and keeps mail that
arrived after the snapshot; the snapshot restored onto a NEW machine (Debian 13) gives every message
byte-identical, the old passwords, the list and the Sieve script.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.harness import install, layout
from tests.harness.container import Container
from tests.harness.stack import Stack
from tests.integration.helpers import fetch_message_by_id, make_mailbox, smtp_client

ALICE, ALICE_PW = "alice@bk-one.test", "alice-backup-pw-1"
BOB, BOB_PW = "bob@bk-two.test", "bob-backup-pw-1"
TEAM = "team@bk-one.test"
SIEVE_NAME = "facteur-backup-test"
SIEVE = 'require ["fileinto"];\nif header :contains "subject" "[bk]" { fileinto "INBOX"; }\n'
REPOSITORY = "/var/backups/facteur/restic"
PASSWORD_FILE = "/etc/facteur/secrets/backup-password"
# DKIM keys live with the secrets (empty until filtering is installed: then it must match too).
DKIM_HASHES = "cd /etc/facteur && find . -path '*dkim*' -type f -exec sha256sum {} + | sort"

# Lists every message of /var/vmail as {"folder|base name": sha256} (flags in the name ignored),
# and the Sieve scripts by path.
_HASHES = r"""
import hashlib, json, os
out = {}
for d, _, names in os.walk("/var/vmail"):
    for n in names:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, "/var/vmail")
        parts = rel.split(os.sep)
        if len(parts) > 1 and parts[-2] in ("cur", "new"):
            key = "msg|" + os.sep.join(parts[:-2]) + "|" + n.split(":2,")[0]
        elif "sieve" in parts[:-1] and n.endswith(".sieve"):
            key = "sieve|" + rel
        else:
            continue
        out[key] = hashlib.sha256(open(p, "rb").read()).hexdigest()
print(json.dumps(out))
"""


def _mail_hashes(stack: Stack) -> dict[str, str]:
    return json.loads(stack.exec(["python3", "-c", _HASHES]).stdout)


def _send(stack: Stack, sender: str, password: str, to: list[str], subject: str) -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(to), subject
    message["Message-ID"] = f"<{uuid.uuid4()}@client.test>"
    message.set_content(f"{subject}\n" + "backup test line\n" * 50)
    with smtp_client(stack, 587) as smtp:
        smtp.login(sender, password)
        smtp.send_message(message)
    return message["Message-ID"]


def _ok(cp) -> str:
    assert cp.returncode == 0, f"{cp.args}: exit {cp.returncode}\n{cp.stdout}{cp.stderr}"
    return cp.stdout


@pytest.fixture(scope="module")
def filled(stack):
    """Two domains with a mailbox each, a list over both, a Sieve script, and some mail."""
    for domain in ("bk-one.test", "bk-two.test"):
        cp = stack.facteur("domain", "add", domain)
        assert cp.returncode == 0 or "already" in cp.stderr, cp.stderr
    make_mailbox(stack, ALICE, ALICE_PW)
    make_mailbox(stack, BOB, BOB_PW)
    cp = stack.facteur("list", "add", TEAM, "--member", ALICE, "--member", BOB)
    assert cp.returncode == 0 or "already" in cp.stderr, cp.stderr
    _ok(stack.exec(["doveadm", "sieve", "put", "-a", "-u", ALICE, SIEVE_NAME], input=SIEVE))
    ids = [_send(stack, ALICE, ALICE_PW, [BOB], f"to bob {n}") for n in range(3)]
    ids += [_send(stack, BOB, BOB_PW, [ALICE], f"to alice {n}") for n in range(2)]
    ids.append(_send(stack, BOB, BOB_PW, [TEAM], "to the team"))
    fetch_message_by_id(stack, ALICE, ALICE_PW, ids[-1])
    fetch_message_by_id(stack, BOB, BOB_PW, ids[-1])
    fetch_message_by_id(stack, BOB, BOB_PW, ids[0])
    fetch_message_by_id(stack, ALICE, ALICE_PW, ids[3])
    return ids


@pytest.fixture(scope="module")
def snapshot(stack, filled):
    """A snapshot of the filled machine: (id, message hashes at that time)."""
    hashes = _mail_hashes(stack)
    out = _ok(stack.facteur("backup", "run"))
    assert "saved" in out and "keep a copy of" in out, out
    assert stack.read_file(PASSWORD_FILE) not in out  # the password itself is never printed
    listing = json.loads(_ok(stack.facteur("backup", "list", "--json")))
    assert listing, "no snapshot listed after a backup run"
    return listing[-1]["id"], hashes


def test_backup_run_records_a_snapshot(stack, snapshot):
    record = json.loads(stack.read_file("/var/lib/facteur/backup/last-run.json"))
    assert record["ok"] is True and snapshot[0].startswith(record["snapshot"][:8])
    mode = stack.exec(["stat", "-c", "%a", PASSWORD_FILE]).stdout.strip()
    assert mode == "600"
    # The repository is encrypted: no message text appears in it.
    cp = stack.exec(["grep", "-rl", "backup test line", REPOSITORY], check=False)
    assert cp.returncode == 1, f"clear text found in the repository: {cp.stdout}"


def test_backup_is_scheduled_daily(stack):
    if stack.init:
        out = _ok(stack.exec(["systemctl", "is-enabled", "facteur-backup.timer"]))
        assert out.strip() == "enabled"
        unit = stack.read_file("/etc/systemd/system/facteur-backup.timer")
        assert "OnCalendar=*-*-* 03:30:00" in unit
    else:
        assert "backup run" in stack.read_file("/etc/cron.d/facteur-backup")


def test_verify_passes_on_a_fresh_snapshot(stack, snapshot):
    out = _ok(stack.facteur("backup", "verify"))
    assert "verify: ok" in out, out


def test_verify_detects_a_damaged_message(stack, snapshot):
    """Change one live message's bytes: verify must report it (a verify that cannot fail is useless)."""
    hashes = _mail_hashes(stack)
    key = next(k for k in hashes if k.startswith("msg|bk-two.test/bob"))
    _, folder, base = key.split("|")
    path = stack.exec(["sh", "-c", f'ls /var/vmail/{folder}/cur/{base}* /var/vmail/{folder}/new/{base}* '
                                   '2>/dev/null | head -1']).stdout.strip()
    original = stack.exec(["base64", "-w0", path]).stdout
    try:
        stack.exec(["sh", "-c", f'printf "X-Damaged: yes\\n" >> "{path}"'])
        cp = stack.facteur("backup", "verify")
        assert cp.returncode == 1 and "differ" in cp.stdout, cp.stdout + cp.stderr
    finally:
        stack.exec(["sh", "-c", f'base64 -d > "{path}"'], input=original)


def test_restore_over_the_running_install(stack, snapshot, filled):
    """A message deleted after the snapshot comes back; one that arrived after it is kept and counted."""
    imap = stack.imap(BOB, BOB_PW)
    try:
        imap.select("INBOX")
        typ, data = imap.search(None, "HEADER", "Message-ID", filled[0].strip("<>"))
        assert typ == "OK" and data[0], "the message to delete is not there"
        imap.store(data[0].split()[0], "+FLAGS", "\\Deleted")
        imap.expunge()
    finally:
        imap.logout()
    late = _send(stack, ALICE, ALICE_PW, [BOB], "after the snapshot")
    fetch_message_by_id(stack, BOB, BOB_PW, late)

    cp = stack.facteur("backup", "restore", "--latest")
    assert cp.returncode == 2 and "--yes" in cp.stderr, "restore without --yes must refuse"
    out = _ok(stack.facteur("backup", "restore", "--latest", "--yes", timeout=1200))
    kept = re.search(r"kept (\d+) message\(s\) that arrived after the snapshot", out)
    assert kept and int(kept.group(1)) >= 1, out

    fetch_message_by_id(stack, BOB, BOB_PW, filled[0], timeout=60)   # back
    fetch_message_by_id(stack, BOB, BOB_PW, late, timeout=60)        # still there
    assert _ok(stack.facteur("check")), "facteur check after the restore"


@pytest.fixture(scope="module")
def new_machine(stack):
    """A second, freshly installed machine of the same release (Debian 13 only: CI time)."""
    if stack.release != "trixie" or not stack.init:
        pytest.skip("restore onto a new machine is exercised on Debian 13")
    container = Container(stack.release, init=True, name="fct-restore" + layout.INSTANCE_SUFFIX)
    container.start()
    try:
        install.ensure_installed(container)
        fresh = Stack(container)
        yield fresh
        fresh.close()
    finally:
        container.stop()


def test_restore_onto_a_new_machine(stack, snapshot, new_machine):
    snapshot_id, hashes_at_snapshot = snapshot
    # The administrator copies the repository and its password to the new machine.
    source = stack.container.host_path(REPOSITORY)
    target = new_machine.container.host_path(REPOSITORY)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)  # a reused machine may hold an older copy
    shutil.copytree(source, target, symlinks=True)
    password = new_machine.container.host_path("/root/backup-password")
    password.write_text(stack.read_file(PASSWORD_FILE))
    os.chmod(password, 0o600)
    dkim_before = stack.exec(["sh", "-c", DKIM_HASHES]).stdout

    out = _ok(new_machine.facteur("backup", "restore", "--snapshot", snapshot_id[:8], "--yes",
                                  "--password-file", "/root/backup-password", timeout=1800))
    assert "restored snapshot" in out
    # The TLS material is the old machine's: the clients trust the old CA from now on.
    old_ca = stack.read_file("/etc/facteur/tls/ca.crt")
    assert new_machine.read_file("/etc/facteur/tls/ca.crt") == old_ca
    Path(new_machine.ca_file).write_text(old_ca)

    restored = _mail_hashes(new_machine)
    missing = {k: v for k, v in hashes_at_snapshot.items() if restored.get(k) != v}
    assert not missing, f"{len(missing)} file(s) not restored byte-identical, e.g. {next(iter(missing))}"
    assert any(k.startswith("sieve|bk-one.test/alice") for k in restored), "Sieve script not restored"

    # Old passwords work over IMAP and SMTP; the list is back.
    new_machine.imap(ALICE, ALICE_PW).logout()
    message_id = _send(new_machine, BOB, BOB_PW, [TEAM], "after the restore")
    fetch_message_by_id(new_machine, ALICE, ALICE_PW, message_id, timeout=60)
    fetch_message_by_id(new_machine, BOB, BOB_PW, message_id, timeout=60)
    shown = _ok(new_machine.facteur("list", "show", TEAM))
    assert ALICE in shown and BOB in shown
    # Secrets and keys are the old machine's.
    assert new_machine.read_file(PASSWORD_FILE) == stack.read_file(PASSWORD_FILE)
    assert new_machine.admin_password == stack.admin_password
    dkim_after = new_machine.exec(["sh", "-c", DKIM_HASHES]).stdout
    assert dkim_after == dkim_before
