# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The four railway_* modules run by ansible-playbook against the Railway emulator.

Every changing module goes check -> run -> re-check -> re-run; the emulator's counters prove that check mode and
re-runs send no mutation. Faults injected into the emulator must be retried to success or end in a one-line
error without a Python traceback.
"""
from __future__ import annotations

import email.utils
import json
import threading
import time

import pytest
import requests

from support import Unsafe, write_play

PROJECT = "backendops-demo"
SECRET_VALUE = "s3cr3t-Value-7f9c2e"  # a variable value that must never show up in any output


class Runner:
    """Writes one-play playbooks for localhost and runs them like a user, with JSON output for assertions."""

    def __init__(self, playbook, emulator, tmp_path):
        self.playbook = playbook
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.count = 0

    def connection(self, token="account"):
        defaults = {"api_url": self.emulator.url}
        if token == "account":
            defaults.update(api_token=self.emulator.account_token, project=PROJECT, environment="production")
        elif token == "project":
            defaults.update(project_token=self.emulator.project_token)
        return defaults

    def write(self, tasks, token="account"):
        self.count += 1
        path = self.tmp_path / ("playbook-%d.yml" % self.count)
        return write_play(path, tasks, {"group/backendops.stack.railway": self.connection(token)}, name="railway")

    def run_raw(self, tasks, *args, token="account", env=None):
        return self.playbook(self.write(tasks, token), *args, env=env)

    def run(self, tasks, *args, token="account", env=None):
        """Run ``tasks``; return (list of localhost results, PlaybookRun)."""
        environment = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
        environment.update(env or {})
        outcome = self.playbook(self.write(tasks, token), *args, env=environment)
        try:
            document = json.loads(outcome.stdout)
        except ValueError:
            raise AssertionError("no JSON from ansible-playbook:\n%s" % outcome.output[-3000:])
        results = [task["hosts"]["localhost"] for task in document["plays"][0]["tasks"]]
        return results, outcome

    def module(self, name, args, *flags, token="account", env=None, check=False, diff=False):
        """Run one module once; return (result, counters of that run, PlaybookRun)."""
        extra = list(flags) + (["--check"] if check else []) + (["--diff"] if diff else [])
        self.emulator.reset_counters()
        results, outcome = self.run([{"name": name, "backendops.stack." + name: args}], *extra, token=token, env=env)
        return results[0], self.emulator.counters(), outcome


@pytest.fixture(name="runner")
def runner_fixture(playbook, emulator, tmp_path):
    return Runner(playbook, emulator, tmp_path)


def scope_of(emulator, service_id, environment_id="env-production"):
    """One variable scope of the emulator's state (values, sealed names); None = the shared variables."""
    for entry in emulator.state()["variables"]:
        if entry["serviceId"] == service_id and entry["environmentId"] == environment_id:
            return entry
    return {"values": {}, "sealed": []}


def variables_of(emulator, service_id, environment_id="env-production"):
    return scope_of(emulator, service_id, environment_id)["values"]


def deployments_of(emulator, service_id="service-backend"):
    return [d for d in emulator.state()["deployments"] if d["serviceId"] == service_id]


def assert_one_line_failure(result, outcome):
    assert result.get("failed"), result
    assert "\n" not in result["msg"]
    assert "Traceback (most recent call last)" not in outcome.output


def check_run_recheck_rerun(runner, name, args):
    """The idempotence cycle in one playbook, with the emulator's counters read around every step.

    Returns the four (result, counters) pairs after asserting the invariants.
    """
    admin = runner.emulator.admin_url
    tasks = []
    for check in (True, False, True, False):
        tasks += [
            {"ansible.builtin.uri": {"url": admin + "/counters/reset", "method": "POST"}},
            {"backendops.stack." + name: args, "check_mode": check, "diff": True},
            {"ansible.builtin.uri": {"url": admin + "/counters", "return_content": True}},
        ]
    results, outcome = runner.run(tasks)
    assert len(results) == 12, outcome.output[-3000:]
    cycle = [(results[step], results[step + 1]["json"]) for step in (1, 4, 7, 10)]
    for result, _counters in cycle:
        assert not result.get("failed"), result
    (check1, counters1), (run1, dummy), (check2, counters3), (run2, counters4) = cycle
    assert check1["changed"] and run1["changed"]
    assert not check2["changed"] and not run2["changed"]
    for counters in (counters1, counters3, counters4):
        assert counters["mutations"] == 0 and counters["uploads"] == 0, counters
    return cycle


