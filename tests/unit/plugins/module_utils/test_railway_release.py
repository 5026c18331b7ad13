# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""railway_release: typed settings, the plan and its reasons, drift, the serving deployment, failure messages."""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import railway_release as rr

SERVING = {"id": "d1", "status": "SUCCESS", "meta": {"message": "sha256:abc"}}
CURRENT_SETTINGS = {"healthcheck_path": "/api/health", "healthcheck_timeout": 120, "pre_deploy_command": None}


def test_settings_are_typed_and_unset_ones_left_out():
    settings = rr.desired_settings({"healthcheck_timeout": "300", "pre_deploy_command": "npx prisma migrate deploy",
                                    "start_command": None}, {"sleep_application": "yes"})
    assert settings == {"healthcheck_timeout": 300, "pre_deploy_command": ["npx prisma migrate deploy"],
                        "sleep_application": True}


def test_an_unknown_extra_setting_is_named_with_the_known_ones():
    with pytest.raises(rr.PlanError, match="railway_settings_extra has unknown settings replica; known: build_command, builder,"):
        rr.desired_settings({}, {"replica": 2})


def test_the_config_document_keeps_numbers_and_drops_removed_settings():
    document = rr.config_document({"healthcheck_timeout": 300, "start_command": "", "builder": "NIXPACKS", "replicas": 2})
    assert document == {"$schema": rr.CONFIG_FILE_SCHEMA, "build": {"builder": "NIXPACKS"},
                        "deploy": {"healthcheckTimeout": 300}}


def test_an_unchanged_release_does_not_deploy():
    plan = rr.plan({"A": "1"}, {"A": "1"}, False, CURRENT_SETTINGS, {"healthcheck_timeout": 120}, SERVING, SERVING,
                   "upload", source_digest="abc")
    assert plan["deploy_reasons"] == [] and not plan["variables"]["differs"] and plan["settings"] == {}
    assert plan["previous_deployment_id"] == "d1"


def test_the_plan_names_changes_and_reasons():
    plan = rr.plan({"A": "1", "OLD": "x"}, {"A": "2", "B": "3"}, True, CURRENT_SETTINGS,
                   {"healthcheck_timeout": 300, "healthcheck_path": ""}, SERVING, SERVING, "upload", source_digest="def")
    assert plan["variables"] == {"added": ["B"], "updated": ["A"], "removed": ["OLD"], "count": 2, "differs": True,
                                 "sealed": [], "to_seal": []}
    assert plan["settings_text"] == ['healthcheck_path: "/api/health" -> null', "healthcheck_timeout: 120 -> 300"]
    assert plan["source_reasons"] == ["the source (sha256:def) differs from the serving one (sha256:abc)"]
    assert plan["deploy_reasons"][1:] == ["variables change", "settings change"]


def test_a_failed_latest_deployment_deploys_and_an_older_one_serves():
    latest = {"id": "d2", "status": "FAILED"}
    serving = rr.serving_deployment(latest, [latest, {"id": "d0", "status": "CRASHED"}, SERVING])
    assert serving is SERVING
    plan = rr.plan({}, {}, False, {}, {}, latest, serving, "redeploy")
    assert plan["source_reasons"] == ["its latest deployment d2 is FAILED, so the configuration on Railway is not what serves"]


def test_drift_by_name_only():
    drift = rr.drift({"A": "1", "EXTRA": "2"}, {"A": "9", "GONE": "3"}, CURRENT_SETTINGS, {"healthcheck_timeout": 60})
    assert drift == {"added": ["EXTRA"], "removed": ["GONE"], "changed": ["A"], "settings": ["healthcheck_timeout"],
                     "declared": 2, "on_railway": 2, "sealed": [], "sealed_new_here": [], "to_seal": [], "differs": True}
    assert not rr.drift({"A": "1"}, {"A": "1"}, CURRENT_SETTINGS, {})["differs"]


def test_a_sealed_variable_is_write_only():
    # Railway lists a sealed variable without its value (null); only the digest of the last value sent tells.
    current, desired = {"JWT": None, "A": "1"}, {"JWT": "new", "A": "1"}
    assert rr.variable_changes(current, desired, False, remembered={"JWT": True}) == ([], [], [])
    assert rr.variable_changes(current, desired, False, remembered={"JWT": False}) == ([], ["JWT"], [])
    # Nothing remembered (first run on this machine): sent once, then remembered.
    assert rr.variable_changes(current, desired, False) == ([], ["JWT"], [])
    # Declared sealed, unsealed on Railway: updated with the same value, which seals it.
    assert rr.variable_changes(current, desired, False, sealed=["A"], remembered={"JWT": True}) == ([], ["A"], [])


