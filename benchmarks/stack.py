"""Benchmark the core stack in a fresh container: install time, idle memory, inbound throughput.

Method:
- install: wall time of `./facteur install` in a freshly booted container (packages come from the
  local apt cache, so this is the install's own cost, not the mirror's), then of a second run;
- idle RSS: after 30 s of quiet, the sum of VmRSS over the stack's processes read from /proc inside
  the container, per service and in total;
- throughput: Postfix's smtp-source inside the container sends N messages of 10 KB over 20 parallel
  sessions to one mailbox on 127.0.0.1:25; the figure is delivered files per second, counted in the
  Maildir from the first connection to the last delivered file (SMTP accept + queue + LMTP + Maildir).
Everything stays inside the container's own network namespace.
"""
from __future__ import annotations

import argparse
import time

from tests.harness.container import Container
from tests.harness.install import run_install

STACK_PROCESSES = {
    "postfix": ("master", "qmgr", "pickup", "tlsmgr", "smtpd", "proxymap", "cleanup", "trivial-rewrite",
                "anvil", "lmtp", "postlogd", "smtp", "bounce", "scache"),
    "dovecot": ("dovecot", "anvil", "log", "config", "stats", "auth", "imap-login", "pop3-login",
                "managesieve-login", "lmtp", "imap", "pop3", "quota-status", "indexer", "indexer-worker"),
    "mariadb": ("mariadbd", "mysqld"),
    "php-fpm": ("php-fpm8.2", "php-fpm8.4"),
    "nginx": ("nginx",),
    # Calendars and contacts (calendar.enabled): SOGo's parent and workers, and its cache.
    "sogo": ("sogod",),
    "memcached": ("memcached",),
}
RSS_SCRIPT = r"""
import os
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        status = open(f'/proc/{pid}/status').read()
    except OSError:
        continue
    fields = dict(line.split(':', 1) for line in status.splitlines() if ':' in line)
    rss = fields.get('VmRSS', '0 kB').split()[0]
    print(fields['Name'].strip(), rss)
"""


def idle_rss(container: Container) -> dict[str, int]:
    """Return resident memory (KiB) per service of the stack, summed over its processes."""
    totals = {service: 0 for service in STACK_PROCESSES}
    lines = container.exec(["python3", "-c", RSS_SCRIPT]).stdout.splitlines()
    for line in lines:
        name, rss = line.rsplit(" ", 1)
        for service, names in STACK_PROCESSES.items():
            if name in names:
                totals[service] += int(rss)
                break
    return totals


def throughput(container: Container, messages: int, sessions: int) -> tuple[float, float]:
    """Send `messages` 10 KB messages over `sessions` sessions; return (seconds, delivered per second)."""
    container.exec(["facteur", "mailbox", "add", "bench@example.test", "--password-stdin"],
                   input="bench-password-1\n")
    maildir = "/var/vmail/example.test/bench/Maildir"
    count = ["sh", "-c", f"ls {maildir}/new {maildir}/cur 2>/dev/null | grep -c '^[0-9]'"]
    start = time.monotonic()
    container.exec(["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", "10240",
                    "-f", "bench-sender@example.test", "-t", "bench@example.test", "127.0.0.1:25"],
                   timeout=900)
    deadline = start + 900
    delivered = 0
    while time.monotonic() < deadline:
        delivered = int(container.exec(count, check=False).stdout.strip() or 0)
        if delivered >= messages:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - start
    return elapsed, delivered / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="trixie", choices=["trixie", "bookworm"])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()

    print(__doc__)
    with Container(args.release, keep=False, reuse=False, name=f"fct-bench-{args.release}") as container:
        t0 = time.monotonic()
        first = run_install(container)
        install_seconds = time.monotonic() - t0
        if first.returncode != 0:
            print(f"install failed, see {first.logfile}")
            return 1
        t0 = time.monotonic()
        run_install(container)
        rerun_seconds = time.monotonic() - t0
        print(f"install ({args.release}): fresh {install_seconds:.0f} s, re-run {rerun_seconds:.0f} s")

        time.sleep(30)
        rss = idle_rss(container)
        for service, kib in rss.items():
            print(f"idle RSS {service:8s} {kib / 1024:7.1f} MiB")
        print(f"idle RSS total    {sum(rss.values()) / 1024:7.1f} MiB")

        seconds, rate = throughput(container, args.messages, args.sessions)
        print(f"inbound throughput: {args.messages} x 10 KB over {args.sessions} sessions in {seconds:.1f} s "
              f"= {rate:.0f} delivered messages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
