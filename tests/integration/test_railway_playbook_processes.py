# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every process of the app on Railway: playbooks/railway.yml with the bullmq-worker fixture (Express web + BullMQ
worker from one code base) against an empty emulator workspace. Web and each worker or cron process are services of
their own, deployed from one source in one release; the emulator's counters and state are the witnesses."""
from __future__ import annotations

import pytest

from support import REPO_ROOT
from test_railway_playbook import VARIABLES, RailwayPlaybook, assert_clean_failure, assert_no_secret
from tools.railway_emulator.testing import EmulatorProcess

APP = REPO_ROOT / "tests" / "fixtures" / "apps" / "bullmq-worker"
PROJECT = "shop"
# The fixture's health path; it has no detailed health view.
COMMON = {"railway_project": PROJECT, "railway_workspace": "Acme", "railway_provision": True, "railway_source_path": str(APP)}
WITH_CRON = {"railway_profile_overrides": {"processes": {
    "worker": "node src/worker.js", "report": {"command": "npm run report", "schedule": "*/15 * * * *"}}}}


@pytest.fixture(name="railway")
def railway_fixture(playbook, empty, tmp_path) -> RailwayPlaybook:
    return RailwayPlaybook(playbook, empty, tmp_path)


class Project:
    """What the emulator holds for the project, by service name."""

    def __init__(self, state: dict) -> None:
        self.state = state
        self.ids = {s["name"]: s["id"] for s in state["services"]}

    def variables(self, service: str) -> dict:
        return next(s["values"] for s in self.state["variables"] if s["serviceId"] == self.ids[service])

    def deployments(self, service: str) -> list[dict]:
        return [d for d in self.state["deployments"] if d["serviceId"] == self.ids[service]]

    def domains(self, service: str) -> list[str]:
        return [d["domain"] for d in self.state["domains"] if d["serviceId"] == self.ids[service]]

    def settings(self, service: str) -> dict:
        return next(i["settings"] for i in self.state["serviceInstances"] if i["serviceId"] == self.ids[service])


def test_web_and_worker_from_one_source_in_one_release_and_a_rerun_sends_nothing(railway: RailwayPlaybook, empty: EmulatorProcess) -> None:
    first = railway.run(**COMMON)
    assert first.rc == 0, first.outcome.output[-4000:]
    fields = first.counters["mutation_fields"]
    # The worker's service is created with its variables (its serviceCreate) and configured once (each database's
    # first start, web's settings with its variables in one request, the worker's settings); one upload each.
    assert fields == {"projectCreate": 1, "serviceCreate": 4, "volumeCreate": 2, "serviceDomainCreate": 1, "serviceInstanceDeployV2": 2,
                      "serviceInstanceUpdate": 4, "variableCollectionUpsert": 1}, fields
    assert first.counters["uploads"] == 2, first.counters
    project = Project(empty.state())
    assert sorted(project.ids) == ["Postgres", "Redis", "backend", "backend-worker"]
    web, worker = project.deployments("backend")[-1], project.deployments("backend-worker")[-1]
    # One source: the same tarball (same content hash in the message, same bytes) went to both services.
    release = first.result("Release to Railway")
    assert web["meta"]["message"] == worker["meta"]["message"] == "sha256:" + release["source_digest"]
    assert web["upload"]["sha256"] == worker["upload"]["sha256"]
    assert web["status"] == worker["status"] == "SUCCESS"
    # The worker: its own start command; no domain, health check or pre-deploy command (migrations run with web).
    assert worker["settings"]["startCommand"] == "node src/worker.js"
    assert worker["settings"]["healthcheckPath"] is None and worker["settings"]["preDeployCommand"] is None
    assert worker["settings"]["drainingSeconds"] == 60 and worker["settings"]["restartPolicyType"] == "ON_FAILURE"
    assert worker["settings"]["buildCommand"] == web["settings"]["buildCommand"] == "npx prisma generate"
    assert web["settings"]["preDeployCommand"] in (["npx prisma migrate deploy"], '["npx prisma migrate deploy"]')
    assert project.domains("backend") == ["backend-production.up.railway.app"] and project.domains("backend-worker") == []
    # Its variables are references to web's: the values are stored once, and Railway renders them into the deployment.
    assert project.variables("backend-worker") == {name: "${{backend.%s}}" % name for name in project.variables("backend")}
    assert worker["variables"]["JWT_SECRET"] == VARIABLES["JWT_SECRET"]
    assert worker["variables"]["DATABASE_URL"].startswith("postgresql://postgres:")
    assert [p["service"] for p in release["processes"]] == ["backend-worker"] and release["processes"][0]["created"]
    assert "process worker: Deployment %s of service backend-worker is SUCCESS" % worker["id"] in railway_msg(first)

    again = railway.run(**COMMON)
    assert again.rc == 0 and again.changed == 0, again.outcome.output[-4000:]
    assert again.counters["mutations"] == 0 and again.counters["uploads"] == 0, again.counters
    assert "process worker deploy (upload): no, deployment %s already serves" % worker["id"] in " ".join(again.plan)
    assert_no_secret(first.outcome.output + again.outcome.output)

    # New values of web's variables reach the worker only with a deployment: the references render when it starts.
    changed = railway.run(**dict(COMMON, railway_variables=dict(VARIABLES, LOG_LEVEL="debug")))
    assert changed.rc == 0 and changed.counters["uploads"] == 2, changed.outcome.output[-4000:]
    assert changed.counters["mutation_fields"] == {"variableCollectionUpsert": 1}
    assert "process worker deploy (upload): yes, because the values of backend's variables it refers to change (LOG_LEVEL)" in changed.plan
    assert Project(empty.state()).deployments("backend-worker")[-1]["variables"]["LOG_LEVEL"] == "debug"