# --- railway_variables ---------------------------------------------------------------------------------------------

def test_variables_cycle_keeps_references_literal_and_masks_values(runner, emulator):
    args = {"service": "backend", "variables": {
        "API_SECRET": SECRET_VALUE, "PORT": 8080, "DEBUG": False,
        "DATABASE_URL": Unsafe("${{Postgres.DATABASE_URL}}"), "CACHE_URL": Unsafe("${{Redis.REDIS_URL}}")}}
    cycle = check_run_recheck_rerun(runner, "railway_variables", args)
    check1, run1 = cycle[0][0], cycle[1][0]
    assert check1["added"] == run1["added"] == ["API_SECRET", "CACHE_URL", "DEBUG"]
    assert run1["updated"] == [] and run1["removed"] == []
    assert run1["diff"]["after"]["API_SECRET"] == "********"
    assert SECRET_VALUE not in json.dumps(cycle)

    values = variables_of(emulator, "service-backend")
    assert values["API_SECRET"] == SECRET_VALUE and values["DEBUG"] == "false" and values["PORT"] == "8080"
    assert values["CACHE_URL"] == "${{Redis.REDIS_URL}}"  # stored unrendered
    assert values["DATABASE_URL"] == "${{Postgres.DATABASE_URL}}"
    assert not [d for d in deployments_of(emulator) if d["status"] != "SUCCESS"], "skip_deploys must not deploy"


def test_variables_upsert_in_one_mutation_and_report_updates(runner, emulator):
    result, counters, _outcome = runner.module("railway_variables", {"service": "backend", "variables": {
        "NODE_ENV": "staging", "NEW_ONE": "1", "HEALTH_TOKEN": "rotated"}}, diff=True)
    assert result["changed"] and result["added"] == ["NEW_ONE"] and result["updated"] == ["HEALTH_TOKEN", "NODE_ENV"]
    assert counters["mutation_fields"] == {"variableCollectionUpsert": 1}
    assert result["diff"]["after"]["NODE_ENV"] == "******** (changed)"
    assert variables_of(emulator, "service-backend")["NODE_ENV"] == "staging"


def test_variables_replace_and_absent_delete_with_variable_delete(runner, emulator):
    before = set(variables_of(emulator, "service-backend"))
    args = {"service": "backend", "replace": True, "variables": {"PORT": "8080", "NODE_ENV": Unsafe("${{shared.NODE_ENV}}")}}
    cycle = check_run_recheck_rerun(runner, "railway_variables", args)
    run1 = cycle[1][0]
    assert run1["removed"] == sorted(before - {"PORT", "NODE_ENV"})
    assert set(variables_of(emulator, "service-backend")) == {"PORT", "NODE_ENV"}

    args = {"service": "backend", "state": "absent", "names": ["PORT", "NOT_THERE"]}
    cycle = check_run_recheck_rerun(runner, "railway_variables", args)
    assert cycle[1][0]["removed"] == ["PORT"]
    assert set(variables_of(emulator, "service-backend")) == {"NODE_ENV"}


def test_shared_variables_when_no_service_is_given(runner, emulator):
    check_run_recheck_rerun(runner, "railway_variables", {"variables": {"LOG_LEVEL": "debug", "FEATURE_X": "on"}})
    assert variables_of(emulator, None) == {"NODE_ENV": "production", "LOG_LEVEL": "debug", "FEATURE_X": "on"}


def test_skip_deploys_false_lets_railway_deploy(runner, emulator):
    count = len(deployments_of(emulator))
    args = {"service": "backend", "skip_deploys": False, "variables": {"X": "1"}}
    result, _counters, _outcome = runner.module("railway_variables", args)
    assert result["changed"]
    assert len(deployments_of(emulator)) == count + 1


def test_project_token_needs_no_project_or_environment(runner, emulator):
    args = {"service": "backend", "variables": {"VIA_PROJECT_TOKEN": "1"}}
    result, _counters, _outcome = runner.module("railway_variables", args, token="project")
    assert result["changed"]
    assert result["target"]["environment"]["name"] == "production"
    assert variables_of(emulator, "service-backend")["VIA_PROJECT_TOKEN"] == "1"


