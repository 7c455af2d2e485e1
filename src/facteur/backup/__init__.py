"""Backups of the whole mail system with restic: what is saved, how it is restored and verified.

    restic.py    the restic repository (one class wrapping the restic command)
    databases.py consistent dumps of facteur's MariaDB databases, and loading them back
    maildirs.py  merging restored mail into the live store without losing newer mail; comparing
    record.py    the record of the last backup run (read by `facteur status` and monitoring)
    jobs.py      the three jobs: run (dump + snapshot + retention), restore, verify

The command line is facteur.cli.backup; docs/backup.md is the administrator's guide.
"""