def test_drift_never_calls_a_sealed_variable_changed():
    current, declared = {"JWT": None, "KEY": None, "A": "1"}, {"JWT": "x", "KEY": "y", "A": "1"}
    drift = rr.drift(current, declared, {}, {}, sealed=["A"], remembered={"JWT": True, "KEY": False})
    assert (drift["changed"], drift["sealed"], drift["sealed_new_here"], drift["to_seal"]) == ([], ["JWT", "KEY"], ["KEY"], ["A"])


def test_a_failed_migration_keeps_the_previous_deployment():
    context = {"service": "backend", "previous_deployment_id": "d1", "pre_deploy_command": ["npx prisma migrate deploy"],
               "health_path": "/api/health", "health_now": {"status": 200},
               "deployment": {"failed": True, "deployment_id": "d2", "status": "FAILED", "msg": "pre-deploy failed",
                              "failed_step": {"step": "PRE_DEPLOY_COMMAND"}, "deploy_logs": ["migration error"]}}
    result = rr.recovery(context)
    assert result["failure"]["step"] == "deploy" and result["log_tail"] == ["migration error"]
    assert result["message"] == ("The database migration step (pre-deploy command 'npx prisma migrate deploy') failed, so "
                                 "the new deployment did not go live. Railway: pre-deploy failed. The previous deployment "
                                 "d1 keeps serving (GET /api/health answers HTTP 200).")


def test_a_failure_of_an_unknown_step_names_the_deployment_and_the_rollback_decision_once():
    railway = ("Deployment d2 of service backend FAILED while BUILDING; its events, build logs, deploy logs could not be "
               "read (HTTP 503 (Service Unavailable)); deployment d1 is still active, so the service is unchanged (no "
               "rollback needed) [QUEUED -> BUILDING -> FAILED]")
    context = {"service": "backend", "previous_deployment_id": "d1", "health_path": "/api/health",
               "health_now": {"status": 200},
               "deployment": {"failed": True, "deployment_id": "d2", "status": "FAILED", "msg": railway,
                              "failed_step": {"status": "BUILDING"},
                              "rollback": {"action": "not_needed", "active_deployment_id": "d1"}}}
    result = rr.recovery(context)
    assert result["log_tail"] == []
    assert result["message"] == ("The new deployment did not go live. Railway: %s. GET /api/health answers HTTP 200."
                                 % railway)
    # Without the health check's answer there is nothing to add to Railway's line.
    del context["health_now"]
    assert rr.recovery(context)["message"] == "The new deployment did not go live. Railway: %s." % railway


def test_a_failed_health_check_rolls_back():
    context = {"previous_deployment_id": "d1", "health_url": "https://x", "health_path": "/api/health",
               "deployment": {"deployment_id": "d2", "status": "SUCCESS"},
               "health": {"failed": True, "status": 503, "attempts": 3},
               "rollback": {"deployment_id": "d3", "status": "SUCCESS", "serving": True},
               "health_now": {"status": 200},
               "failed_logs": {"services": [{"latest_deployment": {"deploy_logs": ["boom"]}}]}}
    assert rr.recovery(context)["message"] == (
        "Deployment d2 is live, but GET https://x/api/health answered HTTP 503 after 3 attempts. Rolled back to d1: new "
        "deployment d3 is SUCCESS (GET /api/health answers HTTP 200). Last log line: boom")


def test_service_variables_are_text_and_later_layers_win():
    variables = rr.service_variables([{"DATABASE_URL": "ref", "PORT": 8080, "DEBUG": True}, {"PORT": None, "X": False},
                                      {"DEBUG": "1"}], drop=["DATABASE_URL"])
    assert variables == {"DEBUG": "1", "X": "false"}


@pytest.mark.parametrize("key, step, what", [
    ("configuration", "configuration", "step configuration (setting the variables and settings of backend, one request) failed: boom"),
    ("variables_result", "variables", "step variables (setting the variables of backend) failed: boom"),
    ("service_result", "settings", "step settings (configuring service backend) failed: boom"),
    ("source_connection", "source", "step source (connecting service backend to its repository or image) failed: boom"),
])
def test_a_step_before_any_deployment_says_nothing_was_deployed_and_names_itself(key, step, what):
    failure = rr.failed_step({"service": "backend", key: {"failed": True, "msg": "boom."}})
    assert failure["step"] == step and failure["msg"].startswith("Nothing was deployed: " + what), failure["msg"]


def test_shared_references_are_found_in_literal_values():
    values = ["${{shared.FLAGS}}", "x-${{ shared.REGION }}-y", "${{Postgres.DATABASE_URL}}", None, "shared.NOT"]
    assert rr.shared_references(values) == {"FLAGS", "REGION"}