# --- railway_service -----------------------------------------------------------------------------------------------

SETTINGS = {"service": "backend", "healthcheck_path": "/api/health", "healthcheck_timeout": 120,
            "pre_deploy_command": ["npx prisma migrate deploy"], "start_command": "node dist/main.js",
            "restart_policy": "ON_FAILURE", "restart_policy_max_retries": 3, "replicas": 2, "overlap_seconds": 20,
            "draining_seconds": 10, "sleep_application": False, "region": "us-west2"}


def test_service_settings_cycle(runner, emulator):
    cycle = check_run_recheck_rerun(runner, "railway_service", SETTINGS)
    run1 = cycle[1][0]
    # Unchanged values (sleep_application, region, restart policy type) are not part of the change.
    assert run1["changed_settings"] == ["draining_seconds", "healthcheck_path", "healthcheck_timeout", "overlap_seconds",
                                        "pre_deploy_command", "replicas", "restart_policy_max_retries", "start_command"]
    assert run1["diff"]["before"]["healthcheck_path"] is None
    assert run1["diff"]["after"]["pre_deploy_command"] == ["npx prisma migrate deploy"]
    assert cycle[1][1]["mutation_fields"] == {"serviceInstanceUpdate": 1}
    info, _counters, _outcome = runner.module("railway_info", {"service": "backend"})
    settings = info["services"][0]["settings"]
    assert {key: settings[key] for key in SETTINGS if key != "service"} == {k: v for k, v in SETTINGS.items() if k != "service"}


def test_service_settings_can_be_cleared(runner, emulator):
    runner.module("railway_service", {"service": "backend", "start_command": "npm start", "pre_deploy_command": ["x"]})
    cleared = {"service": "backend", "start_command": "", "pre_deploy_command": []}
    cycle = check_run_recheck_rerun(runner, "railway_service", cleared)
    assert cycle[1][0]["settings"]["start_command"] is None and cycle[1][0]["settings"]["pre_deploy_command"] is None
    info, _counters, _outcome = runner.module("railway_info", {"service": "backend"})
    assert info["services"][0]["settings"]["start_command"] is None


def test_service_input_errors_fail_before_any_request(runner, emulator):
    result, counters, outcome = runner.module("railway_service", {"service": "backend", "healthcheck_path": "health"})
    assert_one_line_failure(result, outcome)
    assert "healthcheck_path must start with /" in result["msg"]
    assert counters["requests"] == 0


# --- railway_info --------------------------------------------------------------------------------------------------

def test_info_reports_the_project_without_values_by_default(runner, emulator):
    results = []
    for check in (True, False):
        result, counters, _outcome = runner.module("railway_info", {"deployment_history": 3}, check=check)
        assert not result["changed"] and counters["mutations"] == 0
        results.append(result)
    result = results[1]
    assert result["project"]["name"] == PROJECT
    assert [e["name"] for e in result["environments"]] == ["production", "staging"]
    services = {s["name"]: s for s in result["services"]}
    assert set(services) == {"backend", "Postgres", "Redis"}
    backend = services["backend"]
    assert backend["latest_deployment"]["status"] == "SUCCESS"
    assert backend["deployments"][0]["id"] == backend["latest_deployment"]["id"]
    assert backend["url"] == "https://backend-production.up.railway.app"
    assert "HEALTH_TOKEN" in backend["variable_names"] and "variables" not in backend
    assert backend["settings"]["restart_policy"] == "ON_FAILURE"
    assert result["shared_variable_names"] == ["LOG_LEVEL", "NODE_ENV"]
    assert "emu-health-token" not in json.dumps(result)


@pytest.mark.parametrize("mode, expected", [("unrendered", "${{Postgres.DATABASE_URL}}"), ("rendered", "postgresql://")])
def test_info_values_only_when_asked(runner, emulator, mode, expected):
    result, _counters, _outcome = runner.module("railway_info", {"service": "backend", "variable_values": mode})
    assert result["services"][0]["variables"]["DATABASE_URL"].startswith(expected)
    assert "NODE_ENV" in result["shared_variables"]


