"""Snapshots of the host's kernel settings (/proc/sys), to prove the tests changed none of them.

A package script run in a bare chroot would (procps runs `sysctl --system`); inside a booted
nspawn container /proc/sys is read-only. Counters and per-interface entries are left out: they
move on their own, and interfaces come and go with every container.
"""

from __future__ import annotations

import os
import re

_VOLATILE = re.compile(r"""^(
    fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\..*|pipe-user-pages-soft-used)
  | kernel\.(ns_last_pid|random\..*|pty\.nr|tainted|sched_domain\..*|perf_event_max_sample_rate)
  | net\.netfilter\.nf_conntrack_count
  | net\.(ipv4|ipv6|mpls)\.(conf|neigh)\.[^.]+\..*
  | net\.ipv6\.route\.flush | vm\.stat_refresh | vm\.drop_caches | vm\.compact_memory
)$""", re.X)
_SHARED_PER_INTERFACE = re.compile(r"^net\.(ipv4|ipv6|mpls)\.(conf|neigh)\.(all|default)\.")


def snapshot() -> dict[str, str]:
    """Return every readable, non-volatile sysctl as {dotted.key: value}."""
    values = {}
    for dirpath, dirnames, filenames in os.walk("/proc/sys"):
        if "binfmt_misc" in dirnames:
            dirnames.remove("binfmt_misc")
        for name in filenames:
            path = os.path.join(dirpath, name)
            key = path[len("/proc/sys/"):].replace("/", ".")
            if _VOLATILE.match(key) and not _SHARED_PER_INTERFACE.match(key):
                continue
            try:
                with open(path) as f:
                    values[key] = " ".join(f.read().split())
            except OSError:
                continue
    return values


def diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Return one line per setting that differs; empty if none does."""
    return [f"{key}: {before.get(key)!r} -> {after.get(key)!r}"
            for key in sorted(before.keys() | after.keys()) if before.get(key) != after.get(key)]
