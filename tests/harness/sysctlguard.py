"""A snapshot of the host's kernel settings (/proc/sys), to prove that building root filesystems and
running containers changed none of them (a package script in a bare chroot would: procps runs
``sysctl --system``).

Counters and per-interface entries are left out: they move on their own, and interfaces come and go
with every container (ours and anybody else's).
"""
from __future__ import annotations

import os
import re

_VOLATILE = re.compile(r"""^(
    fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\..*|binfmt_misc\..*)
  | kernel\.(ns_last_pid|random\..*|pty\.nr|tainted|sched_.*stat.*)
  | net\.netfilter\.nf_conntrack_count
  | net\.(ipv4|ipv6|mpls)\.(conf|neigh)\.[^.]+\..*          # per interface, see below
  | net\.ipv6\.route\.(gc_.*|flush)
  | vm\.stat_refresh | fs\.pipe-user-pages-soft-used
)$""", re.X)
_KEEP_PER_INTERFACE = re.compile(r"^net\.(ipv4|ipv6|mpls)\.(conf|neigh)\.(all|default)\.")


def snapshot() -> dict[str, str]:
    """Every readable, non-volatile sysctl as ``{dotted.key: value}``."""
    values = {}
    for dirpath, dirnames, filenames in os.walk("/proc/sys"):
        if dirpath == "/proc/sys/fs" and "binfmt_misc" in dirnames:
            dirnames.remove("binfmt_misc")
        for name in filenames:
            path = os.path.join(dirpath, name)
            key = path[len("/proc/sys/"):].replace("/", ".")
            if _VOLATILE.match(key) and not _KEEP_PER_INTERFACE.match(key):
                continue
            try:
                with open(path) as f:
                    values[key] = " ".join(f.read().split())
            except OSError:  # write-only or not readable here
                continue
    return values


def diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences, empty if the settings are the same."""
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old != new:
            lines.append(f"{key}: {old!r} -> {new!r}")
    return lines