def test_unknown_names_list_what_exists(runner, emulator):
    result, _counters, outcome = runner.module("railway_info", {"project": "nope"})
    assert_one_line_failure(result, outcome)
    assert "existing: backendops-demo, other-project" in result["msg"]
    result, _counters, outcome = runner.module("railway_info", {"service": "frontend"})
    assert_one_line_failure(result, outcome)
    assert "service 'frontend' not found in project 'backendops-demo'; existing: backend, Postgres, Redis" in result["msg"]
    result, _counters, outcome = runner.module("railway_info", {"environment": "prod"})
    assert "existing: production, staging" in result["msg"]


@pytest.mark.parametrize("option, token, expected", [
    ("api_token", "wrong-account-token", "Not Authorized; check api_token"),
    ("project_token", "wrong-project-token", "Project Token not found; check project_token"),
])
def test_bad_tokens_fail_clearly(runner, emulator, option, token, expected):
    args = {option: token, "api_token": None} if option == "project_token" else {option: token}
    result, _counters, outcome = runner.module("railway_info", args)
    assert_one_line_failure(result, outcome)
    assert expected in result["msg"]
    assert token not in outcome.output


def test_tokens_from_the_environment(runner, emulator):
    tasks = [{"backendops.stack.railway_info": {"project": PROJECT, "environment": "production"}}]
    results, outcome = runner.run(tasks, token="env", env={"RAILWAY_API_TOKEN": emulator.account_token})
    assert results[0]["project"]["name"] == PROJECT
    results, outcome = runner.run([{"backendops.stack.railway_info": {}}], token="env",
                                  env={"RAILWAY_TOKEN": emulator.project_token, "RAILWAY_API_URL": emulator.url})
    assert results[0]["environment"]["name"] == "production"
    results, outcome = runner.run([{"backendops.stack.railway_info": {}}], token="env",
                                  env={"RAILWAY_TOKEN": emulator.project_token, "RAILWAY_API_TOKEN": emulator.account_token})
    assert "Both RAILWAY_API_TOKEN and RAILWAY_TOKEN are set" in results[0]["msg"]


# --- railway_deploy ------------------------------------------------------------------------------------------------

@pytest.fixture(name="source")
def source_fixture(tmp_path):
    root = tmp_path / "app"
    files = {"package.json": '{"name": "app"}', "src/main.js": "console.log('hi')\n", ".gitignore": "dist/\n*.log\n",
             ".railwayignore": "tests/\n", "dist/bundle.js": "x", "debug.log": "x", "tests/a.test.js": "x",
             "node_modules/left-pad/index.js": "x", ".git/HEAD": "ref: refs/heads/main\n"}
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return root


def deploy_args(**extra):
    args = {"service": "backend", "poll_interval": 0.2, "wait_timeout": 60, "log_lines": 5}
    args.update(extra)
    return args


def test_deploy_upload_check_then_run(runner, emulator, source):
    args = deploy_args(source="upload", path=str(source), deployment_message="release-1")
    check, counters, _outcome = runner.module("railway_deploy", args, check=True)
    assert check["changed"] and counters["mutations"] == 0 and counters["uploads"] == 0
    assert "deployment_id" not in check

    result, counters, _outcome = runner.module("railway_deploy", args)
    assert result["status"] == "SUCCESS" and result["changed"]
    assert result["source_digest"] == check["source_digest"]
    assert result["url"] == "https://backend-production.up.railway.app"
    assert result["transitions"][-1]["status"] == "SUCCESS"
    assert result["api_requests"] == counters["requests"]
    assert counters["uploads"] == 1
    deployment = next(d for d in deployments_of(emulator) if d["id"] == result["deployment_id"])
    assert deployment["upload"]["files"] == [".gitignore", ".railwayignore", "package.json", "src/main.js"]
    assert deployment["meta"]["message"] == "release-1"

    again, _counters, _outcome = runner.module("railway_deploy", args)
    assert again["source_digest"] == result["source_digest"]
    assert again["deployment_id"] != result["deployment_id"]
    (source / "src/main.js").write_text("console.log('changed')\n")
    changed, _counters, _outcome = runner.module("railway_deploy", args, check=True)
    assert changed["source_digest"] != result["source_digest"]


