# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Railway emulator over real HTTP: auth, variables, settings, the deployment lifecycle, faults, limits, uploads.

Lifecycle tests use an emulator with a frozen clock (``clock_scale=0``): a deployment moves only when the
test advances the clock, so every intermediate status can be asserted without racing real time.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tools.railway_emulator.testing import EmulatorProcess, http_date

PROJECT = "project-backendops-demo"
PRODUCTION = "env-production"
STAGING = "env-staging"
BACKEND = "service-backend"
DOMAIN = "backend-production.up.railway.app"
PHASE = 10.0  # emulated seconds per phase in the frozen emulator
SHA = "a" * 40

DEPLOYMENT = "query Deployment($id: String!) { deployment(id: $id) { id status meta canRollback deploymentStopped url } }"
DEPLOY = "mutation Deploy($sha: String) { serviceInstanceDeployV2(environmentId: \"env-production\", serviceId: \"service-backend\", commitSha: $sha) }"
EVENTS = "query Events($id: String!) { deploymentEvents(id: $id) { edges { node { step completedAt payload { error skipped durationMs } } } } }"
BUILD_LOGS = "query BuildLogs($id: String!, $limit: Int) { buildLogs(deploymentId: $id, limit: $limit) { message severity timestamp } }"
DEPLOY_LOGS = "query DeployLogs($id: String!, $limit: Int) { deploymentLogs(deploymentId: $id, limit: $limit) { message severity } }"
VARIABLES = "query Vars($s: String, $u: Boolean) { variables(projectId: \"%s\", environmentId: \"%s\", serviceId: $s, unrendered: $u) }" % (PROJECT, PRODUCTION)
UPSERT = "mutation Upsert($input: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $input) }"
INSTANCE = """query Instance { serviceInstance(environmentId: "env-production", serviceId: "service-backend") {
  preDeployCommand healthcheckPath healthcheckTimeout restartPolicyType restartPolicyMaxRetries numReplicas sleepApplication builder startCommand
  latestDeployment { id status } activeDeployments { id } } }"""
UPDATE = """mutation Update($input: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(environmentId: "env-production", serviceId: "service-backend", input: $input) }"""


# -- fixtures and helpers ------------------------------------------------------------------------------------


@pytest.fixture(name="frozen_process", scope="module")
def frozen_process_fixture() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(phase_seconds=PHASE, clock_scale=0, max_upload_bytes=4096) as emulator:
        yield emulator


@pytest.fixture(name="frozen")
def frozen_fixture(frozen_process: EmulatorProcess) -> EmulatorProcess:
    frozen_process.reset()
    return frozen_process


def post(emu: EmulatorProcess, query: str, variables: dict | None = None, *, token: str | None = "account",
         headers: dict[str, str] | None = None, timeout: float = 10) -> requests.Response:
    """POST a GraphQL document; ``token`` is 'account', 'project', None or a header dict via ``headers``."""
    all_headers = {"Content-Type": "application/json"}
    if token == "account":
        all_headers["Authorization"] = f"Bearer {emu.account_token}"
    elif token == "workspace":
        all_headers["Authorization"] = f"Bearer {emu.workspace_token}"
    elif token == "project":
        all_headers["Project-Access-Token"] = emu.project_token
    all_headers.update(headers or {})
    return requests.post(emu.url, json={"query": query, "variables": variables or {}}, headers=all_headers, timeout=timeout)


