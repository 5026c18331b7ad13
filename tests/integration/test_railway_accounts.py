# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Railway deploys as real accounts meet them, against the emulator (issue 13).

Every token kind (account, workspace, project) by name and by ID; uploads that never carry env files or keys;
the outcome said when events and logs cannot be read; transient faults on status checks; failures before a
deployment exists; the wait by subscription and its fallback to polling when the socket is refused or drops.
"""
from __future__ import annotations

import time

import pytest

from test_railway_modules import PROJECT, Runner, assert_one_line_failure, deploy_args, deployments_of

PROJECT_ID, PRODUCTION_ID, BACKEND_ID = "project-backendops-demo", "env-production", "service-backend"
LOOKUPS = ("UserProjects", "Projects", "Project", "ProjectToken")


@pytest.fixture(name="runner")
def runner_fixture(playbook, emulator, tmp_path):
    return Runner(playbook, emulator, tmp_path)


def connection(emulator, token, by):
    """Module options for ``token`` (account, workspace, project), naming the target ``by`` name, id or ids."""
    options = {"api_url": emulator.url}
    if token == "project":
        options["project_token"] = emulator.project_token
    else:
        options["api_token"] = getattr(emulator, token + "_token")
    if by == "name":
        options.update(project=None if token == "project" else PROJECT, environment="production")
    elif by == "id":
        options.update(project=PROJECT_ID, environment=PRODUCTION_ID)
    else:
        options.update(project_id=PROJECT_ID, environment_id=PRODUCTION_ID, service_id=BACKEND_ID)
    return {key: value for key, value in options.items() if value is not None}


def lookups(counters):
    return {name: count for name, count in counters["by_operation"].items() if name in LOOKUPS}


# --- 1. every token kind -------------------------------------------------------------------------------------------

EXPECTED_LOOKUPS = {
    ("account", "name"): {"UserProjects": 1},
    ("account", "id"): {"UserProjects": 1},
    # A workspace token has no user: `me` fails, the projects it can see are listed instead.
    ("workspace", "name"): {"UserProjects": 1, "Projects": 1},
    ("workspace", "id"): {"UserProjects": 1, "Projects": 1},
    ("project", "name"): {"ProjectToken": 1},
    ("project", "id"): {"ProjectToken": 1},
}


@pytest.mark.parametrize("token", ["account", "workspace", "project"])
@pytest.mark.parametrize("by", ["name", "id", "ids"])
def test_every_token_kind_reads_and_sets_by_name_and_by_id(runner, emulator, token, by):
    options = connection(emulator, token, by)
    service = {"service": "backend"}
    emulator.reset_counters()
    results, outcome = runner.run([
        {"name": "read", "backendops.stack.railway_info": {**options, **service, "shared_variables": False}},
        {"name": "set", "backendops.stack.railway_variables": {**options, **service, "variables": {"TOKEN_KIND": token}}},
    ], token="none")
    read, written = results
    assert not read.get("failed") and not written.get("failed"), (read, written, outcome.output[-2000:])
    assert read["services"][0]["id"] == BACKEND_ID and read["project"]["id"] == PROJECT_ID
    assert written["changed"] and written["target"]["environment"]["id"] == PRODUCTION_ID
    counters = emulator.counters()
    if by == "ids":
        # IDs from an earlier lookup: no lookup request at all.
        assert lookups(counters) == {}, counters
    else:
        assert lookups(counters) == {name: 2 * count for name, count in EXPECTED_LOOKUPS[token, by].items()}, counters


def test_a_project_given_by_id_alone_is_read_directly(runner, emulator):
    options = {"api_url": emulator.url, "api_token": emulator.workspace_token, "project_id": PROJECT_ID}
    result, counters, _outcome = runner.module("railway_info", {**options, "environment": "production", "service": "backend",
                                                                "shared_variables": False}, token="none")
    assert not result.get("failed"), result
    assert lookups(counters) == {"Project": 1}
    assert result["environment"] == {"id": PRODUCTION_ID, "name": "production"}


def test_a_workspace_token_sees_only_its_workspace(runner, emulator):
    options = connection(emulator, "workspace", "name")
    result, _counters, outcome = runner.module("railway_info", {**options, "project": "other-project", "environment": "production"},
                                               token="none")
    assert_one_line_failure(result, outcome)
    assert "project 'other-project' not found in the projects this token can access; existing: backendops-demo" in result["msg"]
    # The account token of the same user sees both workspaces.
    result, _counters, _outcome = runner.module("railway_info", {**connection(emulator, "account", "name"),
                                                                 "project": "other-project", "environment": "production"},
                                                token="none")
    assert not result.get("failed"), result


def test_a_project_token_sees_one_environment(runner, emulator):
    options = connection(emulator, "project", "name")
    result, _counters, outcome = runner.module("railway_info", {**options, "environment": "staging"}, token="none")
    assert_one_line_failure(result, outcome)
    assert "scoped to environment 'production'" in result["msg"]


def test_any_failure_of_me_falls_back_to_listing(runner, emulator):
    emulator.inject("graphql_error", operation="UserProjects", message="User not found")
    result, counters, _outcome = runner.module("railway_info", {"service": "backend", "shared_variables": False})
    assert not result.get("failed"), result
    assert lookups(counters) == {"UserProjects": 1, "Projects": 1}


@pytest.mark.parametrize("token", ["workspace", "project"])
def test_other_token_kinds_deploy_and_wait_by_subscription(runner, emulator, token, tmp_path):
    source = tmp_path / "app"
    (source / "src").mkdir(parents=True)
    (source / "src/main.js").write_text("console.log(1)\n")
    args = {**connection(emulator, token, "ids"), **deploy_args(source="upload", path=str(source))}
    result, counters, _outcome = runner.module("railway_deploy", args, token="none")
    assert not result.get("failed"), result
    assert result["status"] == "SUCCESS" and result["wait"]["via"] == "subscription"
    assert counters["graphql_requests"] == 0 and counters["uploads"] == 1 and counters["websockets"] == 1, counters


# --- 3. never upload secrets ----------------------------------------------------------------------------------------

SECRET_FILES = {".env": "A=1", ".env.local": "A=2", "sub/.env": "A=3", "production.env": "A=4", "sub/staging.env": "A=5",
                "certs/server.pem": "KEY", "certs/server.key": "KEY", "deploy/id_rsa": "KEY", "deploy/id_ed25519.pub": "PUB"}


def uploaded_names(emulator, deployment_id):
    deployment = next(d for d in emulator.state()["deployments"] if d["id"] == deployment_id)
    return set(deployment["upload"]["files"])


@pytest.mark.parametrize("ignore", [None, ".env\n.env.*\n!.env.example\nnode_modules\n", "!*.env\n!.env\n"],
                         ids=["no-ignore-file", "sample-railwayignore", "ignore-file-re-includes"])
def test_env_files_and_keys_are_never_uploaded(runner, emulator, tmp_path, ignore):
    source = tmp_path / "app"
    files = {**SECRET_FILES, "package.json": "{}", "src/main.js": "x", ".env.example": "A=", "node_modules/x/i.js": "x",
             ".git/HEAD": "ref"}
    for relative, content in files.items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(content)
    if ignore is not None:
        (source / ".railwayignore").write_text(ignore)
    result, _counters, _outcome = runner.module("railway_deploy", deploy_args(source="upload", path=str(source)))
    assert not result.get("failed"), result
    names = uploaded_names(emulator, result["deployment_id"])
    assert {"package.json", "src/main.js"} <= names
    assert not names & (set(SECRET_FILES) | {".env.example", "node_modules/x/i.js", ".git/HEAD"}), names
    assert result["source_files"] == len(names)
    withheld = {entry["path"] for entry in result["source_withheld"]}
    assert {"production.env", "sub/staging.env", "certs/server.pem", "certs/server.key", "deploy/id_rsa",
            "deploy/id_ed25519.pub", ".git/"} <= withheld
    assert (".env" in withheld) == (ignore is None or "!.env\n" in ignore)


def test_a_variable_allows_a_named_pattern(runner, emulator, tmp_path):
    source = tmp_path / "app"
    for relative in ("src/main.js", ".env.example", "public.pem", "prod.env"):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text("x")
    result, _counters, _outcome = runner.module("railway_deploy", deploy_args(
        source="upload", path=str(source), upload_allow=[".env.example", "*.pem"]))
    assert not result.get("failed"), result
    assert uploaded_names(emulator, result["deployment_id"]) == {"src/main.js", ".env.example", "public.pem"}
    assert result["source_withheld"] == [{"path": "prod.env", "pattern": "*.env"}]


# --- 4. the outcome said when events or logs cannot be read ---------------------------------------------------------

UNREADABLE = [{"kind": "graphql_error", "operation": name, "message": "Internal problem", "count": 3}
              for name in ("DeploymentEvents", "BuildLogs", "DeploymentLogs")]


@pytest.mark.parametrize("fault, status, during", [
    ("deploy_fail", "FAILED", "BUILDING"),
    ("deploy_crash", "CRASHED", "DEPLOYING"),
    ("predeploy_fail", "FAILED", "DEPLOYING"),
])
def test_failures_are_reported_when_events_and_logs_cannot_be_read(runner, emulator, fault, status, during):
    emulator.inject(fault)
    for unreadable in UNREADABLE:
        emulator.inject(**unreadable)
    result, counters, outcome = runner.module("railway_deploy", deploy_args(rollback_on_failure=True))
    assert_one_line_failure(result, outcome)
    message = result["msg"]
    assert result["deployment_id"] in message and status in message and result["status"] == status
    assert "while %s" % during in message and result["failed_step"] == {"status": during}
    assert "its events, build logs, deploy logs could not be read (Railway answered Internal problem)" in message
    assert "DeploymentEvents: Internal problem" in result["logs_error"]
    # Rollback is decided on the status alone: the previous deployment still serves, so none is needed.
    assert result["rollback"]["action"] == "not_needed"
    assert counters["by_operation"]["Deployments"] == 2  # before the start and for the rollback decision


DIAGNOSTICS = ("DeploymentEvents", "BuildLogs", "DeploymentLogs")


@pytest.mark.parametrize("kind", ["http_500", "http_503", "drop"])
def test_diagnostics_that_keep_failing_are_read_twice_and_said_once(runner, emulator, kind):
    """Issue 22: a failure's events and logs are worth two attempts each, not the six of a read that matters."""
    previous = next(d for d in deployments_of(emulator) if d["status"] == "SUCCESS")
    emulator.inject("deploy_fail")
    for name in DIAGNOSTICS:
        emulator.inject(kind, operation=name, count=10)
    result, counters, outcome = runner.module("railway_deploy", deploy_args(rollback_on_failure=True))
    assert_one_line_failure(result, outcome)
    assert {name: counters["by_operation"][name] for name in DIAGNOSTICS} == dict.fromkeys(DIAGNOSTICS, 2)
    message = result["msg"]
    assert message.startswith("Deployment %s of service backend FAILED while BUILDING; its events, build logs, deploy "
                              "logs could not be read (" % result["deployment_id"]), message
    assert message.count("could not be read") == 1 and message.count("last error") == 0
    assert "raise retries" not in message and "check api_url" not in message
    assert "deployment %s is still active, so the service is unchanged (no rollback needed)" % previous["id"] in message
    assert result["build_logs"] == [] and result["deploy_logs"] == []
    assert "failed after 2 attempts" in result["logs_error"]


