# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault matrix: each Railway module under each fault the emulator injects, as rows.

A case arms faults, runs one module through ansible-playbook, and compares the emulator's state before and after.
A row holds the outcome (retried to success, or failed with one line), the changes that should not have happened
(state before vs after, minus what the case allows) and whether a traceback appeared. The same rows back
tests/integration/test_fault_matrix.py and the report.
"""
from __future__ import annotations

import fnmatch
import json
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

from evidence.railway_playbook import RailwayPlaybook
from evidence.rows import Row
from evidence.runs import last_failure, run_tasks, shows_traceback

# The emulator options of the tests' `railway_emulator` fixture: a whole deployment takes about half a second.
EMULATOR_OPTIONS = {"phase_seconds": 2.0, "clock_scale": 20.0}
PROJECT = "backendops-demo"
RETRIED = "retried to success"
FAILED = "failed with one line"
BAD_ACCOUNT_TOKEN = "evidence-wrong-account-token-4b1d"
BAD_PROJECT_TOKEN = "evidence-wrong-project-token-9c2e"

# Deployments: fast polling, short timeouts, few log lines.
DEPLOY = {"service": "backend", "poll_interval": 0.2, "wait_timeout": 60, "log_lines": 5}
SET_VARIABLE = {"service": "backend", "variables": {"FAULT_MATRIX": "1"}}
NEW_VARIABLE = "variable backend/production FAULT_MATRIX added"
# A failure's events and logs keep failing: two answers each, as many as the deployer tries.
DIAGNOSTICS_DOWN = tuple({"kind": "http_503", "count": 2, "operation": name}
                         for name in ("DeploymentEvents", "BuildLogs", "DeploymentLogs"))
REDEPLOYED = ("new deployment of backend/production: SUCCESS", "deployment * of backend/production: SUCCESS -> REMOVED")


@dataclass(frozen=True)
class FaultCase:
    """One row of the matrix: faults to arm, the module task to run, what must come of it."""

    key: str
    fault: str
    module: str
    args: dict[str, Any]
    faults: tuple[dict[str, Any], ...]
    expect: str
    # For failures: text the one-line message must contain.
    message: str = ""
    # Exactly these state changes (fnmatch patterns, each matching one change) must happen, nothing else.
    changes: tuple[str, ...] = ()
    # Changes that may happen any number of times: what a playbook sets by design before the step that fails.
    tolerated: tuple[str, ...] = ()
    # Seconds to let the emulator finish a request the module gave up on before the state is compared.
    settle: float = 0.0
    extra_secrets: tuple[str, ...] = ()


CASES = (
    FaultCase("http_429-seconds", "HTTP 429, Retry-After: 1 (seconds)", "railway_variables", SET_VARIABLE,
              ({"kind": "http_429", "retry_after": 1, "operation": "VariableCollectionUpsert"},),
              RETRIED, changes=(NEW_VARIABLE,)),
    FaultCase("http_429-date", "HTTP 429, Retry-After as an HTTP date", "railway_info", {"service": "backend"},
              ({"kind": "http_429", "retry_after": "HTTP-DATE+2"},), RETRIED),
    FaultCase("http_500", "HTTP 500", "railway_variables", SET_VARIABLE,
              ({"kind": "http_500", "operation": "VariableCollectionUpsert"},), FAILED, message="HTTP 500"),
    FaultCase("http_502-query", "HTTP 502 (twice), repeatable call", "railway_service",
              {"service": "backend", "healthcheck_path": "/api/health"},
              ({"kind": "http_502", "count": 2, "operation": "ServiceInstanceUpdate"},), RETRIED,
              changes=("setting backend/production healthcheckPath added",)),
    FaultCase("http_502-deploy", "HTTP 502 on a redeploy (may have been applied)", "railway_deploy", DEPLOY,
              ({"kind": "http_502", "operation": "DeploymentRedeploy"},), FAILED, message="HTTP 502"),
    FaultCase("http_503", "HTTP 503 (3 times) on a redeploy", "railway_deploy", DEPLOY,
              ({"kind": "http_503", "count": 3, "operation": "DeploymentRedeploy"},), RETRIED, changes=REDEPLOYED),
    FaultCase("slow-query", "answer slower than request_timeout", "railway_info",
              {"service": "backend", "request_timeout": 1},
              ({"kind": "slow", "seconds": 3, "operation": "Variables"},), RETRIED, settle=2.5),
    FaultCase("slow-deploy", "redeploy answered after request_timeout", "railway_deploy", {**DEPLOY, "request_timeout": 1},
              ({"kind": "slow", "seconds": 3, "operation": "DeploymentRedeploy"},), FAILED,
              message="not retried because repeating it could apply it twice", changes=REDEPLOYED, settle=3.5),
    FaultCase("drop-query", "connection dropped (twice)", "railway_info", {"service": "backend"},
              ({"kind": "drop", "count": 2, "operation": "Variables"},), RETRIED),
    FaultCase("drop-deploy", "connection dropped on a redeploy", "railway_deploy", DEPLOY,
              ({"kind": "drop", "operation": "DeploymentRedeploy"},), FAILED,
              message="not retried because repeating it could apply it twice"),
    # On Variables: a failing `me` (the first request) falls back to listing projects.
    FaultCase("html", "HTML page instead of JSON", "railway_variables", SET_VARIABLE,
              ({"kind": "html", "status": 403, "operation": "Variables"},), FAILED, message="HTTP 403"),
    FaultCase("graphql_error", "GraphQL error", "railway_variables", SET_VARIABLE,
              ({"kind": "graphql_error", "message": "Problem processing request", "operation": "VariableCollectionUpsert"},),
              FAILED, message="Railway API error in VariableCollectionUpsert: Problem processing request"),
    FaultCase("bad-account-token", "bad account token", "railway_variables",
              {**SET_VARIABLE, "api_token": BAD_ACCOUNT_TOKEN}, (), FAILED, message="Not Authorized; check api_token",
              extra_secrets=(BAD_ACCOUNT_TOKEN,)),
    FaultCase("bad-project-token", "bad project token", "railway_variables",
              {**SET_VARIABLE, "api_token": None, "project": None, "environment": None, "project_token": BAD_PROJECT_TOKEN},
              (), FAILED, message="Project Token not found; check project_token", extra_secrets=(BAD_PROJECT_TOKEN,)),
    FaultCase("unknown-project", "unknown project", "railway_variables", {**SET_VARIABLE, "project": "no-such-project"},
              (), FAILED, message="existing: backendops-demo, other-project"),
    FaultCase("unknown-environment", "unknown environment", "railway_variables", {**SET_VARIABLE, "environment": "prod"},
              (), FAILED, message="existing: production, staging"),
    FaultCase("unknown-service", "unknown service", "railway_variables", {**SET_VARIABLE, "service": "frontend"},
              (), FAILED, message="service 'frontend' not found in project 'backendops-demo'; existing: backend, Postgres, Redis"),
    FaultCase("deploy_fail", "deployment FAILED (build)", "railway_deploy", DEPLOY, ({"kind": "deploy_fail"},), FAILED,
              message="FAILED at step BUILD_IMAGE", changes=("new deployment of backend/production: FAILED",)),
    FaultCase("deploy_crash", "deployment CRASHED", "railway_deploy", DEPLOY, ({"kind": "deploy_crash"},), FAILED,
              message="CRASHED", changes=("new deployment of backend/production: CRASHED",)),
    FaultCase("deploy_skip", "deployment SKIPPED", "railway_deploy", DEPLOY, ({"kind": "deploy_skip"},), FAILED,
              message="ended as SKIPPED", changes=("new deployment of backend/production: SKIPPED",)),
    FaultCase("deploy_hang", "deployment never finishes", "railway_deploy", {**DEPLOY, "wait_timeout": 3, "poll_interval": 0.5},
              ({"kind": "deploy_hang"},), FAILED, message="did not finish within wait_timeout=3 s; last status BUILDING",
              changes=("new deployment of backend/production: BUILDING",)),
    FaultCase("predeploy_fail", "pre-deploy migration fails", "railway_deploy", {**DEPLOY, "rollback_on_failure": True},
              ({"kind": "predeploy_fail"},), FAILED, message="FAILED at step PRE_DEPLOY_COMMAND",
              changes=("new deployment of backend/production: FAILED",)),
    FaultCase("healthcheck_fail", "health check never passes", "railway_deploy", DEPLOY, ({"kind": "healthcheck_fail"},),
              FAILED, message="FAILED at step HEALTHCHECK", changes=("new deployment of backend/production: FAILED",)),
    # Issue 13: token kinds, reads retried, the outcome and the step always said, the subscription and its fallback.
    FaultCase("me-fails", "`me` fails (as for a workspace token)", "railway_variables", SET_VARIABLE,
              ({"kind": "graphql_error", "message": "User not found", "operation": "UserProjects"},), RETRIED,
              changes=(NEW_VARIABLE,)),
    FaultCase("workspace-token", "workspace token (no `me`)", "railway_variables",
              {**SET_VARIABLE, "api_token": "WORKSPACE_TOKEN"}, (), RETRIED, changes=(NEW_VARIABLE,)),
    FaultCase("poll-problem-processing", "'Problem processing request' on a status poll", "railway_deploy",
              {**DEPLOY, "wait_via": "polling"},
              ({"kind": "graphql_error", "message": "Problem processing request", "operation": "Deployment"},), RETRIED,
              changes=REDEPLOYED),
    FaultCase("poll-http_500", "HTTP 500 on a status poll", "railway_deploy", {**DEPLOY, "wait_via": "polling"},
              ({"kind": "http_500", "operation": "Deployment"},), RETRIED, changes=REDEPLOYED),
    FaultCase("poll-fails", "status polls keep failing", "railway_deploy", {**DEPLOY, "wait_via": "polling", "wait_timeout": 2},
              ({"kind": "graphql_error", "message": "Problem processing request", "operation": "Deployment", "count": 4},),
              FAILED, message="before wait_timeout=2 s passed; it may still finish in Railway: Railway API call Deployment failed",
              changes=REDEPLOYED),
    FaultCase("ws_refuse", "subscription socket refused", "railway_deploy", DEPLOY, ({"kind": "ws_refuse"},), RETRIED,
              changes=REDEPLOYED),
    FaultCase("ws_drop", "subscription socket dropped mid-wait", "railway_deploy", DEPLOY, ({"kind": "ws_drop", "after": 2},),
              RETRIED, changes=REDEPLOYED),
    FaultCase("logs-unreadable", "FAILED, events and logs unreadable", "railway_deploy", {**DEPLOY, "rollback_on_failure": True},
              ({"kind": "deploy_fail"},) + tuple({"kind": "graphql_error", "message": "Internal problem", "operation": name}
                                                 for name in ("DeploymentEvents", "BuildLogs", "DeploymentLogs")),
              FAILED, message="FAILED while BUILDING; its events, build logs, deploy logs could not be read (Railway answered "
                              "Internal problem); deployment ",
              changes=("new deployment of backend/production: FAILED",)),
    # Issue 22: two attempts per diagnostic read (the faults are used up exactly), their cause said once.
    FaultCase("diagnostics-down", "FAILED, events and logs answer HTTP 503", "railway_deploy",
              {**DEPLOY, "rollback_on_failure": True}, ({"kind": "deploy_fail"},) + DIAGNOSTICS_DOWN, FAILED,
              message="FAILED while BUILDING; its events, build logs, deploy logs could not be read (HTTP 503 (",
              changes=("new deployment of backend/production: FAILED",)),
    FaultCase("http_502-upload", "HTTP 502 on the upload", "railway_deploy", {**DEPLOY, "source": "upload", "path": "SAMPLE"},
              ({"kind": "http_502", "operation": "up"},), FAILED, message="Nothing was deployed: step upload"),
    FaultCase("http_429-lookup", "rate limit while looking up names", "railway_deploy", DEPLOY,
              ({"kind": "http_429", "retry_after": 600, "count": 2},), FAILED, message="Nothing was deployed: step lookup"),
)


# playbooks/railway.yml (the railway role): `args` are its extra vars. It sets variables and settings before it
# deploys, so those changes are tolerated; the deployments are counted one by one.
PLAYBOOK = "railway.yml"
RAILWAY_VARIABLES = {"SUPABASE_URL": "https://evidence-ref.supabase.co", "SUPABASE_ANON_KEY": "fault-matrix-anon-key-3f9a1c",
                     "JWT_SECRET": "fault-matrix-jwt-secret-0d4b7e2a9c1f5e8b", "HEALTH_TOKEN": "fault-matrix-health-6e2c"}
APPLIED = ("variable backend/production *", "setting backend/production *")
PLAYBOOK_CASES = (
    FaultCase("railway.yml-http_503-upload", "HTTP 503 (3 times) on the upload", PLAYBOOK, {},
              ({"kind": "http_503", "count": 3, "operation": "up"},), RETRIED, changes=REDEPLOYED, tolerated=APPLIED),
    FaultCase("railway.yml-http_429", "HTTP 429 on the variables and settings", PLAYBOOK, {},
              ({"kind": "http_429", "retry_after": 1, "operation": "ServiceConfigure"},), RETRIED,
              changes=REDEPLOYED, tolerated=APPLIED),
    FaultCase("railway.yml-bad-token", "bad account token", PLAYBOOK, {"railway_api_token": BAD_ACCOUNT_TOKEN}, (), FAILED,
              message="Not Authorized", extra_secrets=(BAD_ACCOUNT_TOKEN,)),
    FaultCase("railway.yml-unknown-service", "unknown service", PLAYBOOK, {"railway_service": "frontend"}, (), FAILED,
              message="service 'frontend' not found"),
    FaultCase("railway.yml-deploy_fail", "deployment FAILED (build)", PLAYBOOK, {}, ({"kind": "deploy_fail"},), FAILED,
              message="FAILED at step BUILD_IMAGE", changes=("new deployment of backend/production: FAILED",), tolerated=APPLIED),
    FaultCase("railway.yml-deploy_crash", "deployment CRASHED", PLAYBOOK, {}, ({"kind": "deploy_crash"},), FAILED,
              message="CRASHED", changes=("new deployment of backend/production: CRASHED",), tolerated=APPLIED),
    FaultCase("railway.yml-deploy_skip", "deployment SKIPPED", PLAYBOOK, {}, ({"kind": "deploy_skip"},), FAILED,
              message="SKIPPED", changes=("new deployment of backend/production: SKIPPED",), tolerated=APPLIED),
    FaultCase("railway.yml-deploy_hang", "deployment never finishes", PLAYBOOK, {"railway_deploy_timeout": 3},
              ({"kind": "deploy_hang"},), FAILED, message="did not finish within",
              changes=("new deployment of backend/production: BUILDING",), tolerated=APPLIED),
    FaultCase("railway.yml-predeploy_fail", "pre-deploy migration fails", PLAYBOOK, {}, ({"kind": "predeploy_fail"},),
              FAILED, message="The database migration step", changes=("new deployment of backend/production: FAILED",),
              tolerated=APPLIED),
    # Issue 13: each failure before a deployment exists names its step and says nothing was deployed.
    FaultCase("railway.yml-lookup", "lookup fails", PLAYBOOK, {},
              ({"kind": "graphql_error", "message": "Internal problem", "operation": "ServiceState"},), FAILED,
              message="Nothing was deployed: step lookup"),
    # Variables and settings that both change go in one request (ServiceConfigure).
    FaultCase("railway.yml-configuration", "variables and settings update fails", PLAYBOOK, {},
              ({"kind": "graphql_error", "message": "Internal problem", "operation": "ServiceConfigure"},), FAILED,
              message="Nothing was deployed: step configuration"),
    FaultCase("railway.yml-http_502-upload", "HTTP 502 on the upload", PLAYBOOK, {}, ({"kind": "http_502", "operation": "up"},),
              FAILED, message="Nothing was deployed: step upload", tolerated=APPLIED),
    FaultCase("railway.yml-poll", "'Problem processing request' on status polls", PLAYBOOK, {},
              ({"kind": "ws_refuse"}, {"kind": "graphql_error", "message": "Problem processing request", "operation": "Deployment"}),
              RETRIED, changes=REDEPLOYED, tolerated=APPLIED),
    FaultCase("railway.yml-logs-unreadable", "FAILED, events and logs unreadable", PLAYBOOK, {"railway_rollback_on_failure": True},
              ({"kind": "deploy_fail"},) + tuple({"kind": "graphql_error", "message": "Internal problem", "operation": name}
                                                 for name in ("DeploymentEvents", "BuildLogs", "DeploymentLogs")),
              FAILED, message="FAILED while BUILDING; its events, build logs, deploy logs could not be read",
              changes=("new deployment of backend/production: FAILED",), tolerated=APPLIED),
    FaultCase("railway.yml-diagnostics-down", "FAILED, events and logs answer HTTP 503", PLAYBOOK,
              {"railway_rollback_on_failure": True}, ({"kind": "deploy_fail"},) + DIAGNOSTICS_DOWN, FAILED,
              message="FAILED while BUILDING; its events, build logs, deploy logs could not be read (HTTP 503 (",
              changes=("new deployment of backend/production: FAILED",), tolerated=APPLIED),
)


@dataclass
class FaultRow:
    """What one case produced."""

    case: FaultCase
    outcome: str
    message: str
    requests: int
    unexpected: list[str]
    missing: list[str]
    traceback: bool
    leaked: list[str]
    faults_left: list[dict[str, Any]]
    output_tail: str

    @property
    def ok(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        found = []
        if self.outcome != self.case.expect:
            found.append(f"outcome {self.outcome!r}, expected {self.case.expect!r}")
        elif self.case.expect == FAILED and self.case.message not in self.message:
            found.append(f"message lacks {self.case.message!r}")
        found += [f"unexpected change: {change}" for change in self.unexpected]
        found += [f"expected change missing: {change}" for change in self.missing]
        if self.traceback:
            found.append("a Python traceback appeared")
        found += [f"secret in output: {name}" for name in self.leaked]
        if self.faults_left:
            found.append(f"faults never hit: {self.faults_left}")
        return found

    def as_row(self) -> Row:
        changed = len(self.unexpected)
        figure = (f"{self.outcome}; {self.requests} requests; {changed} unexpected change(s); "
                  f"traceback: {'yes' if self.traceback else 'no'}")
        detail = "; ".join(self.problems())
        if self.outcome == FAILED:
            detail = (detail + "; " if detail else "") + f"msg: {self.message}"
        return Row("fault matrix", f"{self.case.fault} ({self.case.module})", figure, self.case.expect, self.ok,
                   detail if not self.ok else "")


def state_summary(state: dict[str, Any]) -> dict[str, str]:
    """The emulator state as flat `what -> value` items: variables, settings, deployments, the objects that exist."""
    services = {s["id"]: s["name"] for s in state["services"]}
    environments = {e["id"]: e["name"] for e in state["environments"]}

    def scope(entry):
        return f"{services.get(entry['serviceId'], 'shared')}/{environments[entry['environmentId']]}"

    items = {}
    for entry in state["variables"]:
        for name, value in entry["values"].items():
            items[f"variable {scope(entry)} {name}"] = value
    for instance in state["serviceInstances"]:
        for name, value in instance["settings"].items():
            items[f"setting {scope(instance)} {name}"] = json.dumps(value, sort_keys=True)
    for deployment in state["deployments"]:
        items[f"deployment {deployment['id']} of {scope(deployment)}"] = deployment["status"]
    # Which objects exist (their settings and timestamps are compared above, or do not matter).
    for kind in ("projects", "environments", "services", "serviceInstances", "domains", "projectTokens"):
        items[kind] = " ".join(sorted(entry["id"] for entry in state[kind]))
    items["accountTokens"] = str(len(state["accountTokens"]))
    return items


def state_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs, without values (variables may be secret)."""
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) == after.get(key):
            continue
        if key.startswith("deployment "):
            where = key.split(" of ", 1)[1]
            changes.append(f"{key}: {before[key]} -> {after[key]}" if key in before else f"new deployment of {where}: {after[key]}")
        elif key not in before:
            changes.append(f"{key} added")
        elif key not in after:
            changes.append(f"{key} removed")
        else:
            changes.append(f"{key} changed")
    return changes