def data(emu: EmulatorProcess, query: str, variables: dict | None = None, **kwargs: Any) -> dict:
    response = post(emu, query, variables, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def error(emu: EmulatorProcess, query: str, variables: dict | None = None, **kwargs: Any) -> str:
    response = post(emu, query, variables, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None and body["errors"], body
    return body["errors"][0]["message"]


def status(emu: EmulatorProcess, deployment_id: str) -> str:
    return data(emu, DEPLOYMENT, {"id": deployment_id})["deployment"]["status"]


def deploy(emu: EmulatorProcess, sha: str | None = SHA) -> str:
    return data(emu, DEPLOY, {"sha": sha})["serviceInstanceDeployV2"]


def statuses_by_phase(emu: EmulatorProcess, deployment_id: str, phases: int) -> list[str]:
    """The deployment's status now and after each of ``phases`` clock advances of one phase."""
    seen = [status(emu, deployment_id)]
    for _phase in range(phases):
        emu.advance(PHASE)
        seen.append(status(emu, deployment_id))
    return seen


def events(emu: EmulatorProcess, deployment_id: str) -> list[dict]:
    return [edge["node"] for edge in data(emu, EVENTS, {"id": deployment_id})["deploymentEvents"]["edges"]]


def log_messages(emu: EmulatorProcess, query: str, deployment_id: str) -> list[str]:
    key = "buildLogs" if "buildLogs" in query else "deploymentLogs"
    return [line["message"] for line in data(emu, query, {"id": deployment_id})[key]]


def seeded_backend_deployment(emu: EmulatorProcess) -> str:
    return data(emu, INSTANCE)["serviceInstance"]["latestDeployment"]["id"]


def app(emu: EmulatorProcess, path: str, domain: str = DOMAIN, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(emu.app_url(domain, path), headers=headers, timeout=10)


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def upload(emu: EmulatorProcess, body: bytes, *, environment: str = PRODUCTION, token: str | None = "account", message: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/gzip"}
    if token == "account":
        headers["Authorization"] = f"Bearer {emu.account_token}"
    elif token == "project":
        headers["Project-Access-Token"] = emu.project_token
    params = {"serviceId": BACKEND, **({"message": message} if message else {})}
    return requests.post(f"{emu.base_url}/project/{PROJECT}/environment/{environment}/up", params=params, data=body, headers=headers, timeout=10)


def state_deployment(emu: EmulatorProcess, deployment_id: str) -> dict:
    return next(d for d in emu.state()["deployments"] if d["id"] == deployment_id)


# -- auth ---------------------------------------------------------------------------------------------------


def test_account_token_sees_every_project(emulator: EmulatorProcess) -> None:
    me = data(emulator, "{ me { name email workspaces { id name projects { edges { node { id name } } } } } }")["me"]
    assert me["name"] == "Emu Developer"
    assert me["workspaces"][0]["id"] == "workspace-acme"
    projects = data(emulator, "{ projects { edges { node { name } } } }")["projects"]["edges"]
    assert {edge["node"]["name"] for edge in projects} == {"backendops-demo", "other-project"}


def test_workspace_token_sees_one_workspace_and_has_no_user(emulator: EmulatorProcess) -> None:
    assert error(emulator, "{ me { id } }", token="workspace") == "Not Authorized"
    projects = data(emulator, "{ projects { edges { node { name environments { edges { node { name } } } } } } }",
                    token="workspace")["projects"]["edges"]
    assert [edge["node"]["name"] for edge in projects] == ["backendops-demo"]
    assert {e["node"]["name"] for e in projects[0]["node"]["environments"]["edges"]} == {"production", "staging"}
    assert error(emulator, '{ project(id: "project-other-project") { id } }', token="workspace") == "Not Authorized"
    assert error(emulator, '{ project(id: "no-such-project") { id } }', token="workspace") == "Project not found"
    assert data(emulator, '{ workspace(workspaceId: "workspace-acme") { name } }', token="workspace")["workspace"]["name"] == "Acme"
    assert error(emulator, '{ workspace(workspaceId: "workspace-personal") { name } }', token="workspace") == "Not Authorized"
    staging = "{ variables(projectId: \"%s\", environmentId: \"%s\", serviceId: \"%s\") }" % (PROJECT, STAGING, BACKEND)
    assert "DATABASE_URL" in data(emulator, staging, token="workspace")["variables"]
    # The user's account token sees both workspaces.
    me = data(emulator, "{ me { workspaces { id projects { edges { node { name } } } } } }")["me"]["workspaces"]
    assert {w["id"]: [e["node"]["name"] for e in w["projects"]["edges"]] for w in me} == {
        "workspace-acme": ["backendops-demo"], "workspace-personal": ["other-project"]}


def test_project_token_is_confined_to_its_project_and_environment(emulator: EmulatorProcess) -> None:
    token = data(emulator, "{ projectToken { projectId environmentId project { name } environment { name } } }", token="project")["projectToken"]
    assert token == {"projectId": PROJECT, "environmentId": PRODUCTION, "project": {"name": "backendops-demo"}, "environment": {"name": "production"}}
    query = '{ project(id: "%s") { environments { edges { node { name } } } services { edges { node { name } } } } }' % PROJECT
    environments = data(emulator, query, token="project")["project"]
    assert [edge["node"]["name"] for edge in environments["environments"]["edges"]] == ["production"]
    assert {edge["node"]["name"] for edge in environments["services"]["edges"]} == {"backend", "Postgres", "Redis"}
    assert error(emulator, "{ me { id } }", token="project") == "Not Authorized"
    assert error(emulator, "{ projects { edges { node { id } } } }", token="project") == "Not Authorized"
    assert error(emulator, '{ project(id: "project-other-project") { id } }', token="project") == "Not Authorized"
    assert error(emulator, '{ environment(id: "%s") { id } }' % STAGING, token="project") == "Not Authorized"
    staging_variables = "{ variables(projectId: \"%s\", environmentId: \"%s\", serviceId: \"%s\") }" % (PROJECT, STAGING, BACKEND)
    assert error(emulator, staging_variables, token="project") == "Not Authorized"
    assert "DATABASE_URL" in data(emulator, VARIABLES, {"s": BACKEND}, token="project")["variables"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": "Bearer not-a-real-token"}, "Not Authorized"),
        ({"Project-Access-Token": "not-a-real-token"}, "Project Token not found"),
        ({}, "Not Authorized"),
    ],
)
def test_bad_or_missing_tokens_are_rejected_like_railway(emulator: EmulatorProcess, headers: dict[str, str], message: str) -> None:
    assert error(emulator, "{ me { id } }", token=None, headers=headers) == message
    assert error(emulator, '{ project(id: "%s") { id } }' % PROJECT, token=None, headers=headers) == message


def test_account_token_cannot_read_a_project_token(emulator: EmulatorProcess) -> None:
    assert error(emulator, "{ projectToken { id } }") == "Project Token not found"


# -- variables -------------------------------------------------------------------------------------------


def test_variables_render_references_unless_unrendered(emulator: EmulatorProcess) -> None:
    raw = data(emulator, VARIABLES, {"s": BACKEND, "u": True})["variables"]
    assert raw["DATABASE_URL"] == "${{Postgres.DATABASE_URL}}"
    assert raw["NODE_ENV"] == "${{shared.NODE_ENV}}"
    rendered = data(emulator, VARIABLES, {"s": BACKEND, "u": False})["variables"]
    assert rendered["DATABASE_URL"] == "postgresql://postgres:emu-postgres-password-production@postgres.railway.internal:5432/railway"
    assert rendered["REDIS_URL"] == "redis://default:emu-redis-password-production@redis.railway.internal:6379"
    assert rendered["NODE_ENV"] == "production"
    assert data(emulator, VARIABLES, {"s": None})["variables"] == {"NODE_ENV": "production", "LOG_LEVEL": "info"}
    for_deployment = data(emulator, '{ variablesForServiceDeployment(projectId: "%s", environmentId: "%s", serviceId: "%s") }'
                          % (PROJECT, PRODUCTION, BACKEND))["variablesForServiceDeployment"]
    assert for_deployment["DATABASE_URL"] == rendered["DATABASE_URL"]
    assert for_deployment["RAILWAY_SERVICE_NAME"] == "backend"
    assert for_deployment["RAILWAY_PUBLIC_DOMAIN"] == DOMAIN


def test_variable_upsert_delete_and_deploy_triggering(emulator: EmulatorProcess) -> None:
    def deployments() -> int:
        return len(emulator.state()["deployments"])

    before = deployments()
    scope = {"projectId": PROJECT, "environmentId": PRODUCTION, "serviceId": BACKEND}
    data(emulator, UPSERT, {"input": {**scope, "variables": {"FEATURE_X": "on", "EMPTY": ""}, "skipDeploys": True}})
    assert deployments() == before
    raw = data(emulator, VARIABLES, {"s": BACKEND, "u": True})["variables"]
    assert raw["FEATURE_X"] == "on" and raw["EMPTY"] == ""

    # skipDeploys defaults to false: Railway redeploys the affected service.
    data(emulator, "mutation U($input: VariableUpsertInput!) { variableUpsert(input: $input) }", {"input": {**scope, "name": "FEATURE_X", "value": "off"}})
    assert deployments() == before + 1
    latest = data(emulator, INSTANCE)["serviceInstance"]["latestDeployment"]
    assert state_deployment(emulator, latest["id"])["meta"]["reason"] == "variableChange"

    delete = "mutation D($input: VariableDeleteInput!) { variableDelete(input: $input) }"
    assert data(emulator, delete, {"input": {**scope, "name": "FEATURE_X"}})["variableDelete"] is True
    assert "FEATURE_X" not in data(emulator, VARIABLES, {"s": BACKEND, "u": True})["variables"]
    assert error(emulator, delete, {"input": {**scope, "name": "FEATURE_X"}}) == 'Variable "FEATURE_X" not found'

    data(emulator, UPSERT, {"input": {**scope, "variables": {"ONLY": "1"}, "replace": True, "skipDeploys": True}})
    assert data(emulator, VARIABLES, {"s": BACKEND, "u": True})["variables"] == {"ONLY": "1"}
    assert "string values" in error(emulator, UPSERT, {"input": {**scope, "variables": {"N": 1}, "skipDeploys": True}})


def test_shared_variable_change_redeploys_services_that_reference_it(emulator: EmulatorProcess) -> None:
    before = {d["id"] for d in emulator.state()["deployments"]}
    data(emulator, UPSERT, {"input": {"projectId": PROJECT, "environmentId": PRODUCTION, "variables": {"NODE_ENV": "prod"}}})
    created = [d for d in emulator.state()["deployments"] if d["id"] not in before]
    # Only backend references ${{shared.NODE_ENV}}; Postgres and Redis are left alone.
    assert [d["serviceId"] for d in created] == [BACKEND]
    assert data(emulator, VARIABLES, {"s": BACKEND})["variables"]["NODE_ENV"] == "prod"


# -- service instance settings ---------------------------------------------------------------------------


def test_instance_update_round_trip_null_unsets_absent_keeps(emulator: EmulatorProcess) -> None:
    defaults = data(emulator, INSTANCE)["serviceInstance"]
    assert defaults["restartPolicyType"] == "ON_FAILURE" and defaults["restartPolicyMaxRetries"] == 10
    assert defaults["numReplicas"] == 1 and defaults["sleepApplication"] is False and defaults["healthcheckTimeout"] is None
    assert defaults["builder"] == "RAILPACK" and defaults["preDeployCommand"] is None

    settings = {"preDeployCommand": ["npx prisma migrate deploy"], "healthcheckPath": "/api/health", "healthcheckTimeout": 120,
                "restartPolicyType": "NEVER", "startCommand": "node dist/main.js"}
    assert data(emulator, UPDATE, {"input": settings})["serviceInstanceUpdate"] is True
    updated = data(emulator, INSTANCE)["serviceInstance"]
    assert updated["preDeployCommand"] == ["npx prisma migrate deploy"]
    assert {k: updated[k] for k in ("healthcheckPath", "healthcheckTimeout", "restartPolicyType", "startCommand")} == {
        "healthcheckPath": "/api/health", "healthcheckTimeout": 120, "restartPolicyType": "NEVER", "startCommand": "node dist/main.js"}

    data(emulator, UPDATE, {"input": {"healthcheckPath": None, "restartPolicyType": None}})
    after = data(emulator, INSTANCE)["serviceInstance"]
    assert after["healthcheckPath"] is None and after["restartPolicyType"] == "ON_FAILURE"
    assert after["healthcheckTimeout"] == 120 and after["preDeployCommand"] == ["npx prisma migrate deploy"]
    assert "RestartPolicyType" in error(emulator, UPDATE, {"input": {"restartPolicyType": "SOMETIMES"}})


# -- deployment lifecycle ----------------------------------------------------------------------------------


def test_lifecycle_moves_only_with_the_clock(frozen: EmulatorProcess) -> None:
    previous = seeded_backend_deployment(frozen)
    data(frozen, UPDATE, {"input": {"preDeployCommand": ["npx prisma migrate deploy"], "healthcheckPath": "/api/health"}})
    deployment_id = deploy(frozen)
    time.sleep(0.2)
    assert status(frozen, deployment_id) == "QUEUED"  # real time passing does not move a frozen clock
    assert statuses_by_phase(frozen, deployment_id, 6) == [
        "QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "DEPLOYING", "DEPLOYING", "SUCCESS"]
    assert [e["step"] for e in events(frozen, deployment_id)] == ["SNAPSHOT_CODE", "BUILD_IMAGE", "PRE_DEPLOY_COMMAND", "CREATE_CONTAINER", "HEALTHCHECK"]
    assert all(e["completedAt"] and e["payload"]["durationMs"] == PHASE * 1000 for e in events(frozen, deployment_id))

    details = data(frozen, DEPLOYMENT, {"id": deployment_id})["deployment"]
    assert details["meta"]["commitHash"] == SHA and details["url"] == f"https://{DOMAIN}"
    assert status(frozen, previous) == "REMOVED"
    instance = data(frozen, INSTANCE)["serviceInstance"]
    assert instance["activeDeployments"] == [{"id": deployment_id}]

    build = log_messages(frozen, BUILD_LOGS, deployment_id)
    assert "Starting Healthcheck" in build and "[1/1] Healthcheck succeeded!" in build
    assert "Running pre-deploy command: npx prisma migrate deploy" in log_messages(frozen, DEPLOY_LOGS, deployment_id)
    limited = data(frozen, BUILD_LOGS, {"id": deployment_id, "limit": 2})["buildLogs"]
    assert [line["message"] for line in limited] == build[-2:]


def test_deployments_list_newest_first_with_status_filter_and_paging(frozen: EmulatorProcess) -> None:
    seeded = seeded_backend_deployment(frozen)
    first = deploy(frozen)
    frozen.advance(PHASE)
    second = deploy(frozen, "b" * 40)
    query = """query L($status: DeploymentStatusInput, $first: Int, $after: String) {
      deployments(input: {projectId: "%s", environmentId: "%s", serviceId: "%s", status: $status}, first: $first, after: $after) {
        edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }""" % (PROJECT, PRODUCTION, BACKEND)
    listed = data(frozen, query)["deployments"]["edges"]
    assert [edge["node"]["id"] for edge in listed] == [second, first, seeded]
    in_progress = data(frozen, query, {"status": {"in": ["QUEUED", "INITIALIZING"]}})["deployments"]["edges"]
    assert [edge["node"]["id"] for edge in in_progress] == [second, first]
    settled = data(frozen, query, {"status": {"notIn": ["QUEUED", "INITIALIZING"]}})["deployments"]["edges"]
    assert [edge["node"]["status"] for edge in settled] == ["SUCCESS"]
    page = data(frozen, query, {"first": 1})["deployments"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = data(frozen, query, {"first": 5, "after": page["pageInfo"]["endCursor"]})["deployments"]
    assert [edge["node"]["id"] for edge in rest["edges"]] == [first, seeded]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_fast_clock_finishes_a_deployment_in_real_time(emulator: EmulatorProcess) -> None:
    deployment_id = deploy(emulator)
    deadline = time.monotonic() + 15
    while status(emulator, deployment_id) != "SUCCESS":
        assert time.monotonic() < deadline, "deployment did not finish on the fast clock"
        time.sleep(0.05)


def test_deploy_v2_rejects_an_unknown_commit(emulator: EmulatorProcess) -> None:
    before = len(emulator.state()["deployments"])
    assert error(emulator, DEPLOY, {"sha": "not-a-sha"}) == "Commit not found"
    assert len(emulator.state()["deployments"]) == before


def test_redeploy_cancel_restart_and_service_redeploy(frozen: EmulatorProcess) -> None:
    seeded = seeded_backend_deployment(frozen)
    redeployed = data(frozen, 'mutation { deploymentRedeploy(id: "%s") { id status } }' % seeded)["deploymentRedeploy"]
    assert redeployed["status"] == "QUEUED"
    assert state_deployment(frozen, redeployed["id"])["meta"]["commitHash"] == state_deployment(frozen, seeded)["meta"]["commitHash"]
    assert data(frozen, 'mutation { deploymentCancel(id: "%s") }' % redeployed["id"])["deploymentCancel"] is True
    assert status(frozen, redeployed["id"]) == "REMOVED"
    assert "cannot be cancelled" in error(frozen, 'mutation { deploymentCancel(id: "%s") }' % redeployed["id"])
    assert data(frozen, 'mutation { deploymentRestart(id: "%s") }' % seeded)["deploymentRestart"] is True
    assert "Restarting container" in log_messages(frozen, DEPLOY_LOGS, seeded)
    assert data(frozen, 'mutation { serviceInstanceRedeploy(environmentId: "%s", serviceId: "%s") }' % (PRODUCTION, BACKEND))
    assert data(frozen, INSTANCE)["serviceInstance"]["latestDeployment"]["status"] == "QUEUED"


def test_rollback_redeploys_an_earlier_image_with_its_variables(frozen: EmulatorProcess) -> None:
    seeded = seeded_backend_deployment(frozen)
    data(frozen, UPSERT, {"input": {"projectId": PROJECT, "environmentId": PRODUCTION, "serviceId": BACKEND, "variables": {"APP_VERSION": "2"}}})
    newer = data(frozen, INSTANCE)["serviceInstance"]["latestDeployment"]["id"]
    frozen.advance(PHASE * 4)
    assert status(frozen, newer) == "SUCCESS"
    assert data(frozen, DEPLOYMENT, {"id": seeded})["deployment"]["canRollback"] is True
    assert app(frozen, "api/health/details", token="emu-health-token").json()["version"] == "2"

    assert data(frozen, 'mutation { deploymentRollback(id: "%s") }' % seeded)["deploymentRollback"] is True
    rollback = data(frozen, INSTANCE)["serviceInstance"]["latestDeployment"]["id"]
    # No build: the old image is reused.
    assert statuses_by_phase(frozen, rollback, 3) == ["QUEUED", "INITIALIZING", "DEPLOYING", "SUCCESS"]
    assert state_deployment(frozen, rollback)["meta"]["rollbackDeploymentId"] == seeded
    assert status(frozen, newer) == "REMOVED"
    details = app(frozen, "api/health/details", token="emu-health-token").json()
    assert details["deploymentId"] == rollback and details["version"] != "2"
    assert "cannot be rolled back" in error(frozen, 'mutation { deploymentRollback(id: "%s") }' % rollback)


# -- deployment faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "expected", "phases"),
    [
        ("deploy_fail", {}, ["QUEUED", "INITIALIZING", "BUILDING", "FAILED"], 3),
        ("deploy_crash", {}, ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "CRASHED"], 4),
        ("deploy_skip", {}, ["QUEUED", "INITIALIZING", "SKIPPED"], 2),
        ("deploy_hang", {}, ["QUEUED", "INITIALIZING", "BUILDING", "BUILDING", "BUILDING"], 4),
        ("deploy_needs_approval", {}, ["NEEDS_APPROVAL", "NEEDS_APPROVAL", "NEEDS_APPROVAL"], 2),
        ("deploy_waiting", {"seconds": PHASE * 2}, ["WAITING", "WAITING", "QUEUED", "INITIALIZING"], 3),
        ("healthcheck_fail", {}, ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "DEPLOYING", "FAILED"], 5),
        ("predeploy_fail", {"migration": "20250301_add_invoices"}, ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "FAILED"], 4),
        ("app_unhealthy", {}, ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "SUCCESS"], 4),
    ],
)
def test_deployment_fault_kinds(frozen: EmulatorProcess, kind: str, params: dict, expected: list[str], phases: int) -> None:
    seeded = seeded_backend_deployment(frozen)
    frozen.inject(kind, **params)
    deployment_id = deploy(frozen)
    assert statuses_by_phase(frozen, deployment_id, phases) == expected
    assert frozen.faults() == []  # consumed by that one deployment
    if expected[-1] in ("FAILED", "CRASHED"):
        # The previous deployment keeps serving.
        assert status(frozen, seeded) == "SUCCESS"
        assert app(frozen, "api/health").status_code == 200