# --- 5. reads retried, writes not ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, params", [
    ("graphql_error", {"message": "Problem processing request"}),
    ("http_500", {}),
    ("http_502", {}),
    ("drop", {}),
])
def test_a_transient_fault_on_a_status_poll_is_retried(runner, emulator, kind, params):
    emulator.inject(kind, operation="Deployment", **params)
    result, counters, _outcome = runner.module("railway_deploy", deploy_args(wait_via="polling"))
    assert not result.get("failed"), result
    assert result["status"] == "SUCCESS" and result["wait"] == {"via": "polling", "polls": result["wait"]["polls"]}
    assert counters["by_operation"]["Deployment"] == result["wait"]["polls"] + 1  # the retried attempt
    assert emulator.faults() == []


def test_a_wait_that_fails_names_the_request_not_a_timeout(runner, emulator):
    emulator.inject("graphql_error", operation="Deployment", message="Problem processing request", count=50)
    result, _counters, outcome = runner.module("railway_deploy", deploy_args(wait_via="polling", wait_timeout=2))
    assert_one_line_failure(result, outcome)
    assert result["timed_out"] is False
    assert "Lost track of deployment %s" % result["deployment_id"] in result["msg"]
    assert "Railway API call Deployment failed before the wait's deadline; last error: GraphQL error 'Problem processing request'" in result["msg"]
    assert "did not finish within" not in result["msg"]
    emulator.clear_faults()


