"""A machine without an init system (like the host of these test machines): the same install brings
the stack up through Debian's init scripts, and the live self-test passes."""
import pytest

pytestmark = pytest.mark.noinit


def test_no_systemd_is_running(noinit_stack):
    assert noinit_stack.exec(["cat", "/proc/1/comm"]).stdout.strip() != "systemd"


@pytest.mark.parametrize("service", ["postfix", "dovecot", "mariadb", "sogo", "memcached"])
def test_services_run_through_init_scripts(noinit_stack, service):
    result = noinit_stack.exec(["service", service, "status"], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_self_check_passes(noinit_stack):
    result = noinit_stack.facteur("check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mail_is_logged_without_syslog(noinit_stack):
    assert noinit_stack.exec(["test", "-s", "/var/log/mail.log"], check=False).returncode == 0
