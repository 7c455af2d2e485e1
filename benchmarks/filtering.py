"""Benchmark the filter: delivery rate with and without it, and rspamd against SpamAssassin.

Method:
- throughput: Postfix's smtp-source inside the container sends N messages of 10 KB over 20 parallel
  sessions to one mailbox on 127.0.0.1:25 (as benchmarks/stack.py does); the figure is delivered
  files per second (every folder of the Maildir, Junk included), from the first connection to the
  last delivered file. It is measured with filtering on (the installed configuration: rspamd as
  milter, ClamAV through rspamd), then with `filter.enabled: false` (facteur.yml edited, `facteur
  install` re-run: Postfix without milter), then on again after the original configuration is
  restored and installed: the ratio is off / mean of the two filtered runs, all three under the
  same conditions. ClamAV needs signatures to scan: without any, a one-line EICAR signature
  file is loaded (as tests/integration/test_filtering.py does) and removed at the end;
- rspamd against SpamAssassin: Debian's spamassassin, spamc and spamd are installed into the
  container for the measurement only (purged at the end, with every package they pulled in), and
  spamd runs with local tests only (--local: no DNS blocklists, no Razor/Pyzor, nothing leaves the
  machine). A deterministic corpus (ham of various sizes, ham with attachments, spammy phrasing,
  GTUBE) is scanned one message at a time by `rspamc` against rspamd's controller (127.0.0.1:11334,
  the installed rspamd with its ClamAV round trip) and by `spamc -R` against spamd; per message
  wall time (client start included, both are small C programs), mean and 95th percentile, verdicts
  per kind of message, and the resident memory (RSS and PSS, shared pages counted once) of the
  rspamd and spamd processes after the scans;
- everything is bounded: message counts, and a time budget per run (a slow machine gives smaller
  figures, never a failure). Everything stays inside the container's own network namespace.
"""
from __future__ import annotations

import argparse
import inspect
import json
import re
import statistics
import subprocess
import time

from tests.harness.container import Container

from benchmarks.session import InstallFailed, add_machine_arguments, installed_machine

CONFIG = "/etc/facteur/facteur.yml"
MAILBOX, PASSWORD = "bench-filter@example.test", "bench-filter-pw-1"
MAILDIR = "/var/vmail/example.test/bench-filter/Maildir"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE_FILE = "/var/lib/clamav/facteur-test-eicar.ndb"
CLAMD_SOCKET = "/run/clamav/clamd.ctl"
CORPUS_DIR = "/var/tmp/facteur-bench-corpus"
SPAMD_PORT = 7830
SPAMD_PIDFILE = "/run/facteur-bench-spamd.pid"
SA_PACKAGES = ["spamassassin", "spamc", "spamd"]


# --- functions run inside the container (sent as source to its python3: standard library only) --