def test_deploy_redeploy_and_commit(runner, emulator):
    latest = deployments_of(emulator)
    result, counters, _outcome = runner.module("railway_deploy", deploy_args())
    assert result["status"] == "SUCCESS" and counters["mutation_fields"] == {"deploymentRedeploy": 1}
    assert result["deployment_id"] not in {d["id"] for d in latest}
    sha = "0123456789abcdef0123456789abcdef01234567"
    result, counters, _outcome = runner.module("railway_deploy", deploy_args(source="commit", commit=sha))
    assert result["status"] == "SUCCESS"
    assert counters["mutation_fields"] == {"serviceInstanceDeployV2": 1}
    assert next(d for d in deployments_of(emulator) if d["id"] == result["deployment_id"])["meta"]["commitHash"] == sha


def test_deploy_without_wait_returns_at_once(runner, emulator):
    result, counters, _outcome = runner.module("railway_deploy", deploy_args(wait=False))
    assert result["changed"] and result["deployment_id"] and result["transitions"] == []
    assert counters["by_operation"].get("Deployment", 0) == 0


def test_deploy_check_mode_sends_no_mutation(runner, emulator):
    for args in (deploy_args(), deploy_args(source="commit", commit="a" * 40)):
        result, counters, _outcome = runner.module("railway_deploy", args, check=True)
        assert result["changed"] and counters["mutations"] == 0


@pytest.mark.parametrize("fault, status, step, log", [
    ("deploy_fail", "FAILED", "BUILD_IMAGE", "build_logs"),
    ("predeploy_fail", "FAILED", "PRE_DEPLOY_COMMAND", "deploy_logs"),
    ("healthcheck_fail", "FAILED", "HEALTHCHECK", "build_logs"),
    ("deploy_crash", "CRASHED", None, "deploy_logs"),
])
def test_deploy_failures_report_step_and_logs(runner, emulator, source, fault, status, step, log):
    emulator.inject(fault)
    result, _counters, outcome = runner.module("railway_deploy", deploy_args(source="upload", path=str(source)))
    assert_one_line_failure(result, outcome)
    assert result["status"] == status and result["changed"]
    assert "Deployment %s of service backend %s" % (result["deployment_id"], status) in result["msg"]
    if step:
        assert result["failed_step"]["step"] == step
        assert "at step %s" % step in result["msg"]
    assert 0 < len(result[log]) <= 5


def test_predeploy_failure_names_the_migration(runner, emulator, source):
    emulator.inject("predeploy_fail")
    result, _counters, _outcome = runner.module("railway_deploy", deploy_args(source="upload", path=str(source)))
    assert "PRE_DEPLOY_COMMAND" in result["msg"]
    assert any("migration" in line.lower() for line in result["deploy_logs"])


@pytest.mark.parametrize("fault, status", [("deploy_skip", "SKIPPED")])
def test_deploy_that_ends_without_serving_fails_clearly(runner, emulator, fault, status):
    emulator.inject(fault)
    result, _counters, outcome = runner.module("railway_deploy", deploy_args())
    assert_one_line_failure(result, outcome)
    assert result["status"] == status
    assert "ended as %s" % status in result["msg"] and "nothing new serves traffic" in result["msg"]


def test_deploy_hang_times_out_with_the_last_status(runner, emulator):
    emulator.inject("deploy_hang")
    started = time.monotonic()
    result, counters, outcome = runner.module("railway_deploy", deploy_args(wait_timeout=3, poll_interval=0.5))
    assert_one_line_failure(result, outcome)
    assert time.monotonic() - started < 60
    assert result["status"] == "BUILDING"
    assert "did not finish within wait_timeout=3 s; last status BUILDING" in result["msg"]
    assert counters["by_operation"]["Deployment"] <= 8  # backoff keeps polling cheap


def test_deploy_waiting_for_approval_says_so(runner, emulator, source):
    emulator.inject("deploy_needs_approval")
    result, _counters, outcome = runner.module("railway_deploy", deploy_args(source="upload", path=str(source), wait_timeout=2))
    assert_one_line_failure(result, outcome)
    assert result["status"] == "NEEDS_APPROVAL"
    assert "approve it in the Railway dashboard" in result["msg"]
    assert any("NEEDS_APPROVAL" in warning for warning in result.get("warnings", []))


