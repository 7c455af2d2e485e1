"""Mail in a restored snapshot against the live store (/var/vmail): merge it back, or compare.

A message file lives in a Maildir `cur` or `new` directory; Dovecot renames it when its flags
change (`NAME:2,S` after it is read), so a message is identified by its folder and the part of
its name before ":2,". Merging never deletes nor replaces a live message: mail that arrived after
the snapshot is kept and counted, so a restore never loses mail without saying so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MESSAGE_DIRS = frozenset({"cur", "new"})
# Dovecot's own index and UID files: the live ones are kept (Dovecot adds restored messages to them).
DOVECOT_STATE_PREFIX = "dovecot"


def message_key(relative: Path) -> tuple[str, str] | None:
    """Given a path relative to the mail root, return (folder, base name) if it is a message file,
    else None."""
    if len(relative.parts) < 2 or relative.parent.name not in MESSAGE_DIRS:
        return None
    return str(relative.parent.parent), relative.name.split(":2,")[0]


def _files(root: Path) -> Iterator[Path]:
    """Yield every regular file under `root`, relative to it (symlinks are not followed)."""
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(root)


def _index(root: Path) -> dict[tuple[str, str], Path]:
    """Return {message key: path relative to root} of every message under `root`."""
    found = {}
    for relative in _files(root):
        key = message_key(relative)
        if key is not None:
            found[key] = relative
    return found


@dataclass
class MergeReport:
    restored: int = 0          # messages copied back from the snapshot
    already_present: int = 0   # messages of the snapshot the live store still had
    kept_newer: int = 0        # live messages absent from the snapshot (arrived later): kept
    other_files: int = 0       # Sieve scripts, subscriptions and the like, taken from the snapshot


def merge(snapshot_root: Path, live_root: Path) -> MergeReport:
    """Bring the mail under `snapshot_root` back into `live_root` without losing live mail."""
    report = MergeReport()
    if not live_root.exists():
        model = snapshot_root.stat()
        live_root.mkdir(mode=model.st_mode & 0o7777, parents=True)
        os.chown(live_root, model.st_uid, model.st_gid)
    live_messages = _index(live_root)
    snapshot_keys = set()
    for relative in _files(snapshot_root):
        target = live_root / relative
        key = message_key(relative)
        if key is not None:
            snapshot_keys.add(key)
            if key in live_messages:
                report.already_present += 1
                continue
            _copy_tree_file(snapshot_root, live_root, relative)
            report.restored += 1
        elif relative.name.startswith(DOVECOT_STATE_PREFIX) and target.exists():
            continue
        elif relative.parent.name == "tmp":
            continue  # half-delivered files are not mail
        else:
            _copy_tree_file(snapshot_root, live_root, relative)
            report.other_files += 1
    report.kept_newer = len(set(live_messages) - snapshot_keys)
    return report


def _copy_tree_file(snapshot_root: Path, live_root: Path, relative: Path) -> None:
    """Copy snapshot_root/relative to live_root/relative, creating missing directories with the
    snapshot's owner and mode, and keeping the file's owner, mode and times."""
    for depth in range(1, len(relative.parts)):
        part = Path(*relative.parts[:depth])
        live_dir = live_root / part
        if not live_dir.exists():
            model = (snapshot_root / part).stat()
            live_dir.mkdir(mode=model.st_mode & 0o7777)
            os.chown(live_dir, model.st_uid, model.st_gid)
    source = snapshot_root / relative
    target = live_root / relative
    shutil.copy2(source, target)
    stat = source.stat()
    os.chown(target, stat.st_uid, stat.st_gid)


@dataclass
class Comparison:
    identical: int = 0
    different: list[str] = field(default_factory=list)  # same message, other content: corruption
    missing: int = 0         # in the snapshot, no longer live (deleted since, or lost)
    newer: int = 0           # live, not in the snapshot (arrived since)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def compare(snapshot_root: Path, live_root: Path) -> Comparison:
    """Compare the messages of a restored snapshot with the live store, content by content."""
    result = Comparison()
    snapshot = _index(snapshot_root)
    live = _index(live_root) if live_root.exists() else {}
    for key, relative in sorted(snapshot.items()):
        if key not in live:
            result.missing += 1
        elif _sha256(snapshot_root / relative) == _sha256(live_root / live[key]):
            result.identical += 1
        else:
            result.different.append(str(relative))
    result.newer = len(set(live) - set(snapshot))
    return result
