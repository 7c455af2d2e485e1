"""The install itself: a second run changes nothing; bad configuration changes nothing."""
import re

import pytest

WATCHED = ["/etc/postfix/main.cf", "/etc/postfix/master.cf", "/etc/dovecot/dovecot.conf",
           "/etc/postfixadmin/config.local.php"]


def fingerprint(stack):
    """Checksums of the rendered configuration and the list of install logs."""
    sums = stack.exec(["sha256sum", *WATCHED]).stdout
    logs = stack.exec(["ls", "/var/log/facteur"]).stdout
    return sums, logs


def test_second_install_changes_nothing(stack):
    result = stack.exec(["/usr/local/sbin/facteur", "install"], check=False, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"install complete: ok=(\d+) changed=(\d+) failed=(\d+)", result.stdout)
    assert match, result.stdout[-2000:]
    assert match.group(2) == "0", "a second install changed something: see " + result.stdout[-2000:]
    assert "password" not in result.stdout.lower(), "the admin password is printed only once"


@pytest.mark.parametrize("content, path_fragment", [
    ("limits:\n  max_list_members: 5000\n", "limits.max_list_members"),
    ("hostname: mail.example.test\nfrobnicate: yes\n", "frobnicate"),
    ("domains: [example.test\n", "facteur-bad.yml"),  # YAML syntax error
    ("tls:\n  mode: files\n", "tls"),  # files mode without cert/key
])
def test_bad_config_is_one_line_and_changes_nothing(stack, content, path_fragment):
    stack.exec(["tee", "/tmp/facteur-bad.yml"], input=content)
    before = fingerprint(stack)
    result = stack.exec(["/usr/local/sbin/facteur", "install", "--config", "/tmp/facteur-bad.yml"],
                        check=False)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert path_fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert fingerprint(stack) == before


def test_secrets_are_private(stack):
    listing = stack.exec(["stat", "-c", "%a %U %n", "/etc/facteur/secrets",
                          "/etc/facteur/secrets/admin-password",
                          "/etc/facteur/secrets/mariadb-postfix"]).stdout.splitlines()
    assert listing[0].startswith("700 root")
    assert all(line.startswith("600 root") for line in listing[1:])


def test_install_log_holds_no_secret(stack):
    secrets = stack.exec(["sh", "-c", "cat /etc/facteur/secrets/*"]).stdout.split()
    logs = stack.exec(["sh", "-c", "cat /var/log/facteur/*.log"]).stdout
    assert logs, "install logs are written"
    for secret in secrets:
        assert secret not in logs


def test_check_mode_reports_no_change_on_an_installed_stack(stack):
    before = fingerprint(stack)
    result = stack.exec(["/usr/local/sbin/facteur", "install", "--check", "--diff"],
                        check=False, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"changed=(\d+)", result.stdout)
    assert match and match.group(1) == "0", result.stdout[-2000:]
    assert fingerprint(stack)[0] == before[0]


def test_install_log_has_the_full_ansible_output(stack):
    logs = stack.exec(["sh", "-c", "cat /var/log/facteur/install-*.log"]).stdout
    assert "PLAY RECAP" in logs
    assert "TASK [postfix : Write main.cf]" in logs