def test_hung_deployment_never_finishes(frozen: EmulatorProcess) -> None:
    frozen.inject("deploy_hang")
    deployment_id = deploy(frozen)
    frozen.advance(365 * 86400)
    assert status(frozen, deployment_id) == "BUILDING"


def test_build_failure_and_skip_explain_themselves(frozen: EmulatorProcess) -> None:
    frozen.inject("deploy_fail", message="npm error Missing script: build")
    failed = deploy(frozen)
    frozen.inject("deploy_skip")
    skipped = deploy(frozen, "c" * 40)
    frozen.advance(PHASE * 3)
    assert "npm error Missing script: build" in log_messages(frozen, BUILD_LOGS, failed)
    assert events(frozen, failed)[-1]["payload"]["error"].startswith("ERROR: failed to build")
    assert log_messages(frozen, BUILD_LOGS, skipped)[-1].startswith("No changed files matched patterns")
    assert events(frozen, skipped)[-1]["payload"]["skipped"] is True


def test_approval_releases_a_held_deployment(frozen: EmulatorProcess) -> None:
    seeded = seeded_backend_deployment(frozen)
    frozen.inject("deploy_needs_approval")
    deployment_id = deploy(frozen)
    assert "does not need approval" in error(frozen, 'mutation { deploymentApprove(id: "%s") }' % seeded)
    assert data(frozen, 'mutation { deploymentApprove(id: "%s") }' % deployment_id)["deploymentApprove"] is True
    assert statuses_by_phase(frozen, deployment_id, 4) == ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "SUCCESS"]