def test_deploy_waiting_for_ci_says_so(runner, emulator, source):
    emulator.inject("deploy_waiting", seconds=3600)
    result, _counters, outcome = runner.module("railway_deploy", deploy_args(source="upload", path=str(source), wait_timeout=2))
    assert_one_line_failure(result, outcome)
    assert result["status"] == "WAITING"
    assert "CI checks" in result["msg"]


def test_a_deployment_removed_while_waiting_ends_the_wait(runner, emulator):
    """REMOVED (here: cancelled by someone else) must end the wait at once, never hang until the timeout."""
    emulator.inject("deploy_hang")
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(
        zip(("result", "counters", "run"), runner.module("railway_deploy", deploy_args(wait_timeout=120, poll_interval=0.5)))))
    started = time.monotonic()
    worker.start()
    building = None
    while building is None and time.monotonic() - started < 60:
        time.sleep(0.3)
        building = next((d for d in deployments_of(emulator) if d["status"] == "BUILDING"), None)
    assert building, "the deployment never started building"
    cancel = requests.post(emulator.url, timeout=10, headers={"Authorization": "Bearer " + emulator.account_token},
                           json={"query": "mutation Cancel($id: String!) { deploymentCancel(id: $id) }",
                                 "variables": {"id": building["id"]}})
    assert cancel.json() == {"data": {"deploymentCancel": True}}
    worker.join(90)
    assert not worker.is_alive()
    result = outcome["result"]
    assert_one_line_failure(result, outcome["run"])
    assert result["status"] == "REMOVED" and "ended as REMOVED" in result["msg"]
    assert time.monotonic() - started < 60


def test_deploy_with_a_project_token(runner, emulator, source):
    result, counters, _outcome = runner.module("railway_deploy", deploy_args(source="upload", path=str(source)), token="project")
    assert result["status"] == "SUCCESS" and counters["uploads"] == 1


def test_rollback_on_failure_keeps_the_previous_deployment_when_it_still_serves(runner, emulator, source):
    previous = next(d for d in deployments_of(emulator) if d["status"] == "SUCCESS")
    emulator.inject("predeploy_fail")
    result, counters, outcome = runner.module("railway_deploy", deploy_args(source="upload", path=str(source),
                                                                            rollback_on_failure=True))
    assert_one_line_failure(result, outcome)
    assert result["rollback"] == {"action": "not_needed", "to_deployment_id": previous["id"],
                                  "active_deployment_id": previous["id"]}
    assert "FAILED at step PRE_DEPLOY_COMMAND" in result["msg"]
    assert "deployment %s is still active, so the service is unchanged" % previous["id"] in result["msg"]
    assert "deploymentRollback" not in counters["mutation_fields"]
    assert next(d for d in deployments_of(emulator) if d["id"] == previous["id"])["status"] == "SUCCESS"


def test_rollback_on_failure_without_a_successful_deployment(runner, emulator, source):
    # The seed's backend in staging was never deployed.
    assert not [d for d in deployments_of(emulator) if d["environmentId"] == "env-staging"]
    emulator.inject("deploy_fail")
    result, counters, outcome = runner.module("railway_deploy", deploy_args(
        source="upload", path=str(source), rollback_on_failure=True, environment="staging"))
    assert_one_line_failure(result, outcome)
    assert result["rollback"] == {"action": "impossible"}
    assert "no earlier successful deployment to roll back to" in result["msg"]
    assert "deploymentRollback" not in counters["mutation_fields"]


def test_deploy_option_errors_send_nothing(runner, emulator):
    result, counters, outcome = runner.module("railway_deploy", deploy_args(source="commit", commit="abc"))
    assert_one_line_failure(result, outcome)
    assert "full 40 character" in result["msg"] and counters["requests"] == 0


# --- faults ----------------------------------------------------------------------------------------------------------

RETRIED = [
    ("http_502", {"count": 2}),
    ("http_503", {"count": 3}),
    ("http_429", {"retry_after": 1}),
    ("http_429", {"retry_after": "HTTP-DATE"}),
    ("slow", {"seconds": 4}),
    ("drop", {"count": 2}),
]


