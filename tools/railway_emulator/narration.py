# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a deployment writes while it moves: build/deploy log lines and deployment events per stage.

The texts mimic Railway's (and the phrases clients look for, e.g. "No changed files matched patterns",
"1/1 replicas never became healthy") but are otherwise illustrative.
"""
from __future__ import annotations

from typing import Callable

from tools.railway_emulator.model import DEFAULT_HEALTHCHECK_TIMEOUT, Deployment, Event, LogLine, Stage

# Deployment event step recorded for each stage that has one.
STAGE_EVENT_STEP = {
    "INITIALIZING": "SNAPSHOT_CODE",
    "BUILDING": "BUILD_IMAGE",
    "PRE_DEPLOY": "PRE_DEPLOY_COMMAND",
    "DEPLOYING": "CREATE_CONTAINER",
    "HEALTHCHECK": "HEALTHCHECK",
}
DEFAULT_MIGRATION = "20250101000000_add_orders"
HEALTHCHECK_ERROR = "1/1 replicas never became healthy"
SKIP_MESSAGE = "No changed files matched patterns: build will skip"


def pre_deploy_command(dep: Deployment) -> str:
    command = dep.settings.get("preDeployCommand") or ["npx prisma migrate deploy"]
    return " && ".join(command) if isinstance(command, list) else str(command)


def _source(dep: Deployment) -> str:
    if dep.upload is not None:
        return f"{len(dep.upload['files'])} uploaded files"
    if dep.meta.get("image"):
        return f"image {dep.meta['image']}"
    if dep.meta.get("commitHash"):
        return f"{dep.meta.get('repo', 'repository')}@{dep.meta['commitHash'][:7]}"
    return "service source"


def _fault_param(dep: Deployment, name: str, default: str) -> str:
    return str((dep.fault or {}).get("params", {}).get(name, default))


def _enter_lines(dep: Deployment, stage: Stage) -> tuple[str, list[str]]:
    """(log kind, lines) written when a stage starts."""
    settings = dep.settings
    if stage.name == "WAITING":
        return "build", ["Waiting for CI checks to pass before building"]
    if stage.name == "NEEDS_APPROVAL":
        return "build", ["Deployment is waiting for approval"]
    if stage.name == "INITIALIZING":
        return "build", [f"Initialization: snapshotting {_source(dep)}"]
    if stage.name == "BUILDING":
        lines = [f"Using {settings.get('builder') or 'RAILPACK'} builder", f"Building {_source(dep)}"]
        if settings.get("buildCommand"):
            lines.append(f"$ {settings['buildCommand']}")
        return "build", lines
    if stage.name == "PRE_DEPLOY":
        return "deploy", [f"Running pre-deploy command: {pre_deploy_command(dep)}"]
    if stage.name == "DEPLOYING":
        return "deploy", ["Starting Container"]
    if stage.name == "HEALTHCHECK":
        timeout = settings.get("healthcheckTimeout") or DEFAULT_HEALTHCHECK_TIMEOUT
        return "build", ["Starting Healthcheck", f"Path: {settings.get('healthcheckPath') or '/'}", f"Retry window: {timeout}s"]
    return "build", []


def _finish_lines(dep: Deployment, stage: Stage, seconds: float) -> tuple[str, list[str], str | None]:
    """(log kind, lines, event error) written when a stage ends with its outcome."""
    failed = stage.outcome != "ok"
    if stage.name == "INITIALIZING":
        return "build", [SKIP_MESSAGE if stage.outcome == "SKIPPED" else "Snapshot ready"], None
    if stage.name == "BUILDING":
        if not failed:
            return "build", [f"Build time: {seconds:.2f} seconds"], None
        error = 'ERROR: failed to build: process "/bin/sh -c npm run build" did not complete successfully: exit code: 1'
        return "build", [_fault_param(dep, "message", "npm error code ELIFECYCLE"), error], error
    if stage.name == "PRE_DEPLOY":
        if not failed:
            return "deploy", ["Pre-deploy command completed successfully"], None
        migration = _fault_param(dep, "migration", DEFAULT_MIGRATION)
        lines = [
            "Error: P3018",
            "A migration failed to apply. New migrations cannot be applied before the error is recovered from.",
            f"Migration name: {migration}",
            "Database error code: 42P07",
            "Pre-deploy command failed with exit code 1",
        ]
        return "deploy", lines, f"Pre-deploy command failed with exit code 1 (migration {migration})"
    if stage.name == "DEPLOYING":
        if not failed:
            return "deploy", [f"Server listening on port {dep.variables.get('PORT', '8080')}"], None
        message = _fault_param(dep, "message", "Error: Cannot find module '/app/dist/main.js'")
        return "deploy", [message, "Process exited with code 1"], "Container exited with code 1"
    if stage.name == "HEALTHCHECK":
        if not failed:
            return "build", ["[1/1] Healthcheck succeeded!"], None
        lines = ["Attempt #1 failed with service unavailable. Continuing to retry", f"{HEALTHCHECK_ERROR}!", "Healthcheck failed!"]
        return "build", lines, HEALTHCHECK_ERROR
    return "build", [], None


def write(dep: Deployment, kind: str, lines: list[str], at: float, severity: str = "info") -> None:
    target = dep.build_logs if kind == "build" else dep.deploy_logs
    target.extend(LogLine(timestamp=at, message=line, severity=severity) for line in lines)


def stage_started(dep: Deployment, stage: Stage, at: float, new_id: Callable[[str], str]) -> None:
    kind, lines = _enter_lines(dep, stage)
    write(dep, kind, lines, at)
    if stage.name in STAGE_EVENT_STEP:
        dep.events.append(Event(id=new_id("event"), step=STAGE_EVENT_STEP[stage.name], created_at=at))


def stage_finished(dep: Deployment, stage: Stage, at: float) -> None:
    kind, lines, error = _finish_lines(dep, stage, at - dep.stage_started_at)
    write(dep, kind, lines, at, "error" if error else "info")
    payload: dict = {"durationMs": int((at - dep.stage_started_at) * 1000)}
    if error:
        payload["error"] = error
    if stage.outcome == "SKIPPED":
        payload.update(skipped=True, reason=SKIP_MESSAGE)
    _complete_open_event(dep, at, payload)


def stage_aborted(dep: Deployment, at: float, reason: str) -> None:
    write(dep, "build", [reason], at)
    _complete_open_event(dep, at, {"durationMs": int((at - dep.stage_started_at) * 1000), "reason": reason})


def _complete_open_event(dep: Deployment, at: float, payload: dict) -> None:
    for event in reversed(dep.events):
        if event.completed_at is None:
            event.completed_at = at
            event.payload = payload
            return
