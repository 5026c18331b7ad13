# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/callback_plugins/module_calls.py counts what P2 prints as "module calls": no steering actions,
no skipped tasks, one call per loop item that ran."""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
sys.path.insert(0, str(REPO_ROOT / "tests"))
import local_stack  # noqa: E402  pylint: disable=wrong-import-position,import-error
from support import run_playbook  # noqa: E402  pylint: disable=wrong-import-position,import-error


def test_module_calls_leave_out_steering_actions_and_skips(tmp_path):
    tasks = [
        {"name": "Set a fact", "ansible.builtin.set_fact": {"x": 1}},
        {"name": "Check it", "ansible.builtin.assert": {"that": "x == 1", "quiet": True}},
        {"name": "Say it", "ansible.builtin.debug": {"msg": "x"}},
        {"name": "Run a command", "ansible.builtin.command": "true", "changed_when": False},
        {"name": "Stat three paths, one skipped", "ansible.builtin.stat": {"path": "{{ item }}"},
         "loop": ["/", "/tmp", "/nonexistent"], "when": "item != '/nonexistent'"},
        {"name": "Skipped", "ansible.builtin.command": "false", "when": False},
        {"name": "Fail and go on", "ansible.builtin.command": "false", "ignore_errors": True},
    ]
    playbook = tmp_path / "count.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    counts = tmp_path / "counts.json"
    run = run_playbook(playbook, "-i", "localhost,", "-c", "local", env=local_stack.counting_env(counts))
    assert run.rc == 0, run.output[-2000:]
    assert "PLAY RECAP" in run.output, "the default output stays"
    assert local_stack.module_calls(counts) == {"module_calls": 4, "tasks": 6, "by_action": {"command": 2, "stat": 2}}
