"""Day-2 account administration through PostfixAdmin's schema: domains, mailboxes, aliases, lists.

Writes the same rows PostfixAdmin 3.3.15's handlers write, so its web UI and facteur's CLI never
disagree. `seed()` is what `facteur install` calls after the playbook.
"""

from facteur.admin.seed import seed

__all__ = ["seed"]