def test_failed_migration_reports_step_and_migration(frozen: EmulatorProcess) -> None:
    data(frozen, UPDATE, {"input": {"preDeployCommand": ["npx prisma migrate deploy"]}})
    frozen.inject("predeploy_fail", migration="20250301_add_invoices")
    deployment_id = deploy(frozen)
    frozen.advance(PHASE * 4)
    step = events(frozen, deployment_id)[-1]
    assert step["step"] == "PRE_DEPLOY_COMMAND" and "20250301_add_invoices" in step["payload"]["error"]
    assert "Migration name: 20250301_add_invoices" in log_messages(frozen, DEPLOY_LOGS, deployment_id)


def test_failed_healthcheck_reports_unhealthy_replicas(frozen: EmulatorProcess) -> None:
    frozen.inject("healthcheck_fail")
    deployment_id = deploy(frozen)
    frozen.advance(PHASE * 5)
    step = events(frozen, deployment_id)[-1]
    assert step["step"] == "HEALTHCHECK" and step["payload"]["error"] == "1/1 replicas never became healthy"
    assert data(frozen, DEPLOYMENT, {"id": deployment_id})["deployment"]["deploymentStopped"] is True


def test_unhealthy_app_answers_503_after_success(frozen: EmulatorProcess) -> None:
    frozen.inject("app_unhealthy")
    deployment_id = deploy(frozen)
    frozen.advance(PHASE * 4)
    assert status(frozen, deployment_id) == "SUCCESS"
    assert app(frozen, "api/health").status_code == 503