def match_changes(changes: list[str], patterns: tuple[str, ...], tolerated: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """Pair each pattern with one change, drop tolerated ones; return (changes left over, patterns left over)."""
    left = [change for change in changes if not any(fnmatch.fnmatchcase(change, pattern) for pattern in tolerated)]
    missing = []
    for pattern in patterns:
        hit = next((change for change in left if fnmatch.fnmatchcase(change, pattern)), None)
        if hit is None:
            missing.append(pattern)
        else:
            left.remove(hit)
    return left, missing


def armed(fault: dict[str, Any]) -> dict[str, Any]:
    """The fault as the emulator takes it; an HTTP-date Retry-After is computed at arming time."""
    fault = dict(fault)
    if str(fault.get("retry_after", "")).startswith("HTTP-DATE+"):
        fault["retry_after"] = formatdate(time.time() + float(fault["retry_after"].split("+")[1]), usegmt=True)
    return fault


def connection(emulator) -> dict[str, Any]:
    return {"group/backendops.stack.railway": {"api_url": emulator.url, "api_token": emulator.account_token,
                                               "project": PROJECT, "environment": "production"}}


def _module_args(emulator, args: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Placeholders: WORKSPACE_TOKEN (the emulator's workspace token), SAMPLE (a small source to upload)."""
    args = dict(args)
    if args.get("api_token") == "WORKSPACE_TOKEN":
        args["api_token"] = emulator.workspace_token
    if args.get("path") == "SAMPLE":
        source = workdir / "fault-matrix-source"
        source.mkdir(parents=True, exist_ok=True)
        (source / "main.js").write_text("console.log('fault matrix')\n", encoding="utf-8")
        args["path"] = str(source)
    return args


def _run_module(emulator, case: FaultCase, workdir: Path):
    task = {"name": case.key, f"backendops.stack.{case.module}": _module_args(emulator, case.args, workdir)}
    outcome = run_tasks(workdir / f"fault-{case.key}.yml", [task], module_defaults=connection(emulator))
    result = outcome.results[0] if outcome.results else {"failed": True, "msg": "no task result"}
    return outcome.run, result, shows_traceback(outcome.run, result)


def _run_playbook(emulator, case: FaultCase, workdir: Path):
    outcome = RailwayPlaybook(emulator, workdir, RAILWAY_VARIABLES).run_json(**case.args)
    result = {"failed": outcome.run.rc != 0, "msg": last_failure(outcome.results)}
    return outcome.run, result, shows_traceback(outcome.run, *outcome.results)


def run_case(emulator, case: FaultCase, workdir: Path) -> FaultRow:
    """Run one case against a freshly reset emulator."""
    emulator.reset()
    before = state_summary(emulator.state())
    for fault in case.faults:
        emulator.inject(**armed(fault))
    run, result, traceback = (_run_playbook if case.module == PLAYBOOK else _run_module)(emulator, case, workdir)
    time.sleep(case.settle)
    after = state_summary(emulator.state())
    message = str(result.get("msg", ""))
    if result.get("failed"):
        kind = FAILED if message and "\n" not in message else f"failed with a {'multi-line' if message else 'missing'} message"
    else:
        kind = RETRIED
    unexpected, missing = match_changes(state_changes(before, after), case.changes, case.tolerated)
    secrets = (emulator.account_token, emulator.workspace_token, emulator.project_token) + case.extra_secrets
    if case.module == PLAYBOOK:
        secrets += tuple(RAILWAY_VARIABLES[name] for name in ("SUPABASE_ANON_KEY", "JWT_SECRET", "HEALTH_TOKEN"))
    return FaultRow(
        case=case, outcome=kind, message=message, requests=emulator.counters()["requests"], unexpected=unexpected,
        missing=missing, traceback=traceback,
        leaked=[f"secret {index}" for index, secret in enumerate(secrets) if secret in run.output],
        faults_left=emulator.faults(), output_tail=run.output[-2000:],
    )


def fault_rows(emulator, workdir: Path) -> list[Row]:
    """Every case (modules, then railway.yml), as report rows."""
    return [run_case(emulator, case, workdir).as_row() for case in CASES + PLAYBOOK_CASES]
