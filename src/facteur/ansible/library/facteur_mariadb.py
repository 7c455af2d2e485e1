#!/usr/bin/python3
"""Ansible module: make a MariaDB database or user match the wanted state.

Talks to the local server as root over the unix socket with Debian's `mariadb` client (root logs in
by unix_socket authentication), so the target needs no Python MySQL driver. Reports `changed` only
when it had to change something, which keeps a second install at changed=0.
"""
import re

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: facteur_mariadb
short_description: Ensure a MariaDB database or user (with privileges) exists or is absent
options:
  kind: {type: str, required: true, choices: [database, user]}
  name: {type: str, required: true}
  host: {type: str, default: localhost}
  password: {type: str, no_log: true}
  privileges:
    type: list
    elements: str
    description: "'db.table:PRIV,PRIV' items, e.g. 'postfixadmin.alias:SELECT'"
  state: {type: str, default: present, choices: [present, absent]}
"""


def sql_string(value):
    """Quote a value as an SQL string literal (MariaDB escaping rules)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_ident(value):
    return "`" + value.replace("`", "``") + "`"


class Client:
    def __init__(self, module):
        self.module = module

    def run(self, sql):
        rc, out, err = self.module.run_command(
            ["mariadb", "--batch", "--skip-column-names", "--protocol=socket"], data=sql, binary_data=True
        )
        if rc != 0:
            self.module.fail_json(msg="mariadb: " + err.strip())
        return [line.split("\t") for line in out.splitlines() if line]


def account(name, host):
    return f"{sql_string(name)}@{sql_string(host)}"


def object_sql(obj):
    """'db.table' -> '`db`.`table`' ('*' stays bare)."""
    db, _, table = obj.partition(".")
    parts = [p if p == "*" else sql_ident(p) for p in (db, table or "*")]
    return ".".join(parts)


def wanted_grants(items):
    grants = {}
    for item in items:
        obj, _, privs = item.partition(":")
        grants[object_sql(obj)] = {p.strip().upper() for p in privs.split(",") if p.strip()}
    return grants


GRANT_LINE = re.compile(r"^GRANT (.+) ON (\S+) TO ")


def current_grants(client, name, host):
    grants = {}
    for (line,) in client.run(f"SHOW GRANTS FOR {account(name, host)};"):
        match = GRANT_LINE.match(line)
        if not match:
            continue
        privs = {p.strip() for p in match.group(1).split(",")}
        if match.group(2) == "*.*":
            # Every account has USAGE on *.*; only real global privileges count.
            privs.discard("USAGE")
            if not privs:
                continue
        grants[match.group(2)] = privs
    return grants


def ensure_database(module, client):
    name = module.params["name"]
    exists = bool(client.run(f"SHOW DATABASES LIKE {sql_string(name)};"))
    wanted = module.params["state"] == "present"
    if exists == wanted:
        return False
    if not module.check_mode:
        if wanted:
            client.run(f"CREATE DATABASE {sql_ident(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;")
        else:
            client.run(f"DROP DATABASE {sql_ident(name)};")
    return True


def ensure_user(module, client):
    name, host = module.params["name"], module.params["host"]
    who = account(name, host)
    exists = bool(client.run(f"SELECT 1 FROM mysql.global_priv WHERE User={sql_string(name)} "
                             f"AND Host={sql_string(host)};"))
    if module.params["state"] == "absent":
        if exists and not module.check_mode:
            client.run(f"DROP USER {who};")
        return exists

    statements = []
    password = module.params["password"] or ""
    if not exists:
        statements.append(f"CREATE USER {who} IDENTIFIED BY {sql_string(password)};")
    else:
        same = client.run(
            "SELECT JSON_VALUE(Priv, '$.authentication_string') = PASSWORD(" + sql_string(password) + ") "
            f"FROM mysql.global_priv WHERE User={sql_string(name)} AND Host={sql_string(host)};"
        )
        if not same or same[0][0] != "1":
            statements.append(f"ALTER USER {who} IDENTIFIED BY {sql_string(password)};")

    have = current_grants(client, name, host) if exists else {}
    want = wanted_grants(module.params["privileges"] or [])
    for obj, privs in want.items():
        if "ALL PRIVILEGES" in have.get(obj, set()):
            # A blanket grant (e.g. left by dbconfig-common) is narrowed to exactly what is wanted.
            statements.append(f"REVOKE ALL PRIVILEGES ON {obj} FROM {who};")
            have[obj] = set()
        missing = privs - have.get(obj, set())
        if missing:
            statements.append(f"GRANT {', '.join(sorted(missing))} ON {obj} TO {who};")
        extra = have.get(obj, set()) - privs
        if extra:
            statements.append(f"REVOKE {', '.join(sorted(extra))} ON {obj} FROM {who};")
    for obj, privs in have.items():
        if obj not in want and privs != {"USAGE"}:
            statements.append(f"REVOKE ALL PRIVILEGES ON {obj} FROM {who};")

    if statements and not module.check_mode:
        client.run("\n".join(statements))
    return bool(statements)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kind=dict(type="str", required=True, choices=["database", "user"]),
            name=dict(type="str", required=True),
            host=dict(type="str", default="localhost"),
            password=dict(type="str", no_log=True),
            privileges=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    client = Client(module)
    if module.params["kind"] == "database":
        changed = ensure_database(module, client)
    else:
        changed = ensure_user(module, client)
    module.exit_json(changed=changed)


if __name__ == "__main__":
    main()
