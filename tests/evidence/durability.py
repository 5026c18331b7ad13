# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Durability: bug reports written through the sample backend, and their BullMQ triage jobs in Redis, survive.

Before each step a few reports are written (each queues a triage job, which the backend's worker completes and
BullMQ keeps in Redis); after the step every report written so far is read back through the API and every job
is looked up in Redis. A step also proves it happened (a new image, new containers, a new engine process), so
"found" is never the result of a step that did nothing.
"""
from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from evidence.rows import Row
from evidence.stack import LocalStack
from support import DOCKER_PIDFILE, docker, run_playbook

STACK = "evidence-durable"
ENGINE_STACK = "evidence-restart"
REPORTS_PER_STEP = 3
QUEUE = "bug-report-triage"


@dataclass
class StepResult:
    """Reports and jobs written before a step, and found after it."""

    step: str
    rows_written: int
    rows_found: int
    jobs_written: int
    jobs_found: int
    proof: str
    proven: bool

    @property
    def ok(self) -> bool:
        return self.proven and self.rows_found == self.rows_written and self.jobs_found == self.jobs_written

    def as_row(self) -> Row:
        figure = f"rows {self.rows_found}/{self.rows_written}, jobs {self.jobs_found}/{self.jobs_written}"
        return Row("durability", self.step, figure, "all found", self.ok, "" if self.ok else self.proof)


class Ledger:
    """Reports written through the API of one stack, and the triage jobs they queued."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.reports: dict[int, str] = {}

    def _request(self, path: str, payload: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.stack.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def write(self, step: str) -> None:
        for index in range(REPORTS_PER_STEP):
            title = f"durability {step} #{index}"
            payload = {"title": title, "description": "written by the evidence checks", "severity": "medium"}
            status, report = self._request("/api/bug-reports", payload)
            if status != 201:
                raise AssertionError(f"POST /api/bug-reports answered {status} before step {step}")
            self.reports[report["id"]] = title
        self.wait_triaged()

    def wait_triaged(self, timeout: float = 60) -> None:
        """Until the worker has run every job (a report leaves status 'new'), so each job is complete in Redis."""
        deadline = time.monotonic() + timeout
        pending = set(self.reports)
        while pending and time.monotonic() < deadline:
            pending = {rid for rid in pending if (self._request(f"/api/bug-reports/{rid}")[1] or {}).get("status") != "triaged"}
            if pending:
                time.sleep(0.5)
        if pending:
            raise AssertionError(f"triage jobs of reports {sorted(pending)} did not complete within {timeout} s")

    def rows_found(self) -> int:
        return sum(1 for rid, title in self.reports.items() if (self._request(f"/api/bug-reports/{rid}")[1] or {}).get("title") == title)

    def jobs_found(self) -> int:
        """Completed jobs in Redis (BullMQ keeps their hashes), read with redis-cli in the stack's Redis container."""
        commands = "".join(f"HGET bull:{QUEUE}:bug-report-{rid} finishedOn\n" for rid in self.reports)
        answer = self.stack.compose("exec", "-T", "redis", "redis-cli", stdin=commands, check=False)
        return sum(1 for line in answer.stdout.splitlines() if line.strip().isdigit()) if answer.returncode == 0 else 0

    def result(self, step: str, proof: str, proven: bool) -> StepResult:
        written = len(self.reports)
        return StepResult(step, written, self.rows_found(), written, self.jobs_found(), proof, proven)


def container_ids(stack: LocalStack, restart_policy_only: bool = False) -> dict[str, str]:
    """Service -> (container ID, start time): a new ID means recreated, a new start time means restarted.

    restart_policy_only: leave out containers without a restart policy (the one-shot migrate service), which an
    engine restart does not bring back, by design.
    """
    ids = {}
    for name in stack.containers():
        info = json.loads(docker("inspect", "--format", "{{json .}}", name).stdout)
        if restart_policy_only and info["HostConfig"]["RestartPolicy"]["Name"] in ("", "no"):
            continue
        ids[name] = f"{info['Id'][:12]} {info['State']['StartedAt']}"
    return ids


def backend_image(stack: LocalStack) -> str:
    return docker("inspect", "--format", "{{.Config.Image}}", f"{stack.project}-backend-1").stdout.strip()


def _differs(before: dict[str, str], after: dict[str, str], part: int) -> bool:
    """Did every container change its ID (part 0) or its start time (part 1)?"""
    return bool(before) and set(before) == set(after) and all(
        before[name].split()[part] != after[name].split()[part] for name in before)


def _step(ledger: Ledger, name: str, action: Callable[[], tuple[str, bool]]) -> StepResult:
    ledger.write(name)
    proof, proven = action()
    ledger.stack.wait_healthy()
    return ledger.result(name, proof, proven)


def run_steps(workdir: Path) -> list[StepResult]:
    """Re-run, image rebuild, restarted, compose down + local.yml; the stack is removed afterwards."""
    stack = LocalStack(STACK, workdir)
    stack.copy_source()
    ledger = Ledger(stack)
    results = []
    try:
        stack.local_yml()

        def rerun():
            changed = stack.local_yml().recap()["changed"]
            return f"local.yml ran again, changed={changed}", changed == 0

        def rebuild():
            before_image, before = backend_image(stack), container_ids(stack)
            with open(stack.source / "src/greeting.js", "a", encoding="utf-8") as handle:
                handle.write(f"// durability check {time.time()}\n")
            stack.local_yml()
            after_image = backend_image(stack)
            backend = f"{stack.project}-backend-1"
            recreated = before[backend].split()[0] != container_ids(stack)[backend].split()[0]
            return f"image {before_image} -> {after_image}, backend recreated: {recreated}", after_image != before_image and recreated

        def restarted():
            before = container_ids(stack)
            stack.local_yml(compose_stack_state="restarted")
            return "every container restarted", _differs(before, container_ids(stack), 1)

        def down_and_up():
            # New containers keep the stack's secrets: the database volume only opens with its own password.
            before, secrets = container_ids(stack), stack.secrets()
            stack.compose("down")
            gone = not stack.containers()
            stack.local_yml()
            kept = stack.secrets() == secrets and stack.secret_in_container("backend", "DATABASE_URL") == secrets["DATABASE_URL"]
            return (f"containers removed: {gone}, recreated, secrets kept: {kept}",
                    gone and kept and _differs(before, container_ids(stack), 0))

        for name, action in (("re-run of local.yml", rerun), ("app image rebuild (code change)", rebuild),
                             ("compose_stack_state=restarted", restarted),
                             ("docker compose down (volumes kept), then local.yml", down_and_up)):
            results.append(_step(ledger, name, action))
        return results
    finally:
        stack.destroy()


def engine_pid() -> int:
    return int(DOCKER_PIDFILE.read_text(encoding="utf-8").strip())


def restart_engine() -> str:
    """Stop dockerd by its pidfile, then start it the collection's way (playbooks/docker_engine.yml)."""
    old = engine_pid()
    os.kill(old, signal.SIGTERM)
    deadline = time.monotonic() + 120
    while Path(f"/proc/{old}").exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"dockerd {old} did not stop within 120 s")
        time.sleep(0.5)
    run = run_playbook("playbooks/docker_engine.yml")
    if run.rc != 0:
        raise AssertionError(f"playbooks/docker_engine.yml did not start the engine again:\n{run.output[-3000:]}")
    return f"dockerd {old} -> {engine_pid()}"


def run_engine_restart(workdir: Path) -> StepResult:
    """A stack of its own through a restart of the Docker engine; its containers come back by their restart policy."""
    stack = LocalStack(ENGINE_STACK, workdir)
    stack.copy_source()
    ledger = Ledger(stack)
    try:
        stack.local_yml()

        def engine():
            before = container_ids(stack, restart_policy_only=True)
            proof = restart_engine()
            stack.wait_healthy()
            return proof, _differs(before, container_ids(stack, restart_policy_only=True), 1) and str(engine_pid()) in proof
        return _step(ledger, "Docker engine restart (restart policy)", engine)
    finally:
        stack.destroy()
