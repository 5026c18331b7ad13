# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scale and runtime settings and the app's own railway.json, against the Railway emulator.

The emulator stores replicas, regions and limits as Railway does and refuses what Railway refuses (more than one
instance of a service with a volume); the collection refuses it first, before any mutation. The app's railway.json
(Railway no longer reads it) reaches the service through the API, and the plan names it as the source.
"""
from __future__ import annotations

import json
import shutil

import pytest
import requests

from test_railway_modules import Runner, assert_one_line_failure, check_run_recheck_rerun
from test_railway_playbook import SAMPLE_BACKEND, RailwayPlaybook

SCALE = {"service": "backend", "regions": {"us-west2": 2}, "sleep_application": True, "cpu_limit": 2,
         "memory_limit_gb": 4, "restart_policy": "ALWAYS", "draining_seconds": 20}
# Like the config as code a backend kept before 2026-12-01.
RAILWAY_JSON = {
    "$schema": "https://railway.com/railway.schema.json",
    "build": {"builder": "RAILPACK", "buildCommand": "npm ci && npx prisma generate", "nixpacksPlan": {"phases": {}}},
    "deploy": {"startCommand": "node src/server.js", "healthcheckPath": "/api/health", "healthcheckTimeout": 90,
               "restartPolicyType": "ON_FAILURE", "restartPolicyMaxRetries": 3},
}


@pytest.fixture(name="runner")
def runner_fixture(playbook, emulator, tmp_path):
    return Runner(playbook, emulator, tmp_path)


def graphql(emulator, query, variables):
    """A request as another client would send it, to show what the emulator (like Railway) refuses."""
    answer = requests.post(emulator.url, json={"query": query, "variables": variables}, timeout=10,
                           headers={"Authorization": "Bearer " + emulator.account_token})
    return answer.json()


def instance_settings(emulator, service_id):
    return next(i["settings"] for i in emulator.state()["serviceInstances"]
                if i["serviceId"] == service_id and i["environmentId"] == "env-production")


def attach_volume(emulator, service_id):
    answer = graphql(emulator, "mutation($input: VolumeCreateInput!) { volumeCreate(input: $input) { id } }",
                     {"input": {"projectId": "project-backendops-demo", "serviceId": service_id,
                                "environmentId": "env-production", "mountPath": "/var/lib/postgresql/data"}})
    assert "errors" not in answer, answer


def test_scale_settings_are_set_read_back_and_a_rerun_sends_nothing(runner, emulator):
    cycle = check_run_recheck_rerun(runner, "railway_service", SCALE)
    run1, counters1 = cycle[1]
    assert run1["changed_settings"] == ["cpu_limit", "draining_seconds", "memory_limit_gb", "regions", "restart_policy",
                                        "sleep_application"]
    assert counters1["mutation_fields"] == {"serviceInstanceUpdate": 1, "serviceInstanceLimitsUpdate": 1}
    assert run1["diff"]["before"]["regions"] is None and run1["diff"]["after"]["regions"] == {"us-west2": 2}
    stored = instance_settings(emulator, "service-backend")
    assert stored["multiRegionConfig"] == {"us-west2": {"numReplicas": 2}} and stored["sleepApplication"] is True
    info, _counters, _outcome = runner.module("railway_info", {"service": "backend", "scale_settings": True})
    settings = info["services"][0]["settings"]
    assert (settings["regions"], settings["cpu_limit"], settings["memory_limit_gb"]) == ({"us-west2": 2}, 2.0, 4.0)


def test_replicas_on_a_service_with_a_volume_are_refused_before_the_api_would(runner, emulator):
    attach_volume(emulator, "service-postgres")
    result, counters, outcome = runner.module("railway_service", {"service": "Postgres", "replicas": 2})
    assert_one_line_failure(result, outcome)
    assert "service Postgres mounts a volume" in result["msg"] and "cannot run 2" in result["msg"]
    assert counters["mutations"] == 0
    # Railway (the emulator) would refuse it too; regions that add up to more count the same.
    answer = graphql(emulator, "mutation($input: ServiceInstanceUpdateInput!) { serviceInstanceUpdate("
                     "environmentId: \"env-production\", serviceId: \"service-postgres\", input: $input) }",
                     {"input": {"multiRegionConfig": {"us-west2": {"numReplicas": 1}, "us-east4": {"numReplicas": 1}}}})
    assert "more than one replica on a service with a volume" in answer["errors"][0]["message"]
    assert instance_settings(emulator, "service-postgres").get("numReplicas") is None


def test_a_cron_service_with_two_replicas_is_refused_before_any_request(runner, emulator):
    result, counters, outcome = runner.module("railway_service", {
        "service": "backend", "cron_schedule": "*/15 * * * *", "restart_policy": "NEVER", "regions": {"us-west2": 2}})
    assert_one_line_failure(result, outcome)
    assert "runs as one replica, not 2" in result["msg"]
    assert counters["requests"] == 0


def test_the_apps_railway_json_is_applied_through_the_api_and_named_in_the_plan(playbook, emulator, tmp_path):
    railway = RailwayPlaybook(playbook, emulator, tmp_path)
    source = tmp_path / "app"
    # The sample backend with a railway.json of its own.
    shutil.copytree(SAMPLE_BACKEND, source, ignore=shutil.ignore_patterns("node_modules", ".env"))
    (source / "railway.json").write_text(json.dumps(RAILWAY_JSON))
    run = railway.run(railway_source_path=str(source), railway_restart_policy_max_retries=4)
    assert run.rc == 0, run.outcome.output[-3000:]
    settings_line = next(line for line in run.plan if line.startswith("settings: "))
    assert 'healthcheck_path: null -> "/api/health" (from railway.json)' in settings_line
    assert 'healthcheck_timeout: null -> 90 (from railway.json)' in settings_line
    assert 'build_command: null -> "npm ci && npx prisma generate" (from railway.json)' in settings_line
    # The inventory wins over the file, the file over the profile (which gives the pre-deploy command here).
    assert "restart_policy_max_retries: 10 -> 4 (from inventory)" in settings_line
    assert 'pre_deploy_command: null -> ["npx prisma migrate deploy"] (from profile)' in settings_line
    assert any("build.nixpacksPlan" in line and "cannot set" in line for line in run.plan)
    stored = instance_settings(emulator, "service-backend")
    assert stored["healthcheckPath"] == "/api/health" and stored["startCommand"] == "node src/server.js"
    # ON_FAILURE is already Railway's restart policy, so only the retries were sent.
    assert stored["restartPolicyMaxRetries"] == 4 and "restart_policy:" not in settings_line
    warnings = " ".join(run.result("Check the inputs").get("warnings", []))
    assert "build.nixpacksPlan" in warnings

    again = railway.run(railway_source_path=str(source), railway_restart_policy_max_retries=4)
    assert again.rc == 0 and again.counters["mutations"] == 0 and again.counters["uploads"] == 0
