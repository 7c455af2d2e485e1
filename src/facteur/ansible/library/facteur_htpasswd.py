#!/usr/bin/python
"""Ansible module: one user's line in an htpasswd file (nginx auth_basic), bcrypt-hashed.

Idempotent: an existing line whose hash verifies the password is left alone (a new salt on every run
would report a change each time).
"""

from __future__ import annotations

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: facteur_htpasswd
short_description: Ensure USER:HASH in an htpasswd file (bcrypt, $2y$)
options:
  path: {type: path, required: true}
  name: {type: str, required: true}
  password: {type: str, required: true, no_log: true}
  owner: {type: str}
  group: {type: str}
  mode: {type: raw}
"""


def hash_password(password):
    import bcrypt

    return "$2y$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()[4:]


def verifies(password, hashed):
    import bcrypt

    if not hashed.startswith(("$2y$", "$2b$", "$2a$")):
        return False
    try:
        return bcrypt.checkpw(password.encode(), ("$2b$" + hashed[4:]).encode())
    except ValueError:
        return False


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            name=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="raw"),
        ),
        supports_check_mode=True,
    )
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        module.fail_json(msg="facteur_htpasswd needs the Python bcrypt package on the target")
    path, name, password = module.params["path"], module.params["name"], module.params["password"]
    lines = []
    if os.path.exists(path):
        with open(path) as handle:
            lines = handle.read().splitlines()
    current = [line for line in lines if line.split(":", 1)[0] == name]
    others = [line for line in lines if line.split(":", 1)[0] != name]
    changed = not (len(current) == 1 and verifies(password, current[0].split(":", 1)[1]))
    if changed and not module.check_mode:
        content = "\n".join(others + [f"{name}:{hash_password(password)}"]) + "\n"
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".htpasswd.")
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        os.replace(tmp, path)
    file_args = module.load_file_common_arguments(module.params)
    if os.path.exists(path):
        changed = module.set_fs_attributes_if_different(file_args, changed)
    module.exit_json(changed=changed, path=path)


if __name__ == "__main__":
    main()
