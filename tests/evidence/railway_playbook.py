# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/railway.yml against the Railway emulator, configured only through an inventory and the environment."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from evidence.runs import TaskRun, run_json
from support import REPO_ROOT, PlaybookRun, run_playbook

RAILWAY_YML = REPO_ROOT / "playbooks/railway.yml"
# Fast waits: health checks retried twice a second apart, deployments polled every 0.2 s.
FAST = {"railway_health_retries": 2, "railway_health_delay": 1, "railway_poll_interval": 0.2}


class RailwayPlaybook:
    """railway.yml with an inventory for localhost (group `railway`) that points at one emulator."""

    def __init__(self, emulator, workdir: Path, variables: dict[str, Any], **host_vars: Any):
        self.emulator = emulator
        self.workdir = workdir
        self.inventory = workdir / "railway-inventory.yml"
        host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "railway_project": "backendops-demo", "railway_variables": variables,
                # The seeded backend is connected to acme/backend: the evidence releases the local sample over it.
                "railway_deploy_source": "upload",
                # The emulator's stand-in for https://{domain}.
                "railway_health_base_url": emulator.admin_url + "/apps/{domain}", **FAST, **host_vars}
        self.inventory.write_text(yaml.safe_dump({"all": {"children": {"railway": {"hosts": {"localhost": host}}}}}),
                                  encoding="utf-8")
        self.extra = workdir / "railway-extra-vars.json"

    def environment(self, token: str = "account") -> dict[str, str]:
        """The token and URLs as a user (or AWX's credential) provides them: environment variables only."""
        env = {"RAILWAY_API_URL": self.emulator.url, "RAILWAY_API_TOKEN": "", "RAILWAY_TOKEN": ""}
        # Account and workspace tokens go in RAILWAY_API_TOKEN, a project token in RAILWAY_TOKEN (as for the CLI).
        env["RAILWAY_TOKEN" if token == "project" else "RAILWAY_API_TOKEN"] = getattr(self.emulator, token + "_token")
        return env

    def _args(self, args: tuple[str, ...], variables: dict[str, Any]) -> list[str]:
        self.extra.write_text(json.dumps(variables), encoding="utf-8")
        return ["-i", str(self.inventory), "-e", f"@{self.extra}", *args]

    def run(self, *args: str, token: str = "account", env: dict[str, str] | None = None, **variables: Any) -> PlaybookRun:
        """With the default (human) output, as a user sees it."""
        return run_playbook(RAILWAY_YML, *self._args(args, variables), env={**self.environment(token), **(env or {})})

    def run_json(self, *args: str, token: str = "account", env: dict[str, str] | None = None, **variables: Any) -> TaskRun:
        return run_json(RAILWAY_YML, *self._args(args, variables), env={**self.environment(token), **(env or {})})
