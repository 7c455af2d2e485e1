"""Day-2 administration through PostfixAdmin's data model: domains, mailboxes, aliases, lists.

The CLI and PostfixAdmin's web UI share the same tables, written the way PostfixAdmin writes them
(default aliases, the mailbox's own alias row, quotas in bytes, the `log` table), so they never
disagree. Modules: validate (pure checks), passwords (the hash format), db (one transaction per
command), domains, mailboxes, aliases (aliases and lists), alias_domains, seed (install-time accounts).
"""

from facteur.admin.seed import seed

__all__ = ["seed"]
