# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Apps as teams build them come up with ONE run of playbooks/local.yml, on the real engine.

One fixture app per shape (tests/fixtures/apps): pnpm with path aliases, npm workspaces with Prisma in a sibling
package, yarn 1 building in postinstall, NestJS, an own Debian-based Dockerfile without a registry, and an Express +
BullMQ app with a worker and a cron job. Each is given only its source directory (and app_dir for the monorepo), a
stack name and a port: `--check --diff` on the new stack writes and builds nothing, the real run is healthy, its API
writes a row and reads it back, and a re-run reports changed=0. Teardown of the worker app's stack - with its profile
broken by then - leaves no container, network, volume, file or image behind (absent reads no profile, whatever the
shape). The refusals before any change are test_app_profile_checks.py's.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from evidence.stack import LocalStack
from support import REPO_ROOT, docker, request_json, run_playbook

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "apps"

# fixture: (health path, write path and body, read path, extra variables, Node.js major the app runs)
SHAPES = {
    "pnpm-aliases": ("/health", "/bookmarks", {"url": "https://example.org/a", "title": "a"}, {}, "24"),
    "npm-workspaces": ("/healthz", "/tasks", {"title": "ship it"}, {"app_image_app_dir": "apps/api"}, "24"),
    "yarn-postinstall": ("/api/health", "/api/products", {"name": "tea", "priceCents": 450}, {}, "22"),
    "nestjs-api": ("/health", "/contacts", {"name": "Ada", "email": "ada@example.org"}, {}, "24"),
    "debian-dockerfile": ("/healthz", "/feedback", {"message": "works offline", "rating": 5}, {}, None),
}


def stack_of(tmp_path: Path, app: str, health: str) -> LocalStack:
    stack = LocalStack(app[:12], tmp_path, app=FIXTURES / app, health_path=health)
    stack.copy_source()
    return stack


def leftovers(stack: LocalStack) -> dict[str, list[str]]:
    label = f"label=com.docker.compose.project={stack.project}"
    return {"containers": stack.containers(),
            "networks": docker("network", "ls", "--quiet", "--filter", label).stdout.split(),
            "volumes": docker("volume", "ls", "--quiet", "--filter", label).stdout.split(),
            "images": stack.app_images(),
            "files": [str(stack.project_dir)] if stack.project_dir.exists() else []}


def teardown_with_a_broken_app(stack: LocalStack) -> None:
    """absent with every removal on, after the app's profile became invalid: it must not be read."""
    (stack.source / "package.json").write_text("{ not json")
    run = stack.local_yml(compose_stack_state="absent", compose_stack_remove_volumes=True,
                          compose_stack_remove_files=True, compose_stack_remove_images=True)
    assert "removed" in run.stdout
    assert leftovers(stack) == {"containers": [], "networks": [], "volumes": [], "images": [], "files": []}


@pytest.mark.parametrize("app", sorted(SHAPES))
def test_an_app_of_each_shape_comes_up_with_one_run(tmp_path, app):
    health, write_path, body, extra, major = SHAPES[app]
    stack = stack_of(tmp_path, app, health)
    try:
        planned = stack.local_yml("--check", "--diff", **extra)
        assert "Would create stack %s" % stack.name in planned.stdout
        assert leftovers(stack)["files"] == [] and stack.app_images() == []
        assert not (tmp_path / "app-image").exists()

        first = stack.local_yml(**extra)
        assert "Stack %s (prod) is healthy: %s%s" % (stack.name, stack.url, health) in first.stdout
        status, row = request_json(stack.url + write_path, "POST", body)
        assert status == 201, row
        assert request_json("%s%s/%s" % (stack.url, write_path, row["id"])) == (200, row)
        if major:
            node = docker("exec", f"{stack.project}-backend-1", "node", "--version").stdout
            assert node.startswith("v%s." % major)
        assert docker("exec", f"{stack.project}-backend-1", "id", "-u").stdout.strip() != "0"

        again = stack.local_yml(**extra)
        assert again.recap()["changed"] == 0, again.stdout[-3000:]
    finally:
        stack.destroy()


def test_a_worker_processes_jobs_a_cron_job_runs_on_demand_and_a_dying_worker_fails_the_run(tmp_path):
    stack = stack_of(tmp_path, "bullmq-worker", "/health")
    # The Procfile's worker, plus a cron job the app declares here.
    processes = {"worker": "node src/worker.js", "report": {"command": "node src/report.js", "schedule": "*/15 * * * *"}}
    extra = {"app_image_profile_overrides": {"processes": processes}}
    try:
        first = stack.local_yml(**extra)
        assert "processes web, worker running" in " ".join(first.stdout.split())
        status, job = request_json(stack.url + "/jobs", "POST", {"text": "one two three"})
        assert status == 202 and job["status"] == "waiting"
        deadline = time.monotonic() + 30
        while request_json(f"{stack.url}/jobs/{job['id']}")[1].get("status") != "done" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert request_json(f"{stack.url}/jobs/{job['id']}")[1]["words"] == 3
        # The worker has no published port and not the web port's health check.
        worker = json.loads(docker("inspect", f"{stack.project}-worker-1").stdout)[0]
        assert not worker["HostConfig"]["PortBindings"]
        assert worker["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "kill -0 1"]

        again = stack.local_yml(**extra)
        assert again.recap()["changed"] == 0, again.stdout[-3000:]

        cron = run_playbook("playbooks/run.yml", "-e", json.dumps({"compose_stack_name": stack.name,
                                                                   "compose_stack_run_process": "report"}))
        assert cron.rc == 0 and '"done":1' in cron.stdout.replace(" ", ""), cron.output[-3000:]
        oneoff = run_playbook("playbooks/run.yml", "-e", json.dumps({"compose_stack_name": stack.name,
                                                                     "compose_stack_run_command": "npx prisma migrate status"}))
        assert oneoff.rc == 0 and "Database schema is up to date" in oneoff.stdout, oneoff.output[-3000:]
        # `make logs`: the last lines of every process, through local_stack_info.
        logs = run_playbook("playbooks/logs.yml", "-e", json.dumps({"compose_stack_name": stack.name,
                                                                    "compose_stack_log_lines": 5}))
        assert logs.rc == 0 and logs.recap()["changed"] == 0, logs.output[-3000:]
        assert re.search(r"worker-1\s+\|", logs.stdout) and re.search(r"backend-1\s+\|", logs.stdout), logs.stdout[-3000:]

        dying = {"app_image_profile_overrides": {"processes": {"worker": "node -e \"console.error('no queue'); process.exit(3)\""}}}
        failed = stack.local_yml(check=False, **dying)
        assert failed.rc != 0
        assert "Process worker's last log lines" in failed.output and "no queue" in failed.output

        teardown_with_a_broken_app(stack)
    finally:
        stack.destroy()
