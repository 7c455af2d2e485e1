"""Benchmark backups: snapshot and restore time and repository size for a generated mail store.

Method:
- a fresh container with the stack installed; a mail store is generated straight into one
  mailbox's Maildir (owned by vmail, like delivered mail): --megabytes of messages of --size KiB
  each (default 2000 MB of 20 KiB messages, ~100 000 files), random text bodies, so that
  compression and deduplication get no unrealistic help;
- `facteur backup run` timed three times: the first snapshot (everything new), a second with
  nothing changed, and a third after 1 % more mail;
- repository size: `du` of the restic repository after the first snapshot (restic encrypts and
  compresses), against the size of the Maildir;
- `facteur backup restore --latest --yes` timed on the same machine (stages the snapshot, loads the
  dumps, merges the Maildirs, re-runs the install);
- `facteur backup verify` timed (restic check + comparison of every message).
Everything stays inside the container.
"""
from __future__ import annotations

import argparse
import time

from tests.harness.container import Container
from tests.harness.install import run_install

MAILDIR = "/var/vmail/example.test/bench/Maildir"
REPOSITORY = "/var/backups/facteur/restic"

# Writes COUNT messages of SIZE KiB into the Maildir's cur/ (random words: realistic entropy).
GENERATE = r"""
import os, random, sys, time
count, size, start = int(sys.argv[1]), int(sys.argv[2]) * 1024, int(sys.argv[3])
root = sys.argv[4]
for sub in ("cur", "new", "tmp"):  # a mailbox gets its Maildir at first delivery: make it now
    os.makedirs(f"{root}/{sub}", exist_ok=True)
words = [''.join(random.choices('abcdefghijklmnopqrstuvwxyz', k=random.randint(2, 9))) for _ in range(5000)]
for n in range(start, start + count):
    body = []
    length = 0
    while length < size:
        line = ' '.join(random.choices(words, k=12))
        body.append(line)
        length += len(line) + 2
    text = (f"From: sender{n % 97}@example.net\r\nTo: bench@example.test\r\nSubject: message {n}\r\n"
            f"Message-ID: <bench-{n}@example.net>\r\n\r\n" + "\r\n".join(body) + "\r\n")
    path = f"{root}/cur/{int(time.time())}.B{n}.bench:2,S"
    with open(path, "w") as f:
        f.write(text)
"""


def timed(container: Container, argv: list[str]) -> float:
    start = time.monotonic()
    container.exec(argv, timeout=7200)
    return time.monotonic() - start


def du_mib(container: Container, path: str) -> float:
    return int(container.exec(["du", "-sk", path]).stdout.split()[0]) / 1024


def generate(container: Container, count: int, size_kib: int, start: int) -> None:
    container.exec(["python3", "-c", GENERATE, str(count), str(size_kib), str(start), MAILDIR], timeout=7200)
    container.exec(["chown", "-R", "vmail:vmail", MAILDIR])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="trixie", choices=["trixie", "bookworm"])
    parser.add_argument("--megabytes", type=int, default=2000, help="size of the generated mail store")
    parser.add_argument("--size", type=int, default=20, help="KiB per message")
    args = parser.parse_args()
    count = args.megabytes * 1024 // args.size

    print(__doc__)
    name = f"fct-bench-backup-{args.release}"
    with Container(args.release, keep=False, reuse=False, name=name) as container:
        if run_install(container).returncode != 0:
            print("install failed")
            return 1
        container.exec(["facteur", "mailbox", "add", "bench@example.test", "--password-stdin"],
                       input="bench-password-1\n")
        t0 = time.monotonic()
        generate(container, count, args.size, 0)
        print(f"generated {count} messages of {args.size} KiB in {time.monotonic() - t0:.0f} s; "
              f"Maildir {du_mib(container, MAILDIR):.0f} MiB")

        first = timed(container, ["facteur", "backup", "run"])
        repo = du_mib(container, REPOSITORY)
        unchanged = timed(container, ["facteur", "backup", "run"])
        generate(container, count // 100, args.size, count)
        incremental = timed(container, ["facteur", "backup", "run"])
        print(f"backup run: first {first:.0f} s, nothing changed {unchanged:.0f} s, "
              f"after +1 % mail {incremental:.0f} s")
        print(f"repository after the first snapshot: {repo:.0f} MiB")
        restore = timed(container, ["facteur", "backup", "restore", "--latest", "--yes"])
        print(f"backup restore --latest (same machine, Maildirs merged, install re-run): {restore:.0f} s")
        verify = timed(container, ["facteur", "backup", "verify"])
        print(f"backup verify (restic check + every message compared): {verify:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