def make_corpus(directory: str, count: int, seed: int) -> None:
    """Write `count` messages into `directory`: 55 % ham, 15 % ham with an attachment, 20 % spammy
    phrasing, 10 % GTUBE; file names start with the kind. Deterministic for a given seed."""
    import base64
    import os
    import random

    rng = random.Random(seed)
    words = ("meeting invoice project schedule report budget review contract delivery quarter "
             "customer order shipment team draft agenda minutes proposal update figures office "
             "supplier payment reminder request approval planning workshop training service "
             "account quality release version document feedback deadline summary").split()
    spam_phrases = [
        "CONGRATULATIONS!!! You have been selected as our lucky WINNER",
        "Act now: 100% FREE, no credit check, risk free, limited time offer",
        "Click here to claim your cash prize of $1,000,000 USD today",
        "Cheap V1AGRA and C1ALIS, no prescription needed, discreet shipping",
        "Make money fast working from home, earn $5000 per week guaranteed",
        "Dear Beneficiary, I am a barrister and need your bank account to transfer funds",
        "Your account has been suspended, verify your password immediately at our secure site",
        "Lose 30 pounds in 30 days with this miracle pill, doctors hate it",
    ]
    gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))

    def paragraph() -> str:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 16)))
            sentences.append(sentence.capitalize() + ".")
        return " ".join(sentences)

    def wrap(text: str) -> str:
        lines, line = [], ""
        for word in text.split():
            if len(line) + len(word) > 72:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
        return "\n".join(lines)

    def body(size: int) -> str:
        parts = ["Hello,", ""]
        while sum(len(p) for p in parts) < size:
            parts += [wrap(paragraph()), ""]
        return "\n".join(parts + ["Best regards,", "Alice Martin", "Example Org, accounts"]) + "\n"

    def headers(index: int, subject: str, sender: str, extra: str = "") -> str:
        day = 1 + index % 28
        return (f"Received: from mx.example.org (mx.example.org [192.0.2.{1 + index % 250}])\n"
                f"\tby mail.example.test with ESMTPS id B{index:05d}; "
                f"Mon, {day} Nov 2026 10:{index % 60:02d}:00 +0000\n"
                f"From: {sender}\nTo: Bob Durand <bench@example.test>\nSubject: {subject}\n"
                f"Date: Mon, {day} Nov 2026 10:{index % 60:02d}:00 +0000\n"
                f"Message-ID: <bench-{seed}-{index}@example.org>\nMIME-Version: 1.0\n{extra}")

    kinds = (["ham"] * 55 + ["attachment"] * 15 + ["spammy"] * 20 + ["gtube"] * 10)
    for index in range(count):
        kind = kinds[index * 100 // count]
        sender = "Alice Martin <alice@example.org>"
        subject = " ".join(rng.choice(words) for _ in range(4)).capitalize()
        if kind == "ham":
            size = rng.choice([500, 2000, 8000, 30000, 100000])
            text = headers(index, subject, sender, "Content-Type: text/plain; charset=utf-8\n\n") + body(size)
        elif kind == "attachment":
            payload = bytes(rng.getrandbits(8) for _ in range(rng.choice([5000, 40000, 150000])))
            encoded = base64.encodebytes(payload).decode()
            text = (headers(index, subject, sender, 'Content-Type: multipart/mixed; boundary="b1"\n\n')
                    + "--b1\nContent-Type: text/plain; charset=utf-8\n\n" + body(1500)
                    + "\n--b1\nContent-Type: application/pdf; name=\"report.pdf\"\n"
                    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
                    "Content-Transfer-Encoding: base64\n\n" + encoded + "--b1--\n")
        elif kind == "spammy":
            phrase = rng.choice(spam_phrases)
            sender = f"Prize Department <winner{index}@lucky-prizes.example.net>"
            html = ("<html><body><p><b>" + phrase.upper() + "</b></p>"
                    + "".join(f'<p><a href="http://lucky-prizes.example.net/claim?id={index}{n}">'
                              f"{rng.choice(spam_phrases)}</a></p>" for n in range(rng.randint(2, 5)))
                    + '<p><font color="#ffffff">' + paragraph() + "</font></p></body></html>\n")
            text = (headers(index, phrase[:60].upper(), sender, "Content-Type: text/html; charset=utf-8\n\n")
                    + html)
        else:  # gtube
            text = (headers(index, subject, sender, "Content-Type: text/plain; charset=utf-8\n\n")
                    + body(rng.choice([500, 5000])) + "\n" + gtube + "\n")
        with open(os.path.join(directory, f"{kind}-{index:04d}.eml"), "w") as handle:
            handle.write(text)


def scan_corpus(directory: str, scanner: str, spamd_port: int, budget: float, warmup: int) -> None:
    """Scan each message of `directory` with one scanner, one at a time; print JSON results.

    The first `warmup` messages are scanned twice, the first pass not counted."""
    import json
    import os
    import re
    import subprocess
    import time

    if scanner == "rspamd":
        argv = ["rspamc", "-h", "127.0.0.1:11334", "-t", "60", "symbols"]
    else:
        argv = ["spamc", "-d", "127.0.0.1", "-p", str(spamd_port), "-R", "-t", "60", "-s", "20000000"]
    names = sorted(os.listdir(directory))
    for name in names[:warmup]:
        with open(os.path.join(directory, name), "rb") as handle:
            subprocess.run(argv, stdin=handle, capture_output=True)
    results = []
    deadline = time.monotonic() + budget
    for name in names:
        if time.monotonic() > deadline:
            break
        with open(os.path.join(directory, name), "rb") as handle:
            start = time.monotonic()
            done = subprocess.run(argv, stdin=handle, capture_output=True, text=True)
            seconds = time.monotonic() - start
        result = {"name": name, "kind": name.split("-")[0], "seconds": seconds, "rc": done.returncode}
        if scanner == "rspamd":
            action = re.search(r"^Action: (.+)$", done.stdout, re.M)
            score = re.search(r"^Score: (-?[\d.]+)", done.stdout, re.M)
            result["verdict"] = action.group(1) if action else "error"
            result["gtube"] = "GTUBE" in done.stdout
            result["rules"] = [name for name, points in
                               re.findall(r"^Symbol: (\w+) \((-?[\d.]+)\)", done.stdout, re.M)
                               if float(points) != 0]
        else:
            # -R: "score/threshold", then the report (" 1.0 RULE_NAME  description" lines).
            score = re.match(r"(-?[\d.]+)/(-?[\d.]+)", done.stdout)
            if score:
                result["verdict"] = "spam" if float(score.group(1)) >= float(score.group(2)) else "ham"
            else:
                result["verdict"] = "error"
            result["rules"] = [name for points, name in
                               re.findall(r"^\s*(-?\d+\.\d+)\s+([A-Z][A-Z0-9_]+)\s", done.stdout, re.M)
                               if float(points) != 0]
        result["score"] = float(score.group(1)) if score else None
        results.append(result)
    print(json.dumps(results))


def memory(patterns: list[str]) -> None:
    """Print JSON {pattern: [processes, RSS KiB, PSS KiB]} over processes whose command line
    (arguments joined by spaces) matches the regular expression."""
    import json
    import os
    import re

    totals = {pattern: [0, 0, 0] for pattern in patterns}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                rollup = handle.read()
        except OSError:
            continue
        if "python3" in cmdline or "nsenter" in cmdline:  # this measurement itself
            continue
        for pattern in patterns:
            if re.search(pattern, cmdline):
                fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", rollup, re.M))
                totals[pattern][0] += 1
                totals[pattern][1] += int(fields.get("Rss", 0))
                totals[pattern][2] += int(fields.get("Pss", 0))
                break
    print(json.dumps(totals))


def run_inside(container: Container, function, *args, timeout: float = 900) -> str:
    """Run one of the functions above with the container's python3; return its standard output."""
    source = inspect.getsource(function) + f"\n{function.__name__}(*{args!r})\n"
    return container.exec(["python3", "-c", source], timeout=timeout).stdout


# --- throughput ----------------------------------------------------------------------------------

def service_active(container: Container, name: str) -> bool:
    return container.exec(["systemctl", "is-active", "--quiet", name], check=False).returncode == 0


def clamd_signatures(container: Container) -> list[str]:
    listing = container.exec(["sh", "-c", "ls /var/lib/clamav"], check=False).stdout.split()
    return [name for name in listing if re.search(r"\.(cvd|cld|ndb|hdb|hsb|ldb|ign2|fp|cdb|ndu)$", name)]


def wait_for(probe, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.5)
    return False


def delivered(container: Container) -> int:
    script = f"find {MAILDIR} -path '*/new/*' -o -path '*/cur/*' 2>/dev/null | wc -l"
    return int(container.exec(["sh", "-c", script], check=False).stdout.strip() or 0)


def throughput(container: Container, messages: int, sessions: int, budget: float) -> tuple[int, float]:
    """Send `messages` 10 KB messages over `sessions` sessions; return (delivered, messages/s).

    Counting stops at `budget` seconds: what arrived by then counts."""
    before = delivered(container)
    scanned = rspamd_scanned(container)
    start = time.monotonic()
    try:
        container.exec(["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", "10240",
                        "-f", "bench-sender@example.org", "-t", MAILBOX, "127.0.0.1:25"],
                       timeout=budget, check=False)
    except subprocess.TimeoutExpired:
        print(f"  smtp-source still sending after {budget:.0f} s: stopped")
    count = 0
    while time.monotonic() < start + budget:
        count = delivered(container) - before
        if count >= messages:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - start
    # Proof of what was measured: rspamd's own count of scanned messages, and the headers of the
    # last delivered message (rspamd's milter adds X-Spam-Status).
    newest = container.exec(["sh", "-c", f"ls -t {MAILDIR}/new/* | head -1 | xargs head -c 4000"],
                            check=False).stdout
    print(f"  rspamd scanned {rspamd_scanned(container) - scanned} messages during the run; last delivered "
          f"message {'has' if 'X-Spam-Status:' in newest else 'has no'} X-Spam-Status header")
    return count, count / elapsed


def rspamd_scanned(container: Container) -> int:
    stat = container.exec(["rspamc", "-h", "127.0.0.1:11334", "stat"], check=False).stdout
    found = re.search(r"^Messages scanned: (\d+)", stat, re.M)
    return int(found.group(1)) if found else 0


def reinstall(container: Container, config: str) -> float:
    container.exec(["sh", "-c", 'cat > "$1"', "sh", CONFIG], input=config)
    t0 = time.monotonic()
    result = container.exec(["/usr/local/sbin/facteur", "install"], timeout=1800, check=False)
    if result.returncode != 0:
        raise RuntimeError("facteur install failed:\n" + result.stdout[-3000:] + result.stderr[-3000:])
    return time.monotonic() - t0


def rspamd_ready(container: Container) -> bool:
    probe = "import socket; socket.create_connection(('127.0.0.1', 11332), 2).close()"
    return wait_for(lambda: container.exec(["python3", "-c", probe], check=False).returncode == 0, 120)


def measure_throughput(container: Container, original: str, messages: int, sessions: int,
                       budget: float) -> None:
    if "enabled: false" in original.split("filter:", 1)[-1].split("\n\n", 1)[0]:
        print("filtering is off in this container's configuration: nothing to compare")
        return
    rates = {}
    count, rates["on"] = throughput(container, messages, sessions, budget)
    print(f"filtering on:  {count}/{messages} delivered, {rates['on']:.1f} messages/s")
    disabled = re.sub(r"^filter:\n", "filter:\n  enabled: false\n", original, count=1, flags=re.M)
    if disabled == original:
        disabled = original.rstrip("\n") + "\nfilter:\n  enabled: false\n"
    seconds = reinstall(container, disabled)
    milters = container.exec(["postconf", "-h", "smtpd_milters"]).stdout.strip()
    print(f"install with filter.enabled: false: {seconds:.0f} s; smtpd_milters = {milters!r}")
    try:
        count, rates["off"] = throughput(container, messages, sessions, budget)
        print(f"filtering off: {count}/{messages} delivered, {rates['off']:.1f} messages/s")
    finally:
        seconds = reinstall(container, original)
        rspamd_ready(container)
        milters = container.exec(["postconf", "-h", "smtpd_milters"]).stdout.strip()
        print(f"original configuration restored, install {seconds:.0f} s; smtpd_milters = {milters!r}")
    count, rates["on again"] = throughput(container, messages, sessions, budget)
    print(f"filtering on (after restoring): {count}/{messages} delivered, {rates['on again']:.1f} messages/s")
    filtered = (rates["on"] + rates["on again"]) / 2
    if filtered > 0:
        print(f"ratio: filtered / unfiltered = {filtered:.1f} / {rates['off']:.1f} = "
              f"{filtered / rates['off']:.2f} (unfiltered is {rates['off'] / filtered:.1f}x faster)")


# --- rspamd against SpamAssassin -----------------------------------------------------------------

def installed_packages(container: Container) -> set[str]:
    listing = container.exec(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"]).stdout
    return {line.split()[0] for line in listing.splitlines() if line.split()[1:2] == ["ii"]}


def start_spamd(container: Container) -> str:
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    container.exec(["apt-get", "install", "-y", "-q", *SA_PACKAGES], env=env, timeout=900)
    # Debian's own spamd service (port 783, without --local) is not the one measured.
    container.exec(["systemctl", "disable", "--now", "spamd"], check=False)
    version = container.exec(["spamassassin", "--version"]).stdout.splitlines()[0]
    rules = container.exec(["sh", "-c", "ls /usr/share/spamassassin/*.cf /var/lib/spamassassin/*/*/*.cf "
                                        "2>/dev/null | wc -l"]).stdout.strip()
    container.exec(["spamd", "--local", f"--listen=127.0.0.1:{SPAMD_PORT}", "--max-children=5",
                    "--username=debian-spamd", "--helper-home-dir=/var/lib/spamassassin",
                    "--syslog=/var/log/facteur-bench-spamd.log", "--daemonize",
                    f"--pidfile={SPAMD_PIDFILE}"], timeout=300)
    ping = ["spamc", "-d", "127.0.0.1", "-p", str(SPAMD_PORT), "-K"]
    if not wait_for(lambda: container.exec(ping, check=False).returncode == 0, 180):
        raise RuntimeError("spamd did not answer within 180 s")
    return f"{version}, {rules} rule files, spamd --local --max-children=5"


def stop_spamd(container: Container, before: set[str], user_existed: bool) -> None:
    container.exec(["sh", "-c", f'test -f {SPAMD_PIDFILE} && kill "$(cat {SPAMD_PIDFILE})"'], check=False)
    wait_for(lambda: container.exec(["pgrep", "-f", "spamd"], check=False).returncode != 0, 30)
    added = sorted(installed_packages(container) - before)
    if added:
        container.exec(["apt-get", "purge", "-y", "-q", *added], env={"DEBIAN_FRONTEND": "noninteractive"},
                       timeout=900)
    leftovers = [CORPUS_DIR, "/var/log/facteur-bench-spamd.log"]
    if "spamassassin" not in before:
        leftovers.append("/var/lib/spamassassin")  # spamd's Bayes and state, kept by the purge
    container.exec(["rm", "-rf", *leftovers], check=False)
    if not user_existed:  # the package's system user, which the purge keeps
        container.exec(["userdel", "debian-spamd"], check=False)
    print(f"removed again: {len(added)} packages ({', '.join(added)})")


def summary(results: list[dict], name: str) -> None:
    times = sorted(r["seconds"] * 1000 for r in results)
    if not times:
        print(f"{name}: nothing scanned")
        return
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    errors = sum(r["verdict"] == "error" for r in results)
    print(f"{name}: {len(times)} messages, {statistics.mean(times):.0f} ms mean, "
          f"{statistics.median(times):.0f} ms median, {p95:.0f} ms p95, {max(times):.0f} ms max, "
          f"{sum(times) / 1000:.1f} s in all, {errors} errors")
    for kind in ("ham", "attachment", "spammy", "gtube"):
        chosen = [r for r in results if r["kind"] == kind]
        if not chosen:
            continue
        verdicts: dict[str, int] = {}
        for r in chosen:
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
        scores = [r["score"] for r in chosen if r["score"] is not None]
        span = f"score {min(scores):.1f} .. {max(scores):.1f}" if scores else "no score"
        mean_ms = statistics.mean(r["seconds"] * 1000 for r in chosen)
        print(f"  {kind:10s} {len(chosen):3d}: " + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items()))
              + f"; {span}; {mean_ms:.0f} ms mean")
        rules: dict[str, int] = {}
        for r in chosen:
            for rule in r["rules"]:
                rules[rule] = rules.get(rule, 0) + 1
        common = sorted(rules.items(), key=lambda item: (-item[1], item[0]))[:6]
        listed = ", ".join(f"{rule} x{n}" for rule, n in common)
        print(f"    most frequent scoring rules: {listed or 'none'}")