def test_a_wait_ends_with_timeout_only_when_the_timeout_passed(runner, emulator):
    emulator.inject("deploy_hang")
    result, _counters, outcome = runner.module("railway_deploy", deploy_args(wait_timeout=2))
    assert_one_line_failure(result, outcome)
    assert result["timed_out"] is True and "did not finish within wait_timeout=2 s" in result["msg"]


# --- 6. the right step named --------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, faults, step, extra", [
    ("upload", [{"kind": "http_502", "operation": "up"}], "upload", {}),
    ("upload", [{"kind": "http_429", "retry_after": 600, "count": 2}], "lookup", {}),
    ("redeploy", [{"kind": "graphql_error", "operation": "ServiceInstance", "message": "Internal problem"}], "lookup", {}),
    ("commit", [{"kind": "http_502", "operation": "ServiceInstanceDeployV2"}], "start", {"commit": "a" * 40}),
])
def test_failures_before_a_deployment_exists_say_nothing_was_deployed(runner, emulator, tmp_path, source, faults, step, extra):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.js").write_text("x")
    for fault in faults:
        emulator.inject(**fault)
    before = len(deployments_of(emulator))
    args = deploy_args(source=source, **extra)
    if source == "upload":
        args["path"] = str(tmp_path / "app")
    result, counters, outcome = runner.module("railway_deploy", args)
    assert_one_line_failure(result, outcome)
    assert result["msg"].startswith("Nothing was deployed: step %s (" % step), result["msg"]
    assert "the deployment failed" not in result["msg"].lower()
    assert result["step"] == step and result["deployed"] is False and "deployment_id" not in result
    assert len(deployments_of(emulator)) == before and counters["mutations"] == 0