@pytest.mark.parametrize("kind, params", RETRIED, ids=[k + "-" + "-".join(map(str, p.values())) for k, p in RETRIED])
def test_transient_faults_are_retried_to_success(runner, emulator, kind, params):
    params = dict(params)
    if params.get("retry_after") == "HTTP-DATE":
        params["retry_after"] = email.utils.formatdate(time.time() + 2, usegmt=True)
    emulator.inject(kind, **params)
    result, counters, outcome = runner.module("railway_info", {"service": "backend", "request_timeout": 2})
    assert not result.get("failed"), result
    assert result["api_requests"] > 3  # lookup, the service, the shared variables, plus the retried attempts
    assert result["api_requests"] == counters["requests"]
    assert "Traceback" not in outcome.output


# On ServiceState: a failing `me` (UserProjects) falls back to listing projects, so faults there are survived.
@pytest.mark.parametrize("kind, params, expected", [
    ("http_500", {"count": 20}, "failed after 3 attempts; last error: HTTP 500"),
    ("html", {}, "HTTP 200 with a non-JSON body (text/html"),
    ("html", {"status": 403}, "HTTP 403"),
    ("graphql_error", {"message": "Internal problem, try later"}, "Internal problem, try later"),
    ("http_503", {"count": 20}, "failed after 3 attempts; last error: HTTP 503"),
])
def test_persistent_faults_end_in_a_one_line_error(runner, emulator, kind, params, expected):
    emulator.inject(kind, operation="ServiceState", **params)
    result, _counters, outcome = runner.module("railway_info", {"service": "backend", "retries": 2})
    assert_one_line_failure(result, outcome)
    assert expected in result["msg"]


def test_a_dropped_deploy_request_is_not_repeated(runner, emulator):
    count = len(deployments_of(emulator))
    emulator.inject("drop", operation="DeploymentRedeploy")
    result, counters, outcome = runner.module("railway_deploy", deploy_args())
    assert_one_line_failure(result, outcome)
    assert "not retried because repeating it could apply it twice" in result["msg"]
    assert counters["by_operation"]["DeploymentRedeploy"] == 1
    assert len(deployments_of(emulator)) in (count, count + 1)


def test_a_rate_limited_mutation_is_retried(runner, emulator):
    emulator.inject("http_429", retry_after=1, operation="VariableCollectionUpsert")
    result, counters, _outcome = runner.module("railway_variables", {"service": "backend", "variables": {"RL": "1"}})
    assert result["changed"] and counters["by_operation"]["VariableCollectionUpsert"] == 2
    assert variables_of(emulator, "service-backend")["RL"] == "1"


# --- secrets in verbose output ---------------------------------------------------------------------------------------

def test_verbose_output_never_shows_tokens_or_secret_values(runner, emulator, source):
    tasks = [
        {"backendops.stack.railway_variables": {"service": "backend", "variables": {"API_SECRET": SECRET_VALUE}}},
        {"backendops.stack.railway_variables": {"variables": {"SHARED_SECRET": SECRET_VALUE + "-shared"}}},
        {"backendops.stack.railway_service": {"service": "backend", "healthcheck_path": "/api/health"}},
        {"backendops.stack.railway_info": {"service": "backend"}},
        {"backendops.stack.railway_info": {"service": "backend", "variable_values": "rendered"}, "no_log": True},
        {"backendops.stack.railway_deploy": deploy_args(source="upload", path=str(source))},
    ]
    account = runner.run_raw(tasks, "-vvv", "--diff")
    assert account.rc == 0, account.output[-3000:]
    project = runner.run_raw(tasks[:1], "-vvv", "--diff", token="project")
    environment = runner.run_raw([{"backendops.stack.railway_info": {"project": PROJECT, "environment": "production"}}],
                                 "-vvv", token="env", env={"RAILWAY_API_TOKEN": emulator.account_token})
    for outcome in (account, project, environment):
        assert outcome.rc == 0, outcome.output[-3000:]
        text = outcome.output
        assert "backendops.stack.railway_" in text  # the verbose run really happened
        for secret in (emulator.account_token, emulator.project_token, SECRET_VALUE, "emu-health-token",
                       "emu-postgres-password"):
            assert secret not in text