def railway_msg(run) -> str:
    return run.result("Show the outcome")["msg"]


def test_a_cron_process_gets_its_schedule_and_check_mode_lists_each_process_with_its_settings(railway: RailwayPlaybook, empty: EmulatorProcess) -> None:
    planned = railway.run("--check", "--diff", **COMMON, **WITH_CRON)
    assert planned.rc == 0 and planned.counters["mutations"] == 0 and planned.counters["uploads"] == 0, planned.outcome.output[-4000:]
    announced = planned.result("Announce the deployment that follows the provisioning")["msg"]
    assert ("process report (cron): service backend-report; start_command 'node src/report.js', cron_schedule "
            "'*/15 * * * *' (UTC), restart_policy NEVER, replicas 1, draining_seconds 60; no domain") in announced
    assert "process worker (worker): service backend-worker; start_command 'node src/worker.js'" in announced

    run = railway.run(**COMMON, **WITH_CRON)
    assert run.rc == 0, run.outcome.output[-4000:]
    project = Project(empty.state())
    assert sorted(project.ids) == ["Postgres", "Redis", "backend", "backend-report", "backend-worker"]
    report = project.settings("backend-report")
    assert report["cronSchedule"] == "*/15 * * * *" and report["restartPolicyType"] == "NEVER" and report["startCommand"] == "node src/report.js"
    assert project.deployments("backend-report")[-1]["settings"]["cronSchedule"] == "*/15 * * * *"
    assert project.settings("backend-worker").get("cronSchedule") is None and project.domains("backend-report") == []

    # With everything there, check mode lists each process service with its settings and what would change.
    again = railway.run("--check", "--diff", **COMMON, **dict(WITH_CRON, railway_worker_draining_seconds=120))
    assert again.rc == 0 and again.counters["mutations"] == 0, again.outcome.output[-4000:]
    plan = again.plan
    assert any(line.startswith("process report (cron): service backend-report (%s); start_command" % project.ids["backend-report"])
               for line in plan), plan
    assert "process worker settings: draining_seconds: 60 -> 120" in plan and "process report settings: draining_seconds: 60 -> 120" in plan
    diff = again.result("Release to Railway")["diff"]
    worker = next(entry for entry in diff if entry["before_header"] == "settings of backend-worker")
    assert worker["before"] == {"draining_seconds": 60} and worker["after"] == {"draining_seconds": 120}