def test_a_lost_upload_answer_says_a_deployment_may_have_started(runner, emulator, tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.js").write_text("x")
    emulator.inject("slow", operation="up", seconds=3)
    args = deploy_args(source="upload", path=str(tmp_path / "app"), request_timeout=1)
    result, _counters, outcome = runner.module("railway_deploy", args)
    assert_one_line_failure(result, outcome)
    assert result["step"] == "upload" and result["deployed"] == "unknown"
    assert "a deployment may have started anyway" in result["msg"] and "Nothing was deployed" not in result["msg"]
    time.sleep(2.5)  # the emulator finishes the slow upload (and creates its deployment) before the next reset


# --- 7. waiting by subscription -------------------------------------------------------------------------------------

def test_the_wait_uses_the_subscription(runner, emulator):
    result, counters, _outcome = runner.module("railway_deploy", deploy_args())
    assert not result.get("failed"), result
    assert result["wait"] == {"via": "subscription", "polls": 0}
    assert counters["websockets"] == 1 and counters["subscriptions"] == 1 and "Deployment" not in counters["by_operation"]
    statuses = [t["status"] for t in result["transitions"]]
    assert statuses[0] == "QUEUED" and statuses[-1] == "SUCCESS" and "BUILDING" in statuses


@pytest.mark.parametrize("fault, expected", [
    ({"kind": "ws_refuse"}, "cannot open the socket (HTTP 503 on the upgrade)"),
    ({"kind": "ws_drop", "after": 2}, "the socket dropped"),
])
@pytest.mark.parametrize("outcome_fault", [None, "deploy_fail"])
def test_a_refused_or_dropped_subscription_falls_back_to_polling(runner, emulator, fault, expected, outcome_fault):
    emulator.inject(**fault)
    if outcome_fault:
        emulator.inject(outcome_fault)
    result, counters, outcome = runner.module("railway_deploy", deploy_args())
    assert result["wait"]["via"] == "polling" and expected in result["wait"]["fallback"], result
    assert counters["by_operation"]["Deployment"] == result["wait"]["polls"] >= 1
    statuses = [t["status"] for t in result["transitions"]]
    if outcome_fault:
        assert_one_line_failure(result, outcome)
        assert result["status"] == "FAILED" and "FAILED at step BUILD_IMAGE" in result["msg"]
    else:
        assert not result.get("failed"), result
        assert result["status"] == "SUCCESS" and statuses[-1] == "SUCCESS" and len(statuses) == len(set(statuses))
    if fault["kind"] == "ws_drop":
        assert statuses[:2] == ["QUEUED", "INITIALIZING"]  # seen on the subscription before it dropped
