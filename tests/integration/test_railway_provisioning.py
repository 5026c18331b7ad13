# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Provisioning modules (railway_project, railway_database, railway_service state=present, railway_environment)
against an empty emulator workspace: check plans with 0 mutations, a run creates, a re-run sends 0 mutations."""
from __future__ import annotations

import pytest
import requests

from support import REPO_ROOT, Unsafe
from test_railway_modules import Runner
from test_railway_playbook import RailwayPlaybook
from tools.railway_emulator.testing import EmulatorProcess

PROJECT = "shop"
BACKEND = {"service": "backend", "state": "present", "domain_port": 8080, "healthcheck_path": "/api/health"}


@pytest.fixture(name="runner")
def runner_fixture(playbook, empty, tmp_path) -> Runner:
    runner = Runner(playbook, empty, tmp_path)
    runner.connection = lambda token="account": {"api_url": empty.url, "api_token": empty.account_token, "project": PROJECT,
                                                 "environment": "production"}
    return runner


def provision_tasks() -> list[dict]:
    return [
        {"name": "project", "backendops.stack.railway_project": {"workspace": "Acme"}},
        {"name": "postgres", "backendops.stack.railway_database": {"kind": "postgres", "workspace": "Acme"}},
        {"name": "redis", "backendops.stack.railway_database": {"kind": "redis", "workspace": "Acme"}},
        {"name": "backend", "backendops.stack.railway_service": dict(BACKEND, workspace="Acme")},
    ]


def test_check_plans_everything_a_run_creates_it_and_a_rerun_changes_nothing(runner: Runner, empty: EmulatorProcess) -> None:
    empty.reset_counters()
    planned, outcome = runner.run(provision_tasks(), "--check", "--diff")
    assert outcome.rc == 0, outcome.output[-3000:]
    assert empty.counters()["mutations"] == 0
    assert all(result["changed"] for result in planned)
    plan = [line for result in planned for line in result["planned"]]
    assert "project shop in workspace Acme (environment production)" in plan
    assert "service Postgres from image ghcr.io/railwayapp-templates/postgres-ssl:17" in plan
    assert "volume of Postgres at /var/lib/postgresql/data" in plan and "volume of Redis at /data" in plan
    assert "service backend from empty (deployed by upload)" in plan and "domain of backend on port 8080" in plan
    assert planned[3]["changed_settings"] == ["healthcheck_path"]

    empty.reset_counters()
    created, outcome = runner.run(provision_tasks())
    assert outcome.rc == 0, outcome.output[-3000:]
    fields = empty.counters()["mutation_fields"]
    # Each database: created without a source, then volume, start command and image in one request that starts it once
    # (the third serviceInstanceUpdate is the backend's health check path).
    assert fields == {"projectCreate": 1, "serviceCreate": 3, "volumeCreate": 2, "serviceInstanceUpdate": 3, "serviceInstanceDeployV2": 2,
                      "serviceDomainCreate": 1}, fields
    state = empty.state()
    services = {s["name"]: s["id"] for s in state["services"]}
    assert sorted(services) == ["Postgres", "Redis", "backend"]
    # No database ever ran without its volume (PostgreSQL would initialise outside it) or Redis without its password.
    for name, mount in (("Postgres", "/var/lib/postgresql/data"), ("Redis", "/data")):
        started = [d for d in state["deployments"] if d["serviceId"] == services[name]]
        assert len(started) == 1 and all(d["volume"] == mount for d in started), (name, started)
        assert all("--requirepass" in (d["settings"].get("startCommand") or "") for d in started) or name == "Postgres", started
        assert all(d["variables"].get("PGDATA" if name == "Postgres" else "REDIS_PASSWORD") for d in started), name
    mounts = {v["serviceId"]: v["mountPath"] for v in state["volumeInstances"]}
    assert mounts == {services["Postgres"]: "/var/lib/postgresql/data", services["Redis"]: "/data"}
    assert created[3]["domain"] == "backend-production.up.railway.app"
    scopes = {s["serviceId"]: s["values"] for s in state["variables"]}
    password = scopes[services["Postgres"]]["POSTGRES_PASSWORD"]
    assert len(password) == 32 and scopes[services["Postgres"]]["DATABASE_URL"].startswith("postgresql://${{PGUSER}}")
    assert password not in outcome.output and scopes[services["Redis"]]["REDIS_PASSWORD"] not in outcome.output
    assert "POSTGRES_PASSWORD" in created[1]["variable_names"]

    empty.reset_counters()
    again, outcome = runner.run(provision_tasks())
    assert outcome.rc == 0 and not any(result["changed"] for result in again), [r.get("planned") for r in again]
    assert empty.counters()["mutations"] == 0
    # The password is generated once: a re-run keeps it.
    assert {s["serviceId"]: s["values"] for s in empty.state()["variables"]}[services["Postgres"]]["POSTGRES_PASSWORD"] == password


def test_backend_from_a_repo_deploys_on_push_and_references_stay_literal(runner: Runner, empty: EmulatorProcess) -> None:
    tasks = provision_tasks()[:2] + [
        {"name": "backend", "backendops.stack.railway_service": {
            "service": "backend", "state": "present", "source_repo": "acme/backend", "source_branch": "release", "workspace": "Acme"}},
        {"name": "wire", "backendops.stack.railway_variables": {"service": "backend", "variables": {
            "DATABASE_URL": Unsafe("${{Postgres.DATABASE_URL}}")}}},
    ]
    results, outcome = runner.run(tasks)
    assert outcome.rc == 0, outcome.output[-3000:]
    state = empty.state()
    backend = next(s["id"] for s in state["services"] if s["name"] == "backend")
    assert {s["serviceId"]: s["values"] for s in state["variables"]}[backend] == {"DATABASE_URL": "${{Postgres.DATABASE_URL}}"}
    before = len([d for d in state["deployments"] if d["serviceId"] == backend])
    assert before == 1 and results[2]["planned"] == ["service backend from repo acme/backend (branch release)"]
    assert empty.push("acme/backend", "main") == []
    assert len(empty.push("acme/backend", "release")) == 1
    # Another branch is compared and changed like a setting (Railway's deployment trigger), then left alone.
    moved, counters, run = runner.module("railway_service", dict(tasks[2]["backendops.stack.railway_service"], source_branch="main"))
    assert moved["changed"] and counters["mutation_fields"] == {"deploymentTriggerUpdate": 1}, run.output[-2000:]
    assert moved["planned"] == ["source of backend: repo acme/backend (branch release) -> repo acme/backend (branch main)"]
    again, counters, run = runner.module("railway_service", dict(tasks[2]["backendops.stack.railway_service"], source_branch="main"))
    assert again["changed"] is False and counters["mutations"] == 0 and not again.get("warnings"), run.output[-2000:]
    assert len(empty.push("acme/backend", "main")) == 1 and empty.push("acme/backend", "release") == []


def test_one_run_from_an_empty_workspace_and_a_rerun_stay_within_their_request_budget(playbook, empty: EmulatorProcess, tmp_path) -> None:
    # Provisioning looks up once and hands its IDs to the release: no module lists the projects again.
    railway = RailwayPlaybook(playbook, empty, tmp_path)
    common = {"railway_project": PROJECT, "railway_workspace": "Acme", "railway_provision": True, "railway_postgres_service": "Db",
              "railway_redis_service": "Cache", "railway_health_token": "canary-health-token-3c8e1f"}
    run = railway.run(**common)
    assert run.rc == 0, run.outcome.output[-3000:]
    # 12, and the lock's read of the service's deployments under way.
    assert run.counters["requests"] <= 13, " ".join("%s=%s" % item for item in sorted(run.counters["by_operation"].items()))
    again = railway.run(**common)
    assert again.rc == 0 and again.counters["mutations"] == 0, again.outcome.output[-3000:]
    # 3, and the lock's read of the service's deployments under way.
    assert again.counters["requests"] <= 4, (again.counters["requests"], again.counters["by_operation"])
    state = empty.state()
    services = {s["name"]: s["id"] for s in state["services"]}
    assert sorted(services) == ["Cache", "Db", "backend"]
    backend = {s["serviceId"]: s["values"] for s in state["variables"]}[services["backend"]]
    assert backend["DATABASE_URL"] == "${{Db.DATABASE_URL}}" and backend["REDIS_URL"] == "${{Cache.REDIS_URL}}"


def test_pr_environment_copy_and_delete_production_protected(runner: Runner, empty: EmulatorProcess) -> None:
    assert runner.run(provision_tasks())[1].rc == 0
    copy = {"environment": "pr-7", "source_environment": "production", "ephemeral": True}
    planned, counters, _run = runner.module("railway_environment", copy, check=True)
    assert planned["changed"] and planned["planned"] == ["environment pr-7 (a copy of production)"] and counters["mutations"] == 0
    created, counters, _run = runner.module("railway_environment", copy)
    assert created["changed"] and created["environment"]["id"] and counters["mutation_fields"] == {"environmentCreate": 1}
    names = {e["name"] for e in empty.state()["environments"]}
    assert names == {"production", "pr-7"}
    # Not in the background: Railway answers once the copy exists, so the deploy that follows finds its services.
    assert [e["copiedInBackground"] for e in empty.state()["environments"] if e["name"] == "pr-7"] == [False]
    assert runner.module("railway_environment", copy)[1]["mutations"] == 0

    production = next(e["id"] for e in empty.state()["environments"] if e["name"] == "production")
    # The environment is found by ID or by name in any case: protection follows what it resolves to.
    for typed in ("production", "Production", "PRODUCTION", production):
        refused, counters, run = runner.module("railway_environment", {"environment": typed, "state": "absent"})
        assert refused.get("failed") and "protected" in refused["msg"] and counters["mutations"] == 0, (typed, run.output[-2000:])
    assert {e["name"] for e in empty.state()["environments"]} == {"production", "pr-7"}
    removed, counters, _run = runner.module("railway_environment", {"environment": "pr-7", "state": "absent"})
    assert removed["changed"] and counters["mutation_fields"] == {"environmentDelete": 1}
    assert {e["name"] for e in empty.state()["environments"]} == {"production"}
    assert runner.module("railway_environment", {"environment": "pr-7", "state": "absent"})[0]["changed"] is False


def test_removing_an_environment_of_a_missing_project_is_no_change(runner: Runner, empty: EmulatorProcess) -> None:
    for check in (True, False):
        gone, counters, run = runner.module("railway_environment", {"environment": "pr-1", "state": "absent"}, check=check)
        assert not gone.get("failed") and gone["changed"] is False and gone["planned"] == [], run.output[-2000:]
        assert counters["mutations"] == 0 and gone["project"] == {"id": None, "name": PROJECT}


def test_outside_check_mode_a_missing_project_is_one_line(runner: Runner) -> None:
    failed, counters, _run = runner.module("railway_database", {"kind": "redis"})
    assert failed.get("failed") and counters["mutations"] == 0
    assert failed["msg"].startswith("project 'shop' does not exist yet: create it first")


def test_workspace_and_project_the_token_cannot_see_fail_naming_them(runner: Runner, empty: EmulatorProcess, emulator: EmulatorProcess) -> None:
    hidden, _counters, _run = runner.module("railway_project", {"workspace": "Nope"})
    assert hidden["msg"].startswith("workspace 'Nope' is not visible to this account token (RAILWAY_API_TOKEN); it sees: Acme, Personal")
    runner.connection = lambda token="account": {"api_url": empty.url, "api_token": empty.workspace_token, "project": PROJECT}
    other, counters, _run = runner.module("railway_project", {"workspace": "workspace-personal"})
    assert "workspace 'workspace-personal' is not visible to this workspace token" in other["msg"] and counters["mutations"] == 0
    # The seeded emulator has a project token; it cannot create (or see) another project.
    runner.connection = lambda token="account": {"api_url": emulator.url, "project_token": emulator.project_token, "project": "new"}
    runner.emulator = emulator
    refused, counters, _run = runner.module("railway_project", {})
    assert refused["msg"].startswith("project 'new' is not visible to this project token (RAILWAY_TOKEN)")
    assert counters["mutations"] == 0


def test_playbook_check_on_an_empty_workspace_lists_every_resource_and_sends_no_mutation(playbook, empty: EmulatorProcess, tmp_path) -> None:
    railway = RailwayPlaybook(playbook, empty, tmp_path)
    run = railway.run("--check", "--diff", railway_project=PROJECT, railway_provision=True, railway_workspace="Acme")
    assert run.rc == 0, run.outcome.output[-3000:]
    assert run.counters["mutations"] == 0 and run.counters["uploads"] == 0
    plan = run.result("Show what provisioning created")["msg"]
    for resource in ("project shop in workspace Acme", "service Postgres", "volume of Postgres at /var/lib/postgresql/data", "service Redis",
                     "volume of Redis at /data", "service backend from empty (deployed by upload)", "domain of backend on port 8080"):
        assert resource in plan, plan
    announced = run.result("Announce the deployment that follows the provisioning")["msg"]
    # The settings the release will set, each with where it comes from.
    assert "then deploys backend with the settings " in announced and 'healthcheck_path: null -> "/api/health" (from ' in announced, announced


def test_playbook_names_the_workspace_the_token_cannot_see(playbook, empty: EmulatorProcess, tmp_path) -> None:
    railway = RailwayPlaybook(playbook, empty, tmp_path)
    run = railway.run(railway_project=PROJECT, railway_provision=True, railway_workspace="Elsewhere")
    assert run.rc != 0 and run.counters["mutations"] == 0
    message = run.result("Make sure the project, environment, databases and service exist")["msg"]
    assert message == "workspace 'Elsewhere' is not visible to this account token (RAILWAY_API_TOKEN); it sees: Acme, Personal"


def test_drift_gate_passes_after_a_provisioned_deploy_and_lists_a_changed_setting(playbook, empty: EmulatorProcess, tmp_path) -> None:
    railway = RailwayPlaybook(playbook, empty, tmp_path)
    common = {"railway_project": PROJECT, "railway_workspace": "Acme", "railway_health_token": "canary-health-token-3c8e1f"}
    deployed = railway.run(railway_provision=True, **common)
    assert deployed.rc == 0, deployed.outcome.output[-3000:]
    clean = railway.run(playbook="playbooks/railway_drift.yml", railway_drift_fail=True, **common)
    assert clean.rc == 0 and clean.counters["mutations"] == 0, clean.outcome.output[-3000:]
    assert clean.changed == 0 and clean.result("Compare the declared variables and settings with Railway's")["changed"] is False
    backend = next(s["id"] for s in empty.state()["services"] if s["name"] == "backend")
    production = next(e["id"] for e in empty.state()["environments"] if e["name"] == "production")
    response = requests.post(empty.url, timeout=10, headers={"Authorization": "Bearer " + empty.account_token}, json={
        "query": "mutation U($e: String, $s: String!, $i: ServiceInstanceUpdateInput!) { serviceInstanceUpdate(environmentId: $e, serviceId: $s, input: $i) }",
        "variables": {"e": production, "s": backend, "i": {"healthcheckPath": "/x"}}})
    assert "errors" not in response.json()
    gate = railway.run(playbook="playbooks/railway_drift.yml", railway_drift_fail=True, **common)
    assert gate.rc != 0 and gate.counters["mutations"] == 0
    assert gate.result("Compare the declared variables and settings with Railway's")["changed"] is True
    message = gate.result("Fail on drift when asked to")["msg"]
    assert "settings healthcheck_path;" in message and "variables added -; removed -; changed -" in message
    assert gate.result("Report the drift (names only, values masked)")["msg"][5] == "settings that differ on Railway: healthcheck_path"


def test_pr_environment_flow_with_the_playbooks_check_deploy_and_teardown(playbook, empty: EmulatorProcess, tmp_path) -> None:
    # The pull-request flow as CI runs it: production provisioned, a copy planned, deployed and healthy, then removed.
    railway = RailwayPlaybook(playbook, empty, tmp_path)
    common = {"railway_project": PROJECT, "railway_workspace": "Acme", "railway_provision": True}
    assert railway.run(**common).rc == 0
    pr_env = {"railway_environment": "pr-9", "railway_environment_source": "production", **common}
    run = railway.run("--check", **pr_env)
    assert run.rc == 0 and run.counters["mutations"] == 0, run.outcome.output[-3000:]
    assert run.result("Show what provisioning created")["msg"] == "Railway resources to create: environment pr-9 (a copy of production)"
    announced = run.result("Announce the deployment that follows the provisioning")["msg"]
    # The settings the release will set, each with where it comes from.
    assert "then deploys backend with the settings " in announced and 'healthcheck_path: null -> "/api/health" (from ' in announced, announced

    deployed = railway.run(railway_environment_ephemeral=True, **pr_env)
    assert deployed.rc == 0, deployed.outcome.output[-3000:]
    health = requests.get(empty.app_url("backend-pr-9.up.railway.app", "/api/health"), timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    removed = railway.run(playbook="playbooks/railway_teardown.yml", railway_project=PROJECT, railway_environment="pr-9")
    assert removed.rc == 0 and removed.counters["mutation_fields"] == {"environmentDelete": 1}, removed.outcome.output[-3000:]
    state = empty.state()
    assert [e["name"] for e in state["environments"]] == ["production"]
    # Production's deployments are left serving.
    assert len({d["environmentId"] for d in state["deployments"]}) == 1


def _databases(state: dict) -> dict:
    """What the seeded Postgres and Redis are on Railway: variables, settings, volumes and deployments."""
    ids = ("service-postgres", "service-redis")
    return {"variables": [v for v in state["variables"] if v["serviceId"] in ids],
            "instances": [i for i in state.get("serviceInstances", []) if i.get("serviceId") in ids],
            "volumes": [v for v in state["volumeInstances"] if v["serviceId"] in ids],
            "deployments": sorted(d["id"] for d in state["deployments"] if d["serviceId"] in ids)}


def test_existing_databases_are_left_alone_and_their_differences_warned(playbook, emulator: EmulatorProcess, tmp_path) -> None:
    # The seed's Postgres and Redis differ from the templates (no volume, no POSTGRES_PASSWORD, PGDATA or start command):
    # an initialised database must not get a new password, data directory or image, nor be redeployed.
    runner = Runner(playbook, emulator, tmp_path)
    runner.connection = lambda token="account": {"api_url": emulator.url, "api_token": emulator.account_token,
                                                 "project": "backendops-demo", "environment": "production"}
    before = _databases(emulator.state())
    for kind in ("postgres", "redis"):
        result, counters, run = runner.module("railway_database", {"kind": kind, "image": "postgres:16" if kind == "postgres" else None})
        assert counters["mutations"] == 0 and result["changed"] is False and result["planned"] == [], run.output[-3000:]
        warnings = " ".join(result.get("warnings", []))
        assert "has no volume" in warnings and "left as it is" in warnings, warnings
        assert "emu-postgres-password" not in run.output and "emu-redis-password" not in run.output
        if kind == "postgres":
            assert "its image ghcr.io/railwayapp-templates/postgres-ssl:17 is not postgres:16" in warnings
            assert "variables the template has are missing: PGDATA, POSTGRES_DB, POSTGRES_PASSWORD, POSTGRES_USER" in warnings
        else:
            assert "start command differs" in warnings and "missing: REDIS_PASSWORD" in warnings
    railway = RailwayPlaybook(playbook, emulator, tmp_path)
    for attempt in ("first", "re-run"):
        run = railway.run(railway_provision=True)
        assert run.rc == 0, run.outcome.output[-3000:]
        fields = run.counters["mutation_fields"]
        assert not {"serviceCreate", "volumeCreate", "projectCreate", "environmentCreate"} & set(fields), (attempt, fields)
        assert fields.get("variableCollectionUpsert", 0) <= 1, (attempt, fields)  # the backend's own, on the first run
        assert _databases(emulator.state()) == before, attempt
    assert run.counters["mutations"] == 0


def test_teardown_with_the_production_inventory_needs_no_vault_password(playbook, emulator: EmulatorProcess, tmp_path) -> None:
    # The documented commands, as written: the production inventory's vault_* values must not be templated.
    railway = RailwayPlaybook(playbook, emulator, tmp_path)
    production = REPO_ROOT / "inventories" / "production"
    checked = railway.run("--check", playbook="playbooks/railway_teardown.yml", inventory=production, railway_environment="staging")
    assert checked.rc == 0 and checked.counters["mutations"] == 0, checked.outcome.output[-3000:]
    assert checked.result("Show the outcome")["msg"] == "Would remove environment staging of project backendops-demo"
    removed = railway.run(playbook="playbooks/railway_teardown.yml", inventory=production, railway_environment="staging")
    assert removed.rc == 0 and removed.counters["mutation_fields"] == {"environmentDelete": 1}, removed.outcome.output[-3000:]
    assert {e["name"] for e in emulator.state()["environments"] if e["projectId"] == "project-backendops-demo"} == {"production"}
    gone = railway.run("--check", playbook="playbooks/railway_teardown.yml", inventory=production, railway_environment="pr-123")
    assert gone.rc == 0 and gone.result("Show the outcome")["msg"] == "Environment pr-123 does not exist: nothing to remove"


def test_an_error_of_me_other_than_not_authorized_falls_back_without_naming_a_token_kind(runner: Runner, empty: EmulatorProcess) -> None:
    # As the release's lookup does (docs/railway-modules.md): on any failure of `me` the token's projects are listed;
    # only "Not Authorized" says it is a workspace token. The transient errors were retried by the client first.
    empty.inject("graphql_error", operation="UserProjects", message="Workspace service unavailable")
    failed, counters, run = runner.module("railway_project", {"workspace": "Acme"})
    assert failed.get("failed") and counters["mutations"] == 0, run.output[-2000:]
    assert counters["by_operation"].get("WorkspaceProjects") == 1, counters["by_operation"]
    assert "Workspace service unavailable" in failed["msg"] and "workspace token" not in failed["msg"], failed["msg"]
    # An account token of several workspaces names one: the module says so before Railway would refuse.
    refused, counters, _run = runner.module("railway_project", {})
    assert refused["msg"].startswith("workspace is required to create project shop: this account token") and counters["mutations"] == 0


def test_a_project_token_is_refused_before_the_first_mutation(runner: Runner, emulator: EmulatorProcess) -> None:
    # Railway lets a project token deploy only: provisioning and teardown stop before sending anything, naming the token.
    runner.emulator = emulator
    runner.connection = lambda token="account": {"api_url": emulator.url, "project_token": emulator.project_token}
    missing = {"service": "backend", "databases": [{"kind": "postgres", "service": "Replica"}]}
    for check in (True, False):
        refused, counters, run = runner.module("railway_provision", missing, check=check)
        assert refused.get("failed") and counters["mutations"] == 0, run.output[-2000:]
        assert refused["msg"] == ("provisioning needs an account or workspace token (api_token or RAILWAY_API_TOKEN) for: service Replica "
                                  "from image ghcr.io/railwayapp-templates/postgres-ssl:17; a project token (RAILWAY_TOKEN) can only "
                                  "deploy, so nothing was changed"), refused["msg"]
    # What exists needs no other token: the seeded backend is there, so nothing is refused.
    present, counters, run = runner.module("railway_provision", {"service": "backend"})
    assert present.get("failed") is not True and present["changed"] is False and counters["mutations"] == 0, run.output[-2000:]
    assert present["token_kind"] == "project token" and present["service"]["id"] == "service-backend"
    # The token sees its own environment only; removing it is a teardown, refused as well.
    gone, counters, run = runner.module("railway_environment", {"environment": "production", "state": "absent", "protected": []})
    assert gone.get("failed") and counters["mutations"] == 0, run.output[-2000:]
    assert gone["msg"].startswith("provisioning needs an account or workspace token (api_token or RAILWAY_API_TOKEN) for: delete "
                                  "environment production"), gone["msg"]


def test_a_repository_connected_backend_deploys_once_and_a_push_is_never_overwritten(playbook, empty: EmulatorProcess, tmp_path) -> None:
    # The release follows the repository: connected after its variables and settings are set, deployed once, then
    # left to Railway, which deploys each push itself.
    railway = RailwayPlaybook(playbook, empty, tmp_path)
    common = {"railway_project": PROJECT, "railway_workspace": "Acme", "railway_provision": True, "railway_service_source": "repo",
              "railway_service_repo": "acme/shop", "railway_service_branch": "release", "railway_health_token": "canary-health-token-3c8e1f",
              "railway_deploy_source": "auto"}

    def backend_deployments() -> list[dict]:
        state = empty.state()
        backend = next(s["id"] for s in state["services"] if s["name"] == "backend")
        return [d for d in state["deployments"] if d["serviceId"] == backend]

    first = railway.run(**common)
    assert first.rc == 0, first.outcome.output[-3000:]
    deployed = backend_deployments()
    assert len(deployed) == 1 and (deployed[0]["meta"].get("repo"), deployed[0]["meta"].get("branch")) == ("acme/shop", "release"), deployed
    assert deployed[0]["variables"].get("HEALTH_TOKEN") and deployed[0]["settings"].get("healthcheckPath"), deployed[0]["settings"]
    again = railway.run(**common)
    assert again.rc == 0 and again.counters["mutations"] == 0 and len(backend_deployments()) == 1, again.outcome.output[-3000:]

    pushed = empty.push("acme/shop", "release")
    assert len(pushed) == 1
    after_push = railway.run(**common)
    assert after_push.rc == 0 and after_push.counters["mutations"] == after_push.counters["uploads"] == 0, after_push.outcome.output[-3000:]
    assert [d["id"] for d in backend_deployments()][-1] == pushed[0] and len(backend_deployments()) == 2
    # Another branch is a change like any setting: connected, then its latest commit deployed once.
    moved = railway.run(**{**common, "railway_service_branch": "main"})
    assert moved.rc == 0 and moved.counters["mutation_fields"].get("deploymentTriggerUpdate") == 1, moved.outcome.output[-3000:]
    assert backend_deployments()[-1]["meta"]["branch"] == "main" and len(backend_deployments()) == 3
