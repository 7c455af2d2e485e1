"""Ansible callback: one JSON line per playbook event, for facteur's progress display and summary.

Enabled by facteur.runner through ANSIBLE_CALLBACKS_ENABLED=facteur_progress; writes to the file named
by $FACTEUR_EVENTS_FILE (does nothing without it). Events:

  {"event": "task", "role": ROLE, "task": NAME, "handler": BOOL}
  {"event": "result", "host": H, "role": ROLE, "task": NAME,
   "status": "ok" | "changed" | "failed" | "skipped" | "unreachable", "ignored": BOOL, "msg": TEXT}
  {"event": "stats", "hosts": {H: {"ok": N, "changed": N, "failures": N, "unreachable": N,
                                   "skipped": N, "rescued": N, "ignored": N}}}

`msg` is only present for failures, and hidden for tasks marked no_log.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: facteur_progress
type: notification
short_description: JSON lines of task starts, results and final stats for facteur
description:
  - Writes one JSON object per line to the file named by the FACTEUR_EVENTS_FILE environment variable.
requirements:
  - enabled in callbacks_enabled
"""

# Long outputs are cut: the event only has to say what failed; the full text is in the log.
_MAX_MSG = 500


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "facteur_progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        path = os.environ.get("FACTEUR_EVENTS_FILE")
        # Line-buffered: the runner reads events while the playbook runs.
        self._out = open(path, "a", buffering=1, encoding="utf-8") if path else None  # noqa: SIM115

    # --- helpers ---

    def _emit(self, **event):
        if self._out is not None:
            self._out.write(json.dumps(event, default=str) + "\n")

    @staticmethod
    def _names(task):
        role = task._role.get_name(include_role_fqcn=False) if task._role else ""
        return role, task.name or task.action or ""

    def _result(self, result, status, ignored=False):
        role, name = self._names(result._task)
        event = {
            "event": "result",
            "host": result._host.get_name(),
            "role": role,
            "task": name,
            "status": status,
            "ignored": bool(ignored),
        }
        if status in ("failed", "unreachable"):
            event["msg"] = self._message(result)
        self._emit(**event)

    @staticmethod
    def _message(result):
        data = result._result
        if result._task.no_log or data.get("_ansible_no_log") or "censored" in data:
            return "(details hidden: the task handles a secret)"
        parts = [str(data.get("msg") or "").strip()]
        # Commands fail with msg "non-zero return code": the reason is in their stderr (or stdout).
        detail = str(data.get("stderr") or data.get("stdout") or "").strip()
        if detail:
            parts.append(detail.splitlines()[-1].strip())
        text = ": ".join(part for part in parts if part) or "failed"
        text = " ".join(text.split())
        return text if len(text) <= _MAX_MSG else text[: _MAX_MSG - 3] + "..."

    # --- events ---

    def v2_playbook_on_task_start(self, task, is_conditional):
        role, name = self._names(task)
        self._emit(event="task", role=role, task=name, handler=False)

    def v2_playbook_on_handler_task_start(self, task):
        role, name = self._names(task)
        self._emit(event="task", role=role, task=name, handler=True)

    def v2_runner_on_ok(self, result):
        self._result(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed", ignored=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._emit(event="stats", hosts={host: stats.summarize(host) for host in sorted(stats.processed)})
        if self._out is not None:
            self._out.close()
            self._out = None
