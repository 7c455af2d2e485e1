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
    description: "'db.table:PRIV,PRIV' items, e.g. 'postfixadmin.alias:SELECT'; column privileges
      as PRIV(col,col), e.g. 'postfixadmin.mailbox:SELECT(username),UPDATE(password,modified)'"
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


PRIVILEGE = re.compile(r"\s*([A-Za-z ]+?)\s*(?:\(([^)]*)\))?\s*(?:,|$)")


def parse_privileges(text):
    """'SELECT, UPDATE (`password`, modified)' -> {('SELECT', None), ('UPDATE', 'modified'),
    ('UPDATE', 'password')}: one (privilege, column or None) pair per grant, names normalised
    (privileges upper case, columns lower case without backquotes), so that what is wanted and what
    SHOW GRANTS prints compare equal."""
    pairs = set()
    for match in PRIVILEGE.finditer(text.strip()):
        priv, columns = match.group(1).strip().upper(), match.group(2)
        if not priv:
            continue
        if columns is None:
            pairs.add((priv, None))
        else:
            pairs.update((priv, c.strip().strip("`").lower()) for c in columns.split(",") if c.strip())
    return pairs


def privileges_sql(pairs):
    """{('SELECT', None), ('UPDATE', 'password')} -> 'SELECT, UPDATE (`password`)' (stable order)."""
    by_priv = {}
    for priv, column in pairs:
        by_priv.setdefault(priv, set())
        if column is not None:
            by_priv[priv].add(column)
    parts = []
    for priv in sorted(by_priv):
        if (priv, None) in pairs:
            parts.append(priv)
        if by_priv[priv]:
            parts.append(f"{priv} (" + ", ".join(sql_ident(c) for c in sorted(by_priv[priv])) + ")")
    return ", ".join(parts)


def wanted_grants(items):
    """'db.table:PRIV,PRIV(col,col)' items -> {object: set of (privilege, column or None)}."""
    grants = {}
    for item in items:
        obj, _, privs = item.partition(":")
        grants[object_sql(obj)] = parse_privileges(privs)
    return grants


GRANT_LINE = re.compile(r"^GRANT (.+) ON (\S+) TO ")


def current_grants(client, name, host):
    grants = {}
    for (line,) in client.run(f"SHOW GRANTS FOR {account(name, host)};"):
        match = GRANT_LINE.match(line)
        if not match:
            continue
        privs = parse_privileges(match.group(1))
        if match.group(2) == "*.*":
            # Every account has USAGE on *.*; only real global privileges count.
            privs.discard(("USAGE", None))
            if not privs:
                continue
        grants.setdefault(match.group(2), set()).update(privs)
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
        if ("ALL PRIVILEGES", None) in have.get(obj, set()):
            # A blanket grant (e.g. left by dbconfig-common) is narrowed to exactly what is wanted.
            statements.append(f"REVOKE ALL PRIVILEGES ON {obj} FROM {who};")
            have[obj] = set()
        missing = privs - have.get(obj, set())
        if missing:
            statements.append(f"GRANT {privileges_sql(missing)} ON {obj} TO {who};")
        extra = have.get(obj, set()) - privs
        if extra:
            statements.append(f"REVOKE {privileges_sql(extra)} ON {obj} FROM {who};")
    for obj, privs in have.items():
        if obj not in want and privs != {("USAGE", None)}:
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