def compare_scanners(container: Container, count: int, budget: float) -> None:
    before = installed_packages(container)
    user_existed = container.exec(["id", "debian-spamd"], check=False).returncode == 0
    try:
        description = start_spamd(container)
        print(f"SpamAssassin: {description}")
        rspamd_version = container.exec(["rspamd", "--version"], check=False).stdout.strip().splitlines()
        print(f"rspamd: {rspamd_version[0] if rspamd_version else '?'} (installed configuration, "
              f"controller 127.0.0.1:11334)")
        run_inside(container, make_corpus, CORPUS_DIR, count, 4)
        size = container.exec(["du", "-sk", CORPUS_DIR]).stdout.split()[0]
        print(f"corpus: {count} messages, {int(size) / 1024:.1f} MiB (55 % ham, 15 % ham with an "
              f"attachment, 20 % spammy phrasing, 10 % GTUBE)")
        results = {}
        for scanner in ("rspamd", "spamassassin"):
            out = run_inside(container, scan_corpus, CORPUS_DIR, scanner, SPAMD_PORT, budget, 5,
                             timeout=budget + 300)
            results[scanner] = json.loads(out)
            summary(results[scanner], scanner)
        rspamd_gtube = sum(r["gtube"] for r in results["rspamd"] if r["kind"] == "gtube")
        print(f"GTUBE symbol in rspamd's answers: {rspamd_gtube} of "
              f"{sum(r['kind'] == 'gtube' for r in results['rspamd'])}")
        usage = json.loads(run_inside(container, memory, [r"^rspamd", r"\bspamd\b"]))
        for (processes, rss, pss), name in zip(usage.values(), ("rspamd", "spamd"), strict=True):
            print(f"memory after the scans, {name}: {processes} processes, RSS {rss / 1024:.1f} MiB, "
                  f"PSS {pss / 1024:.1f} MiB")
    finally:
        stop_spamd(container, before, user_existed)


