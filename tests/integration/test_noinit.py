"""A machine without an init system (like the host of these test machines): the same install brings
the stack up through Debian's init scripts, and the live self-test passes."""
import pytest

pytestmark = pytest.mark.noinit


def test_no_systemd_is_running(noinit_stack):
    assert noinit_stack.exec(["cat", "/proc/1/comm"]).stdout.strip() != "systemd"


@pytest.mark.parametrize("service", ["postfix", "dovecot", "mariadb", "sogo", "memcached",
                                     "postfix-mta-sts-resolver"])
def test_services_run_through_init_scripts(noinit_stack, service):
    result = noinit_stack.exec(["service", service, "status"], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_self_check_passes(noinit_stack):
    result = noinit_stack.facteur("check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mail_is_logged_without_syslog(noinit_stack):
    assert noinit_stack.exec(["test", "-s", "/var/log/mail.log"], check=False).returncode == 0


def test_postfix_gets_answers_from_the_mta_sts_resolver(noinit_stack):
    """Started by its init script, the resolver answers Postfix's policy lookups (1: no policy, not
    an error, which would defer all outbound mail) and writes its log where the docs say."""
    lookup = noinit_stack.exec(["postmap", "-q", "example.invalid", "socketmap:inet:127.0.0.1:8461:postfix"],
                               check=False)
    # postmap also exits 1 when the connection is refused: only then does it warn of a lookup error.
    assert lookup.returncode == 1 and "lookup error" not in lookup.stderr, lookup.stdout + lookup.stderr
    assert noinit_stack.exec(["test", "-s", "/var/log/mta-sts-daemon.log"], check=False).returncode == 0