def test_deployment_fault_can_target_one_service(frozen: EmulatorProcess) -> None:
    frozen.inject("deploy_fail", service="Postgres")
    deployment_id = deploy(frozen)
    frozen.advance(PHASE * 4)
    assert status(frozen, deployment_id) == "SUCCESS"
    assert frozen.faults()[0]["kind"] == "deploy_fail"


# -- request faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status_code"), [("http_500", 500), ("http_502", 502), ("http_503", 503)])
def test_http_error_faults(emulator: EmulatorProcess, kind: str, status_code: int) -> None:
    emulator.inject(kind, count=2)
    assert [post(emulator, "{ me { id } }").status_code for _attempt in range(3)] == [status_code, status_code, 200]


# The HTTP-date is made when the test runs: a collection-time date would name the test differently in each
# pytest-xdist worker, which then refuses the run ("Different tests were collected").
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_fault_sends_retry_after(emulator: EmulatorProcess, form: str) -> None:
    retry_after: int | str = 7 if form == "seconds" else http_date(30)
    emulator.inject("http_429", retry_after=retry_after)
    response = post(emulator, "{ me { id } }")
    assert response.status_code == 429 and response.headers["Retry-After"] == str(retry_after)


def test_slow_drop_html_and_graphql_error_faults(emulator: EmulatorProcess) -> None:
    emulator.inject("slow", seconds=0.4)
    started = time.monotonic()
    assert post(emulator, "{ me { id } }").status_code == 200
    assert time.monotonic() - started >= 0.4

    emulator.inject("drop")
    with pytest.raises(requests.ConnectionError):
        post(emulator, "{ me { id } }")

    emulator.inject("html")
    response = post(emulator, "{ me { id } }")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html") and "Cloudflare" in response.text
    emulator.inject("html", status=403)
    assert post(emulator, "{ me { id } }").status_code == 403

    emulator.inject("graphql_error", message="Problem processing request")
    assert error(emulator, "{ me { id } }") == "Problem processing request"