def test_a_schedule_under_five_minutes_apart_is_refused_at_plan_time(railway: RailwayPlaybook, empty: EmulatorProcess) -> None:
    every_two = {"railway_profile_overrides": {"processes": {"report": {"command": "npm run report", "schedule": "*/2 * * * *"}}}}
    run = railway.run(structured=False, **COMMON, **every_two)
    assert run.rc != 0
    text = " ".join(run.outcome.output.split())
    assert "process report: cron schedule '*/2 * * * *' runs 2 minutes apart, and Railway starts a cron job at most every 5 minutes" in text
    assert run.counters["mutations"] == 0 and run.counters["requests"] == 0
    assert empty.state()["projects"] == []


def test_a_missing_process_service_without_provisioning_fails_before_any_mutation(railway: RailwayPlaybook, empty: EmulatorProcess) -> None:
    assert railway.run(**dict(COMMON, railway_profile_overrides={"processes": {}})).rc == 0
    run = railway.run(**dict(COMMON, railway_provision=False))
    assert_clean_failure(run)
    assert run.counters["mutations"] == 0 and run.counters["uploads"] == 0
    assert run.failure == ("Nothing was deployed: step lookup: service backend-worker of process worker does not exist in project "
                           "shop: set provision_processes=true to create it (from backend's source), or leave it out of processes")
    # With provisioning, check mode plans the service and sends nothing.
    planned = railway.run("--check", **COMMON)
    assert planned.rc == 0 and planned.counters["mutations"] == 0 and planned.counters["uploads"] == 0, planned.outcome.output[-3000:]
    assert any(line.startswith("process worker (worker): service backend-worker, to create from empty (deployed by upload); ")
               for line in planned.plan), planned.plan
    assert railway_msg(planned) == "Check mode: nothing was sent; a run would create backend-worker and deploy backend-worker"


def test_a_failing_worker_fails_the_release_with_its_name_and_log_tail_and_rollback_covers_web(railway: RailwayPlaybook,
                                                                                               empty: EmulatorProcess, tmp_path) -> None:
    assert railway.run(**COMMON).rc == 0
    before = Project(empty.state())
    serving = {name: before.deployments(name)[-1]["id"] for name in ("backend", "backend-worker")}
    source = tmp_path / "app"
    source.mkdir()
    for entry in APP.iterdir():
        (source / entry.name).symlink_to(entry)
    (source / "CHANGELOG.md").write_text("a change\n")
    empty.inject("deploy_fail", service="backend-worker", message="Cannot find module 'bullmq'")
    run = railway.run(**dict(COMMON, railway_source_path=str(source), railway_rollback_on_failure=True))
    assert_clean_failure(run)
    failure = run.failure
    assert failure.startswith("Process worker (service backend-worker) did not deploy: Deployment ")
    assert "FAILED at step BUILD_IMAGE" in failure and "Log tail: " in failure and "Cannot find module 'bullmq'" in failure
    after = Project(empty.state())
    web = after.deployments("backend")
    # Web went live with the new source, then was rolled back to what served before, so web and worker match again.
    assert "Rollback: backend rolled back to %s (new deployment %s is SUCCESS)" % (serving["backend"], web[-1]["id"]) in failure
    assert web[-1]["meta"]["rollbackDeploymentId"] == serving["backend"] and web[-1]["status"] == "SUCCESS"
    assert after.deployments("backend-worker")[-1]["status"] == "FAILED"
    assert next(d for d in after.deployments("backend-worker") if d["id"] == serving["backend-worker"])["status"] == "SUCCESS"
    assert any("Cannot find module 'bullmq'" in line for line in run.result("Show the log tail")["msg"])