# --- main ----------------------------------------------------------------------------------------

def prepare(container: Container) -> tuple[str, bool, bool]:
    """Mailbox, ClamAV signatures; return (original config, signature file added, clamd was active)."""
    original = container.read_file(CONFIG)
    container.exec(["facteur", "mailbox", "add", MAILBOX, "--password-stdin"], input=f"{PASSWORD}\n",
                   check=False)
    clamd_was_active = service_active(container, "clamav-daemon")
    signatures = clamd_signatures(container)
    added = False
    if not signatures:
        hex_eicar = EICAR.encode().hex()
        container.exec(["sh", "-c", 'cat > "$1" && chown clamav:clamav "$1" && chmod 0644 "$1"', "sh",
                        SIGNATURE_FILE], input=f"Eicar-Test-Signature:0:*:{hex_eicar}\n")
        added = True
    container.exec(["systemctl", "restart", "clamav-daemon"], timeout=300, check=False)
    ready = wait_for(lambda: container.exec(["test", "-S", CLAMD_SOCKET], check=False).returncode == 0, 180)
    names = ", ".join(clamd_signatures(container))
    print(f"clamd: {'running' if ready else 'NOT running'}, signatures: {names or 'none'}"
          + (" (the EICAR test signature, loaded by this benchmark: ClamAV scans every message, "
             "but with one signature instead of the official ~8 million, so its cost is a lower bound)"
             if added else ""))
    rspamd_ready(container)
    return original, added, clamd_was_active


