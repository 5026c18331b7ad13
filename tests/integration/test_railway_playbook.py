# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/railway.yml (the backendops.stack.railway role) run like a user runs it, against the Railway emulator.

The emulator's counters and state dump are the witnesses: what was sent (mutations, uploads, requests), which
deployments exist and which one serves, and what the app behind the service domain answers. This module owns the
release's converge (a run, an unchanged re-run and --check), and the paths beside it: failing migrations, failing
health checks with and without rollback, drift, the other deploy sources, railway.json, the production inventory
with its vault, bad input, and secrets in verbose output.
"""
from __future__ import annotations

import json
import shutil

import pytest
import requests
import yaml

from support import REPO_ROOT, Unsafe, ansible_yaml

SAMPLE_BACKEND = REPO_ROOT / "examples" / "backend"
SEED_DEPLOYMENT_STATUS = "SUCCESS"
# Canary secrets: none of them may appear in any output.
SECRETS = {
    "SUPABASE_ANON_KEY": "canary-anon-key-5b1e0c",
    "JWT_SECRET": "canary-jwt-secret-7d2f9a4c1e8b3a6d0f5c",
    "HEALTH_TOKEN": "canary-health-token-3c8e1f",
}
VARIABLES = dict(SECRETS, SUPABASE_URL="https://canary-ref.supabase.co", LOG_LEVEL="info")
EMULATOR_SECRETS = ("emu-account-token", "emu-project-token", "emu-health-token", "emu-postgres-password")
EXAMPLE_VAULT_PASSWORD = "backendops-example-vault-password"  # documented in docs/railway-workflow.md


class RailwayRun:
    """One ansible-playbook run of railway.yml and what it left behind."""

    def __init__(self, outcome, counters):
        self.outcome = outcome
        self.counters = counters
        self.results = {}
        self.stats = {}
        if outcome.stdout.lstrip().startswith("{"):
            document = json.loads(outcome.stdout)
            self.stats = document["stats"].get("localhost", {})
            for play in document["plays"]:
                for task in play["tasks"]:
                    result = task["hosts"].get("localhost")
                    if result is not None:
                        # Role tasks are named "backendops.stack.railway : <name>".
                        self.results[task["task"]["name"].split(" : ", 1)[-1]] = result

    @property
    def rc(self):
        return self.outcome.rc

    @property
    def changed(self):
        """Number of changed tasks (from the JSON callback's stats)."""
        return self.stats["changed"]

    def result(self, name):
        """The result of the (last) task whose name is ``name``."""
        assert name in self.results, "no task %r in %s\n%s" % (name, sorted(self.results), self.outcome.output[-3000:])
        return self.results[name]

    @property
    def plan(self):
        return self.result("Show the plan")["msg"]

    @property
    def failure(self):
        return self.result("Fail with what happened")["msg"]


class RailwayPlaybook:
    """Runs playbooks/railway.yml with an inventory that points at the emulator, as a user (or CI) would."""

    def __init__(self, playbook, emulator, tmp_path):
        self.playbook = playbook
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.inventory = tmp_path / "inventory.yml"
        host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                # The seeded backend is connected to acme/backend: these tests release the local sample over it.
                "railway_deploy_source": "upload",
                "railway_project": "backendops-demo", "railway_variables": VARIABLES,
                "railway_health_retries": 2, "railway_health_delay": 1}
        self.inventory.write_text(yaml.safe_dump({"all": {"children": {"railway": {"hosts": {"localhost": host}}}}}))

    def environment(self, token="account"):
        env = {"RAILWAY_API_URL": self.emulator.url, "RAILWAY_API_TOKEN": "", "RAILWAY_TOKEN": ""}
        env["RAILWAY_API_TOKEN" if token == "account" else "RAILWAY_TOKEN"] = getattr(self.emulator, token + "_token")
        return env

    def run(self, *args, playbook="playbooks/railway.yml", structured=True, token="account", inventory=None, **variables):
        """Run with ``variables`` as extra vars; return a RailwayRun with the counters of this run."""
        # The emulator's stand-in for https://{domain}, passed like any input (any inventory, the production one too).
        variables.setdefault("railway_health_base_url", self.emulator.admin_url + "/apps/{domain}")
        extra = []
        if variables:
            path = self.tmp_path / "extra-vars.yml"
            path.write_text(ansible_yaml(variables))
            extra = ["-e", "@%s" % path]
        env = self.environment(token)
        if structured:
            env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        self.emulator.reset_counters()
        outcome = self.playbook(playbook, "-i", str(inventory or self.inventory), *extra, *args, env=env)
        return RailwayRun(outcome, self.emulator.counters())

    # --- what the emulator holds ----------------------------------------------------------------------------------

    def deployments(self):
        return [d for d in self.emulator.state()["deployments"]
                if d["serviceId"] == "service-backend" and d["environmentId"] == "env-production"]

    def variables(self):
        return next(v["values"] for v in self.emulator.state()["variables"]
                    if v["serviceId"] == "service-backend" and v["environmentId"] == "env-production")

    def app(self, path, token=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return requests.get(self.emulator.app_url("backend-production.up.railway.app", path), headers=headers, timeout=10)


@pytest.fixture(name="railway")
def railway_fixture(playbook, emulator, tmp_path):
    return RailwayPlaybook(playbook, emulator, tmp_path)


@pytest.fixture(name="source")
def source_fixture(tmp_path):
    """A scratch copy of the sample backend (without node_modules), free to edit."""
    target = tmp_path / "backend"
    shutil.copytree(SAMPLE_BACKEND, target, ignore=shutil.ignore_patterns("node_modules", ".env"))
    return target


def assert_no_secret(text):
    for secret in list(SECRETS.values()) + list(EMULATOR_SECRETS):
        assert secret not in text, "secret %s... in the output" % secret[:12]


def assert_clean_failure(run):
    assert run.rc != 0
    assert "Traceback (most recent call last)" not in run.outcome.output
    assert "\n" not in run.failure
    assert_no_secret(run.outcome.output)


# --- deploying -----------------------------------------------------------------------------------------------------

def test_a_changed_source_deploys_and_an_unchanged_one_does_not(railway, source):
    first = railway.run(railway_source_path=str(source))
    assert first.rc == 0, first.outcome.output[-3000:]
    assert first.counters["mutation_fields"] == {"variableCollectionUpsert": 1, "serviceInstanceUpdate": 1}
    assert first.counters["uploads"] == 1
    deployed = railway.deployments()[-1]
    assert deployed["status"] == "SUCCESS"
    assert deployed["meta"]["message"] == "sha256:" + first.result("Release to Railway")["source_digest"]

    again = railway.run(railway_source_path=str(source))
    assert again.rc == 0 and again.changed == 0
    assert again.counters["mutations"] == 0 and again.counters["uploads"] == 0
    assert again.counters["graphql_requests"] <= 6, again.counters["by_operation"]
    assert railway.deployments()[-1]["id"] == deployed["id"]
    assert "deploy (upload): no, deployment %s already serves" % deployed["id"] in again.plan[-1]

    (source / "src" / "greeting.js").write_text("module.exports = 'changed';\n")
    changed = railway.run(railway_source_path=str(source))
    assert changed.rc == 0
    assert changed.counters["uploads"] == 1 and changed.counters["mutations"] == 0  # variables and settings unchanged
    assert "differs from the serving one (%s)" % deployed["meta"]["message"] in changed.plan[-1]
    assert railway.deployments()[-1]["meta"]["message"] != deployed["meta"]["message"]

    forced = railway.run(railway_source_path=str(source), railway_force_deploy=True)
    assert forced.rc == 0 and forced.counters["uploads"] == 1
    assert "force is set" in forced.plan[-1]


def test_check_mode_prints_the_masked_plan_and_sends_no_mutation(railway):
    before = railway.deployments()
    run = railway.run("--check", "--diff", railway_healthcheck_timeout=60)
    assert run.rc == 0, run.outcome.output[-3000:]
    assert run.counters["mutations"] == 0 and run.counters["uploads"] == 0
    assert railway.deployments() == before
    plan = run.plan
    assert "check mode: nothing is sent" in plan[0]
    assert plan[1] == ("variables (values masked): add JWT_SECRET, LOG_LEVEL, SUPABASE_ANON_KEY, SUPABASE_URL; "
                       "update HEALTH_TOKEN, NODE_ENV; remove -")
    assert 'healthcheck_timeout: null -> 60' in plan[2] and 'pre_deploy_command: null -> ["npx prisma migrate deploy"]' in plan[2]
    assert plan[3].startswith("deploy (upload): yes, because the source (sha256:")
    diff = run.result("Release to Railway")["diff"][0]
    assert diff["after"]["JWT_SECRET"] == "********" and diff["after"]["HEALTH_TOKEN"] == "******** (changed)"
    assert run.result("Show the outcome")["msg"] == "Check mode: nothing was sent; a run would deploy backend"
    assert_no_secret(run.outcome.output)


def test_commit_source_compares_the_sha_and_redeploy_follows_variable_changes(railway):
    sha = "0123456789abcdef0123456789abcdef01234567"
    first = railway.run(railway_deploy_source="commit", railway_commit_sha=sha)
    assert first.rc == 0, first.outcome.output[-3000:]
    assert first.counters["mutation_fields"]["serviceInstanceDeployV2"] == 1
    assert railway.deployments()[-1]["meta"]["commitHash"] == sha

    same = railway.run(railway_deploy_source="commit", railway_commit_sha=sha.upper())
    assert same.rc == 0 and same.counters["mutations"] == 0

    redeploy = railway.run(railway_deploy_source="redeploy", railway_variables=dict(VARIABLES, LOG_LEVEL="debug"))
    assert redeploy.rc == 0
    assert redeploy.counters["mutation_fields"] == {"variableCollectionUpsert": 1, "deploymentRedeploy": 1}
    assert "because variables change" in redeploy.plan[-1]
    assert railway.variables()["LOG_LEVEL"] == "debug"


def test_railway_json_is_written_on_request_and_uploaded(railway, source):
    run = railway.run(railway_source_path=str(source), railway_config_file=True)
    assert run.rc == 0, run.outcome.output[-3000:]
    document = json.loads((source / "railway.json").read_text())
    assert document["$schema"] == "https://railway.com/railway.schema.json"
    assert document["build"] == {"buildCommand": "npx prisma generate"}
    assert document["deploy"] == {
        "startCommand": "node src/server.js", "preDeployCommand": ["npx prisma migrate deploy"],
        "healthcheckPath": "/api/health", "healthcheckTimeout": 120, "restartPolicyType": "ON_FAILURE",
        "restartPolicyMaxRetries": 5, "overlapSeconds": 30, "drainingSeconds": 15}
    assert "railway.json" in railway.deployments()[-1]["upload"]["files"]
    assert "2026-12-01" in run.result("Release to Railway")["config_file"]["msg"]


# --- failures --------------------------------------------------------------------------------------------------------

def test_a_failing_migration_names_the_step_and_the_previous_deployment_keeps_serving(railway, emulator):
    previous = railway.deployments()[-1]
    assert previous["status"] == SEED_DEPLOYMENT_STATUS
    emulator.inject("predeploy_fail")
    run = railway.run()
    assert_clean_failure(run)
    message = run.failure
    assert message.startswith("The database migration step (pre-deploy command 'npx prisma migrate deploy') failed, "
                              "so the new deployment did not go live.")
    assert "at step PRE_DEPLOY_COMMAND" in message and "migration 20250101000000_add_orders" in message
    assert "The previous deployment %s keeps serving (GET /api/health answers HTTP 200)" % previous["id"] in message
    assert any("Migration name" in line for line in run.result("Show the log tail")["msg"])
    failed = railway.deployments()[-1]
    assert failed["status"] == "FAILED"
    assert next(d for d in railway.deployments() if d["id"] == previous["id"])["status"] == "SUCCESS"
    assert railway.app("api/health/details", "emu-health-token").json()["deploymentId"] == previous["id"]


def test_a_failing_health_check_at_the_domain_rolls_back_when_rollback_is_on(railway, emulator):
    previous = railway.deployments()[-1]
    emulator.inject("app_unhealthy")
    run = railway.run(railway_rollback_on_failure=True)
    assert_clean_failure(run)
    unhealthy = run.result("Release to Railway")["deployment"]["deployment_id"]
    rollback = run.result("Release to Railway")["rollback"]
    assert rollback["status"] == "SUCCESS"
    assert ("Deployment %s is live, but GET %s/api/health answered HTTP 503 after 2 attempts"
            % (unhealthy, railway.emulator.app_url("backend-production.up.railway.app").rstrip("/"))) in run.failure
    assert ("rolled back to deployment %s (new deployment %s is SUCCESS). Now GET /api/health answers HTTP 200."
            % (previous["id"], rollback["deployment_id"])) in run.failure
    assert run.counters["mutation_fields"]["deploymentRollback"] == 1
    assert run.result("Show the log tail")["msg"][-1] == "Server listening on port 8080"
    serving = railway.deployments()[-1]
    assert serving["id"] == rollback["deployment_id"] and serving["meta"]["rollbackDeploymentId"] == previous["id"]
    assert railway.app("api/health").status_code == 200


def test_a_failing_health_check_without_rollback_leaves_the_deployment_live(railway, emulator):
    emulator.inject("app_unhealthy")
    run = railway.run()
    assert_clean_failure(run)
    unhealthy = run.result("Release to Railway")["deployment"]["deployment_id"]
    assert "Rollback is off (rollback_on_failure=false): deployment %s stays live." % unhealthy in run.failure
    assert "deploymentRollback" not in run.counters["mutation_fields"]
    assert railway.app("api/health").status_code == 503


def test_the_log_tail_of_an_unhealthy_deployment_is_read_twice_at_most(railway, emulator):
    """Issue 22: the log tail only explains the failure, so an unreadable one costs two requests, not six."""
    emulator.inject("app_unhealthy")
    emulator.inject("http_503", operation="DeploymentLogs", count=10)
    run = railway.run()
    assert_clean_failure(run)
    assert "is live, but GET" in run.failure
    assert run.counters["by_operation"]["DeploymentLogs"] == 2
    assert "its deploy logs could not be read (HTTP 503" in run.failure, run.failure


def test_railways_own_health_check_failing_keeps_the_previous_deployment(railway, emulator):
    previous = railway.deployments()[-1]
    emulator.inject("healthcheck_fail")
    run = railway.run(railway_rollback_on_failure=True)
    assert_clean_failure(run)
    assert run.failure.startswith("Railway's health check on /api/health failed, so the new deployment did not go live.")
    assert "deployment %s is still active, so the service is unchanged (no rollback needed)" % previous["id"] in run.failure
    assert "deploymentRollback" not in run.counters["mutation_fields"]
    assert railway.app("api/health").status_code == 200


# --- drift -----------------------------------------------------------------------------------------------------------

def test_drift_report_names_added_removed_and_changed_variables_and_changes_nothing(railway, emulator, tmp_path):
    requests.post(emulator.url, timeout=10, headers={"Authorization": "Bearer " + emulator.account_token}, json={
        "query": "mutation Set($input: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $input) }",
        "variables": {"input": {"projectId": "project-backendops-demo", "environmentId": "env-production",
                                "serviceId": "service-backend", "variables": {"DASHBOARD_FLAG": "set-in-the-dashboard"},
                                "skipDeploys": True}}}).raise_for_status()
    # HEALTH_TOKEN sealed in the dashboard: Railway returns it without its value, so it is never "changed".
    seal = {"services": {"service-backend": {"variables": {"HEALTH_TOKEN": {"isSealed": True}}}}}
    for query in ("mutation Seal($p: EnvironmentConfig!) { environmentStageChanges(environmentId: \"env-production\", "
                  "input: $p) { id } }",
                  'mutation { environmentPatchCommitStaged(environmentId: "env-production", skipDeploys: true) }'):
        answer = requests.post(emulator.url, timeout=10, headers={"Authorization": "Bearer " + emulator.account_token},
                               json={"query": query, "variables": {"p": seal} if "$p" in query else {}})
        assert "errors" not in answer.json(), answer.text
    env_file = tmp_path / "production.env"
    env_file.write_text("LOG_LEVEL=warn\nPORT=8080\n")
    before = railway.deployments()
    run = railway.run(playbook="playbooks/railway_drift.yml", railway_env_file=str(env_file))
    assert run.rc == 0, run.outcome.output[-3000:]
    assert run.counters["mutations"] == 0 and run.counters["uploads"] == 0
    # Drift is a signal: the comparison is the play's one changed task. The run reads twice: the lookup, the service.
    assert run.result("Compare the declared variables and settings with Railway's")["changed"] is True
    assert run.changed == 1
    assert run.counters["by_operation"] == {"UserProjects": 1, "ServiceState": 1}, run.counters
    assert railway.deployments() == before
    report = run.result("Report the drift (names only, values masked)")["msg"]
    assert report[1] == "added on Railway (not declared here): DASHBOARD_FLAG"
    assert report[2] == "removed on Railway (declared here, missing there): JWT_SECRET, LOG_LEVEL, SUPABASE_ANON_KEY, SUPABASE_URL"
    assert report[3] == "changed on Railway (values differ, masked): NODE_ENV"
    assert report[4].startswith("contract on Railway: Environment contract:") and "JWT_SECRET" in report[4]
    assert "HEALTH_TOKEN" not in report[4]
    assert report[6].startswith("sealed (values never readable, not compared): HEALTH_TOKEN;")
    assert_no_secret(run.outcome.output)

    strict = railway.run(playbook="playbooks/railway_drift.yml", railway_drift_fail=True)
    assert strict.rc != 0
    assert "Railway's variables drifted from this configuration" in strict.result("Fail on drift when asked to")["msg"]


# --- inventory, bad input, tokens, secrets ---------------------------------------------------------------------------

def test_the_production_inventory_deploys_with_its_example_vault(railway, tmp_path):
    password = tmp_path / "vault-password"
    password.write_text(EXAMPLE_VAULT_PASSWORD + "\n")
    run = railway.run("--vault-password-file", str(password), inventory=REPO_ROOT / "inventories" / "production")
    assert run.rc == 0, run.outcome.output[-3000:]
    variables = railway.variables()
    assert variables["JWT_SECRET"] == "example-jwt-secret-replace-me-0123456789abcdef"
    assert variables["DATABASE_URL"] == "${{Postgres.DATABASE_URL}}"
    assert "example-jwt-secret-replace-me" not in run.outcome.output
    assert railway.deployments()[-1]["status"] == "SUCCESS"


@pytest.mark.parametrize("variables, expected", [
    ({"railway_variables": dict(VARIABLES, JWT_SECRET="too-short")}, "JWT_SECRET must be at least 32 characters"),
    ({"railway_deploy_source": "commit", "railway_commit_sha": "abc123"}, "Bad input for the railway role: commit must be the full 40 character SHA"),
    ({"railway_settings_extra": {"replica": 2}}, "settings_extra has unknown settings replica"),
    ({"railway_source_path": "/nonexistent/app"}, "path /nonexistent/app is not a directory"),
    ({"railway_variables": dict(VARIABLES, HEALTH_TOKEN=Unsafe("${{shared.HEALTH_TOKEN}}"))},
     "variable HEALTH_TOKEN (health_details.token) is a Railway reference"),
    ({"railway_processes": [{"name": "report", "start_command": "node report.js", "cron_schedule": "*/2 * * * *"}]},
     "process report: cron schedule '*/2 * * * *' runs 2 minutes apart"),
    ({"railway_processes": [{"name": "worker", "start_command": "node worker.js"}], "railway_process_service": "{service}-jobs"},
     "process_service '{service}-jobs' must name each process's service with {process}"),
])
def test_bad_input_fails_before_any_request(railway, variables, expected):
    run = railway.run(structured=False, **variables)
    assert run.rc != 0
    assert expected in " ".join(run.outcome.output.split())
    assert run.counters["requests"] == 0
    assert "Traceback (most recent call last)" not in run.outcome.output
    assert "too-short" not in run.outcome.output


def test_a_project_token_needs_no_project_and_few_requests(railway):
    first = railway.run(token="project", railway_project=None)
    assert first.rc == 0, first.outcome.output[-3000:]
    again = railway.run(token="project", railway_project=None)
    assert again.rc == 0 and again.counters["mutations"] == 0 and again.counters["graphql_requests"] <= 4


def test_verbose_output_never_shows_a_secret(railway, emulator, tmp_path):
    env_file = tmp_path / "production.env"
    env_file.write_text("EXTRA_SECRET=canary-from-env-file-9f3a\n")
    runs = [railway.run("-vvv", "--diff", structured=False),
            railway.run("-vvv", "--check", "--diff", structured=False, railway_force_deploy=True),
            railway.run("-vvv", structured=False, playbook="playbooks/railway_drift.yml", railway_env_file=str(env_file))]
    emulator.inject("app_unhealthy")
    runs.append(railway.run("-vvv", structured=False, railway_force_deploy=True, railway_rollback_on_failure=True))
    assert [run.rc for run in runs] == [0, 0, 0, 2]
    for run in runs:
        text = run.outcome.output
        assert "backendops.stack.railway" in text and "<localhost> ESTABLISH LOCAL CONNECTION" in text
        assert_no_secret(text)
        assert "canary-from-env-file-9f3a" not in text


def test_a_workspace_app_deploys_from_the_root_with_its_commands_from_the_profile(railway, emulator):
    # The npm workspaces fixture: the API in apps/api, Prisma and its migrations in packages/db.
    source = REPO_ROOT / "tests" / "fixtures" / "apps" / "npm-workspaces"
    run = railway.run(railway_source_path=str(source), railway_profile_overrides={"app_dir": "apps/api"})
    assert run.rc == 0, run.outcome.output[-3000:]
    settings = railway.deployments()[-1]["settings"]
    assert settings["startCommand"] == "cd apps/api && node src/server.js"
    assert settings["buildCommand"] == "cd packages/db && npx prisma generate"
    assert settings["preDeployCommand"] in (["cd packages/db && npx prisma migrate deploy"],
                                            '["cd packages/db && npx prisma migrate deploy"]')
    assert settings["healthcheckPath"] == "/healthz"
    # The plan shows them before anything is sent.
    assert "cd apps/api && node src/server.js" in json.dumps(run.plan)
