# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run tasks the way a user does (ansible-playbook with the repo's ansible.cfg) and read their results back."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import PlaybookRun, run_playbook, write_play

TRACEBACK = "Traceback (most recent call last)"
CRASH_MARKERS = ("Module failed:", "MODULE FAILURE")


@dataclass
class TaskRun:
    """The per-task results of localhost in one ansible-playbook run, and the run itself."""

    results: list[dict[str, Any]]
    names: list[str]
    run: PlaybookRun

    def by_name(self) -> dict[str, dict[str, Any]]:
        return dict(zip(self.names, self.results))


def run_json(playbook: str | Path, *args: str, env: dict[str, str] | None = None, timeout: int = 1800) -> TaskRun:
    """Run a playbook with the JSON callback; the results of localhost, task by task."""
    run = run_playbook(playbook, *args, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", **(env or {})}, timeout=timeout)
    try:
        document = json.loads(run.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from ansible-playbook {playbook}:\n{run.output[-3000:]}") from None
    tasks = [task for play in document["plays"] for task in play["tasks"] if "localhost" in task["hosts"]]
    return TaskRun([task["hosts"]["localhost"] for task in tasks], [task["task"]["name"] for task in tasks], run)


def run_tasks(path: Path, tasks: list[dict[str, Any]], *args: str, module_defaults: dict[str, Any] | None = None,
              env: dict[str, str] | None = None) -> TaskRun:
    """Write ``tasks`` as a one-play playbook at ``path`` and run it with the JSON callback."""
    write_play(path, tasks, module_defaults, name="evidence")
    return run_json(path, *args, env=env)


def last_failure(results: list[dict[str, Any]]) -> str:
    """The message of the failure that stopped the play (the last failed result)."""
    failed = [result for result in results if result.get("failed")]
    return str(failed[-1].get("msg", "")) if failed else ""


def shows_traceback(run: PlaybookRun, *results: dict[str, Any]) -> bool:
    """A Python traceback in the output, or a module that crashed.

    ansible-core 2.19 shows no traceback for a crash unless ANSIBLE_DISPLAY_TRACEBACK asks for one; the crash
    shows as "Module failed: <exception>" (an unhandled exception) or "MODULE FAILURE" (no JSON at all). Every
    failed result carries an ``exception`` key, so that key proves nothing.
    """
    if TRACEBACK in run.output:
        return True
    return any(marker in str(result.get("msg", "")) or TRACEBACK in str(result.get("module_stderr", ""))
               for result in results for marker in CRASH_MARKERS)