def restore(container: Container, original: str, signature_added: bool, clamd_was_active: bool) -> None:
    if container.read_file(CONFIG) != original:
        reinstall(container, original)
    if signature_added:
        container.exec(["rm", "-f", SIGNATURE_FILE])
        if not clamd_was_active:
            container.exec(["systemctl", "stop", "clamav-daemon"], check=False)
    container.exec(["facteur", "mailbox", "remove", MAILBOX, "--delete-mail"], input="y\n", check=False)


def run(container: Container, args: argparse.Namespace) -> None:
    print(time.strftime("date: %Y-%m-%d %H:%M UTC", time.gmtime()))
    cpus = container.exec(["nproc"]).stdout.strip()
    load = container.exec(["cat", "/proc/loadavg"]).stdout.split()[:3]
    print(f"machine: {cpus} CPUs, load average {' '.join(load)} at the start")
    original, signature_added, clamd_was_active = prepare(container)
    try:
        if not args.skip_throughput:
            measure_throughput(container, original, args.messages, args.sessions, args.budget)
        if not args.skip_compare:
            compare_scanners(container, args.corpus, args.budget)
    finally:
        restore(container, original, signature_added, clamd_was_active)
        load = container.exec(["cat", "/proc/loadavg"]).stdout.split()[:3]
        print(f"load average at the end: {' '.join(load)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_machine_arguments(parser)
    parser.add_argument("--messages", type=int, default=1000, help="messages per throughput run")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--corpus", type=int, default=200, help="messages in the scanner corpus")
    parser.add_argument("--budget", type=float, default=300, help="seconds at most per run")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args()

    print(__doc__)
    try:
        with installed_machine(args, f"fct-bench-filter-{args.release}") as container:
            run(container, args)
    except InstallFailed as failure:
        print(failure)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
