# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Counts the module calls of a playbook run, for benchmarks/local_stack.py (P2's "module calls")."""
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: module_calls
type: aggregate
short_description: Count the tasks that ran a module
description:
  - When the run ends, writes the module calls, the tasks that ran and the calls per action as JSON to the file
    named by C(BACKENDOPS_MODULE_CALLS_FILE). A task counts when it ran on a host (not skipped); a loop counts once per item that ran.
  - Actions that only steer the play (C(set_fact), C(assert), C(debug), C(fail), C(meta), includes and imports,
    and the role argument checks C(validate_argument_spec)) count as tasks but not as module calls.
"""

# Actions that decide or report inside Ansible rather than call a module. validate_argument_spec is the check of
# a role's meta/argument_specs.yml that Ansible inserts itself: an assert in all but name.
NOT_MODULE_CALLS = frozenset(
    "set_fact assert debug fail meta include_tasks import_tasks include_role import_role include_vars "
    "include import_playbook validate_argument_spec".split()
)


def _short(action):
    return action.rsplit(".", 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_calls"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks = 0
        self.calls = 0
        self.by_action = {}

    def _count(self, result):
        action = _short(result._task.action)
        self.tasks += 1
        if action in NOT_MODULE_CALLS:
            return
        items = result._result.get("results")
        ran = 1 if not isinstance(items, list) else sum(1 for item in items if not item.get("skipped"))
        self.calls += ran
        self.by_action[action] = self.by_action.get(action, 0) + ran

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BACKENDOPS_MODULE_CALLS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"module_calls": self.calls, "tasks": self.tasks,
                           "by_action": dict(sorted(self.by_action.items()))}, handle)