def test_request_fault_operation_filter(emulator: EmulatorProcess) -> None:
    emulator.inject("http_500", operation="Deployment")
    assert post(emulator, "query Me { me { id } }").status_code == 200
    seeded = seeded_backend_deployment(emulator)
    assert post(emulator, DEPLOYMENT, {"id": seeded}).status_code == 500
    assert post(emulator, DEPLOYMENT, {"id": seeded}).status_code == 200


def test_faults_admin_validates_and_clears(emulator: EmulatorProcess) -> None:
    for bad in ({"kind": "meteor"}, {"kind": "slow", "seconds": -1}, {"kind": "http_500", "count": 0}, {"kind": "deploy_fail", "operation": "X"}):
        response = requests.post(f"{emulator.admin_url}/faults", json=bad, timeout=10)
        assert response.status_code == 400 and response.json()["message"]
    emulator.inject("http_500", count=3)
    assert emulator.faults() == [{"kind": "http_500", "count": 3, "params": {}}]
    emulator.clear_faults()
    assert emulator.faults() == []


# -- rate limiting --------------------------------------------------------------------------------------------


def test_rate_limit_headers_429_and_window_reset() -> None:
    with EmulatorProcess(rate_limit=3, rate_window=60, clock_scale=0) as emulator:
        responses = [post(emulator, "{ me { id } }") for _attempt in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
        assert all(r.headers["X-RateLimit-Limit"] == "3" for r in responses)
        limited = responses[-1]
        assert limited.headers["Retry-After"] == "60"
        assert int(limited.headers["X-RateLimit-Reset"]) == int(responses[0].headers["X-RateLimit-Reset"])
        # Each token has its own budget.
        assert post(emulator, "{ projectToken { id } }", token="project").status_code == 200
        counters = emulator.counters()
        assert counters["requests"] == 5 and counters["queries"] == 4
        emulator.advance(60)
        assert post(emulator, "{ me { id } }").status_code == 200


# -- uploads ----------------------------------------------------------------------------------------------------


def test_upload_creates_a_deployment_with_files_digest_and_message(frozen: EmulatorProcess) -> None:
    body = tarball({"./package.json": b"{}", "./src/main.ts": b"console.log('hi')"})
    response = upload(frozen, body, token="project", message="Deploy 1.2.3")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["deploymentDomain"] == DOMAIN and answer["url"] == f"https://{DOMAIN}"
    stored = state_deployment(frozen, answer["deploymentId"])
    assert stored["upload"]["files"] == ["./package.json", "./src/main.ts"]
    assert stored["upload"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert stored["meta"]["message"] == "Deploy 1.2.3"
    assert status(frozen, answer["deploymentId"]) == "QUEUED"
    assert frozen.counters()["uploads"] == 1


# Named ids: gzip writes the time into its header, and an id made of those bytes differed between pytest-xdist workers.
@pytest.mark.parametrize(
    ("body", "status_code"),
    [(b"plain text, not gzip", 400), (gzip.compress(b"gzip but not a tar archive", mtime=0), 400), (b"\x1f\x8b" + b"x" * 5000, 413)],
    ids=["not-gzip", "gzip-not-tar", "too-large"],
)
def test_upload_rejects_bad_or_large_archives(frozen: EmulatorProcess, body: bytes, status_code: int) -> None:
    response = upload(frozen, body)
    assert response.status_code == status_code
    if status_code == 400:
        assert response.json()["message"]


def test_upload_requires_a_token_in_scope(frozen: EmulatorProcess) -> None:
    body = tarball({"./a": b"a"})
    assert upload(frozen, body, token=None).status_code == 401
    assert upload(frozen, body, token=None).json() == {"message": "Not Authorized"}
    assert upload(frozen, body, token="project", environment=STAGING).status_code == 401


# -- counters, apps, admin, process ------------------------------------------------------------------------------


def test_counters_split_queries_and_mutations(emulator: EmulatorProcess) -> None:
    emulator.reset_counters()
    data(emulator, "query Me { me { id } }")
    data(emulator, "{ projects { edges { node { id } } } }")
    data(emulator, UPSERT, {"input": {"projectId": PROJECT, "environmentId": PRODUCTION, "serviceId": BACKEND, "variables": {"A": "1"},
                                      "skipDeploys": True}})
    error(emulator, "query Me { me { id } }", token=None)
    counters = emulator.counters()
    assert {k: counters[k] for k in ("requests", "graphql_requests", "queries", "mutations", "uploads")} == {
        "requests": 4, "graphql_requests": 4, "queries": 3, "mutations": 1, "uploads": 0}
    assert counters["by_operation"] == {"Me": 2, "projects": 1, "Upsert": 1}
    assert counters["mutation_fields"] == {"variableCollectionUpsert": 1}
    assert emulator.reset_counters()["requests"] == 0


def test_app_health_endpoints(emulator: EmulatorProcess) -> None:
    assert app(emulator, "api/health").json() == {"status": "ok"}
    details = app(emulator, "api/health/details", token="emu-health-token")
    assert details.status_code == 200
    assert {k: details.json()[k] for k in ("status", "database", "redis")} == {"status": "ok", "database": "up", "redis": "up"}
    assert app(emulator, "api/health/details", token="wrong").status_code == 401
    assert app(emulator, "api/health/details").status_code == 401
    assert app(emulator, "api/health", domain="nobody.up.railway.app").status_code == 404
    created = data(emulator, 'mutation { serviceDomainCreate(input: {environmentId: "%s", serviceId: "%s", targetPort: 8080}) { domain syncStatus } }'
                   % (STAGING, BACKEND))["serviceDomainCreate"]
    assert created == {"domain": "backend-staging.up.railway.app", "syncStatus": "ACTIVE"}
    # Nothing is deployed behind the new domain yet.
    assert app(emulator, "api/health", domain=created["domain"]).status_code == 404


def test_state_dump_seeds_a_new_emulator(frozen: EmulatorProcess, tmp_path: Path) -> None:
    deployment_id = deploy(frozen)
    dump = frozen.state()
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(dump), encoding="utf-8")
    with EmulatorProcess(seed=seed, phase_seconds=PHASE, clock_scale=0) as reseeded:
        assert status(reseeded, deployment_id) == "QUEUED"
        reseeded.advance(PHASE * 4)
        assert status(reseeded, deployment_id) == "SUCCESS"
        assert data(reseeded, VARIABLES, {"s": BACKEND, "u": True})["variables"] == data(frozen, VARIABLES, {"s": BACKEND, "u": True})["variables"]


def test_reset_restores_the_seed(emulator: EmulatorProcess) -> None:
    pristine = emulator.state()
    deploy(emulator)
    emulator.inject("http_500", operation="Nothing")
    emulator.reset()
    again = emulator.state()
    assert [d["id"] for d in again["deployments"]] == [d["id"] for d in pristine["deployments"]]
    assert again["variables"] == pristine["variables"] and emulator.faults() == []


def test_request_log_has_one_line_per_request_and_no_secrets(emulator: EmulatorProcess) -> None:
    data(emulator, "query Me { me { id } }")
    data(emulator, VARIABLES, {"s": BACKEND})
    logs = emulator.logs()
    assert "POST /graphql/v2 200" in logs and "op=Me" in logs
    for secret in (emulator.account_token, emulator.project_token, "emu-postgres-password", "emu-health-token"):
        assert secret not in logs


def test_sigterm_stops_the_process_cleanly() -> None:
    emulator = EmulatorProcess()
    emulator.start()
    emulator.stop()
    assert emulator.returncode == 0


# -- subscriptions (graphql-transport-ws) ------------------------------------------------------------------------------

SUBSCRIPTION = "subscription Watch($id: String!) { deployment(id: $id) { id status } }"


def socket(emu: EmulatorProcess, token: str = "account"):
    import websocket  # websocket-client, as the modules use it
    header = ["Authorization: Bearer " + (emu.account_token if token == "account" else "wrong-token")]
    return websocket.create_connection(emu.url.replace("http://", "ws://"), header=header, subprotocols=["graphql-transport-ws"],
                                       timeout=10)


def messages_until(ws, predicate, limit: int = 50) -> list[dict]:
    seen = []
    while len(seen) < limit:
        seen.append(json.loads(ws.recv()))
        if predicate(seen[-1]):
            return seen
    raise AssertionError(seen)


def test_a_deployment_subscription_pushes_every_status_change(emulator: EmulatorProcess) -> None:
    deployment_id = deploy(emulator)
    ws = socket(emulator)
    ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(ws.recv()) == {"type": "connection_ack"}
    ws.send(json.dumps({"type": "ping"}))
    assert json.loads(ws.recv()) == {"type": "pong"}
    payload = {"query": SUBSCRIPTION, "variables": {"id": deployment_id}, "operationName": "Watch"}
    ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    seen = messages_until(ws, lambda m: m["payload"]["data"]["deployment"]["status"] == "SUCCESS")
    statuses = [m["payload"]["data"]["deployment"]["status"] for m in seen]
    assert {m["type"] for m in seen} == {"next"} and {m["id"] for m in seen} == {"1"}
    assert statuses == ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "SUCCESS"]
    ws.send(json.dumps({"id": "1", "type": "complete"}))
    ws.close()
    counters = emulator.counters()
    assert counters["websockets"] == 1 and counters["subscriptions"] == 1 and counters["by_operation"]["Watch"] == 1


