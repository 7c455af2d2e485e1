"""The playbook runner and its callback, with a throwaway playbook on the local connection."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from facteur import runner

pytestmark = pytest.mark.skipif(
    not runner.ansible_playbook_bin().exists(), reason="ansible-playbook is not installed next to this Python"
)

PLAYBOOK = """\
- name: Throwaway
  hosts: all
  gather_facts: false
  tasks:
    - name: Run true
      ansible.builtin.command: "true"
    - name: Copy a file
      ansible.builtin.copy:
        content: "{{{{ greeting }}}}\\n"
        dest: "{dest}"
        mode: "0600"
    - name: Skipped one
      ansible.builtin.command: "true"
      when: false
{extra}
"""

FAILING = """\
    - name: Break on purpose
      ansible.builtin.command: "ls {missing}"
    - name: Never reached
      ansible.builtin.command: "true"
"""

SECRET_FAILURE = """\
    - name: Hidden failure
      ansible.builtin.command: "ls {missing}"
      no_log: true
"""


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def write_playbook(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    dest = tmp_path / "out.txt"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(dest=dest, extra=extra.format(missing=tmp_path / "missing")))
    varsfile = tmp_path / "vars.json"
    varsfile.write_text(json.dumps({"greeting": "hello"}))
    return playbook, varsfile


def test_argv_is_a_list_with_local_connection(tmp_path):
    argv = runner.playbook_argv(tmp_path / "v.json", check=True, diff=True, tags="postfix")
    assert argv[0].endswith("/ansible-playbook")
    assert argv[1] == str(runner.PLAYBOOK)
    assert argv[2:6] == ["-i", "localhost,", "-c", "local"]
    assert "ansible_python_interpreter=/usr/bin/python3" in argv
    assert f"@{tmp_path / 'v.json'}" in argv
    assert argv[-4:] == ["--check", "--diff", "--tags", "postfix"]
    inventory = runner.playbook_argv("v.json", inventory="hosts.ini")
    assert "-c" not in inventory and inventory[2:4] == ["-i", "hosts.ini"]


def test_count_tasks(tmp_path):
    playbook, varsfile = write_playbook(tmp_path)
    assert runner.count_tasks(runner.playbook_argv(varsfile, playbook=playbook)) == 3


def test_successful_run(tmp_path):
    playbook, varsfile = write_playbook(tmp_path)
    out = io.StringIO()
    result = runner.run_playbook(varsfile, playbook=playbook, log_dir=tmp_path / "log", out=out)
    assert result.success, result.failure_line()
    assert (result.ok, result.changed, result.failed, result.skipped) == (2, 2, 0, 1)
    assert (tmp_path / "out.txt").read_text() == "hello\n"
    assert result.log_path.parent == tmp_path / "log"
    assert result.log_path.name.startswith("install-")
    log = result.log_path.read_text()
    assert "TASK [Copy a file]" in log and "PLAY RECAP" in log
    assert oct((tmp_path / "log").stat().st_mode & 0o777) == "0o750"


def test_second_run_changes_only_the_command(tmp_path):
    playbook, varsfile = write_playbook(tmp_path)
    runner.run_playbook(varsfile, playbook=playbook, log_dir=tmp_path / "log", out=io.StringIO())
    again = runner.run_playbook(varsfile, playbook=playbook, log_dir=tmp_path / "log2", out=io.StringIO())
    assert (again.ok, again.changed) == (2, 1)


def test_failure_names_the_task_and_the_log(tmp_path):
    playbook, varsfile = write_playbook(tmp_path, FAILING)
    result = runner.run_playbook(varsfile, playbook=playbook, log_dir=tmp_path / "log", out=io.StringIO())
    assert not result.success
    assert result.failed == 1
    assert result.failed_task == "Break on purpose"
    line = result.failure_line()
    assert "\n" not in line
    assert "No such file or directory" in line
    assert str(result.log_path) in line


def test_no_log_failure_hides_the_message(tmp_path):
    playbook, varsfile = write_playbook(tmp_path, SECRET_FAILURE)
    result = runner.run_playbook(varsfile, playbook=playbook, log_dir=tmp_path / "log", out=io.StringIO())
    assert result.failed_task == "Hidden failure"
    assert "missing" not in (result.failed_msg or "")
    assert "hidden" in (result.failed_msg or "")


def test_progress_bar_on_a_terminal(tmp_path):
    playbook, varsfile = write_playbook(tmp_path)
    out = FakeTerminal()
    runner.run_playbook(varsfile, playbook=playbook, log_dir=tmp_path / "log", out=out)
    text = out.getvalue()
    assert "\r[" in text
    assert "3/3 Skipped one" in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_plain_lines_per_role_when_not_a_terminal():
    out = io.StringIO()
    progress = runner.Progress(4, out)
    for role, task in [("base", "a"), ("base", "b"), ("postfix", "c"), ("", "handler")]:
        progress.handle({"event": "task", "role": role, "task": task})
    assert out.getvalue() == "facteur: base (1/4)\nfacteur: postfix (3/4)\n"


def test_progress_total_grows_past_the_estimate():
    out = FakeTerminal()
    progress = runner.Progress(1, out)
    progress.handle({"event": "task", "role": "tls", "task": "one"})
    progress.handle({"event": "task", "role": "tls", "task": "two"})
    assert "2/2 tls : two" in out.getvalue()


def test_event_reader_waits_for_whole_lines(tmp_path):
    path = tmp_path / "events"
    path.write_text('{"event": "task"}\n{"event": ')
    with open(path) as handle:
        reader = runner.EventReader(handle)
        assert reader.read() == [{"event": "task"}]
        with open(path, "a") as writer:
            writer.write('"stats", "hosts": {}}\n')
        assert reader.read() == [{"event": "stats", "hosts": {}}]


def test_environment_forces_a_utf8_locale(monkeypatch):
    monkeypatch.setenv("LC_ALL", "C")
    assert runner.ansible_env()["LC_ALL"] == "C.UTF-8"
    monkeypatch.setenv("LC_ALL", "fr_FR.UTF-8")
    assert runner.ansible_env()["LC_ALL"] == "fr_FR.UTF-8"
    env = runner.ansible_env(Path("/tmp/events"))
    assert env["ANSIBLE_CONFIG"] == str(runner.ANSIBLE_CFG)
    assert env["ANSIBLE_CALLBACKS_ENABLED"] == "facteur_progress"
    assert env["FACTEUR_EVENTS_FILE"] == "/tmp/events"