def test_subscription_errors_and_auth(emulator: EmulatorProcess) -> None:
    ws = socket(emulator)
    ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    ws.recv()
    ws.send(json.dumps({"id": "a", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": {"id": "nope"}}}))
    assert json.loads(ws.recv())["payload"][0]["message"] == "Deployment not found"
    ws.send(json.dumps({"id": "b", "type": "subscribe", "payload": {"query": "{ me { id } }"}}))
    assert "subscription" in json.loads(ws.recv())["payload"][0]["message"]
    ws.close()
    import websocket
    bad = socket(emulator, token="bad")
    bad.send(json.dumps({"type": "connection_init", "payload": {}}))
    opcode, payload = bad.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(payload[:2], "big") == 4403 and payload[2:] == b"Forbidden"


def test_socket_faults_refuse_or_drop(emulator: EmulatorProcess) -> None:
    import websocket
    emulator.inject("ws_refuse")
    with pytest.raises(websocket.WebSocketBadStatusException, match="503"):
        socket(emulator)
    emulator.inject("ws_drop", after=1)
    ws = socket(emulator)
    ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    ws.recv()
    payload = {"query": SUBSCRIPTION, "variables": {"id": seeded_backend_deployment(emulator)}}
    ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    assert json.loads(ws.recv())["type"] == "next"
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        ws.recv()
    assert emulator.faults() == []
