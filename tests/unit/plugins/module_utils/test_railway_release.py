# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""railway.release: the one line of a failed release, from the deployer's outcome (failed, or live and unhealthy)."""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import release

SETTINGS = {"pre_deploy_command": ["npx prisma migrate deploy"], "healthcheck_path": "/healthz"}
OPTIONS = {"health_path": "/healthz", "rollback_on_failure": False, "wait_timeout": 900}


def test_a_failed_migration_keeps_the_previous_deployment():
    deployment = {"failed": True, "deployment_id": "d2", "status": "FAILED", "msg": "pre-deploy failed",
                  "failed_step": {"step": "PRE_DEPLOY_COMMAND"}, "log_tail": ["migration error"]}
    told = release.deployment_failure(deployment, "d1", SETTINGS, OPTIONS, {"status": 200})
    assert told["step"] == "deploy" and told["log_tail"] == ["migration error"]
    assert told["msg"] == ("The database migration step (pre-deploy command 'npx prisma migrate deploy') failed, so "
                           "the new deployment did not go live. Railway: pre-deploy failed. The previous deployment "
                           "d1 keeps serving (GET /healthz answers HTTP 200).")


def test_a_failure_of_an_unknown_step_names_the_deployment_and_the_rollback_decision_once():
    railway = ("Deployment d2 of service backend FAILED while BUILDING; its events, build logs, deploy logs could not be "
               "read (HTTP 503 (Service Unavailable)); deployment d1 is still active, so the service is unchanged (no "
               "rollback needed) [QUEUED -> BUILDING -> FAILED]")
    deployment = {"failed": True, "deployment_id": "d2", "status": "FAILED", "msg": railway,
                  "failed_step": {"status": "BUILDING"}, "rollback": {"action": "not_needed", "active_deployment_id": "d1"}}
    told = release.deployment_failure(deployment, "d1", SETTINGS, OPTIONS, {"status": 200})
    assert told["log_tail"] == []
    assert told["msg"] == "The new deployment did not go live. Railway: %s. GET /healthz answers HTTP 200." % railway
    # Without the health check's answer there is nothing to add to Railway's line.
    assert release.deployment_failure(deployment, "d1", SETTINGS, OPTIONS)["msg"] == (
        "The new deployment did not go live. Railway: %s." % railway)


def test_an_unhealthy_deployment_is_the_deployers_line_with_what_serves_now():
    line = ("Deployment d2 is live, but GET https://x/healthz answered HTTP 503 after 3 attempts; last deploy log line: "
            "boom; rolled back to deployment d1 (new deployment d3 is SUCCESS)")
    deployment = {"failed": True, "unhealthy": True, "deployment_id": "d2", "status": "SUCCESS", "msg": line,
                  "log_tail": ["boom"], "rollback": {"action": "rolled_back", "deployment_id": "d3"}}
    told = release.deployment_failure(deployment, "d1", SETTINGS, dict(OPTIONS, rollback_on_failure=True), {"status": 200})
    assert told == {"step": "health", "railway_step": "", "log_tail": ["boom"],
                    "msg": line + ". Now GET /healthz answers HTTP 200."}
    kept = release.deployment_failure(dict(deployment, rollback=None), "d1", SETTINGS, OPTIONS, {"status": 503})
    assert kept["msg"].endswith(". Rollback is off (rollback_on_failure=false): deployment d2 stays live.")
    # The serving deployment of a run that deployed nothing is only explained.
    serving = release.deployment_failure(dict(deployment, deployment_id=None), "d1", SETTINGS, OPTIONS)
    assert serving["msg"].endswith(". Nothing was deployed by this run.")


def test_a_deployment_that_did_not_finish_in_time_carries_on():
    deployment = {"failed": True, "deployment_id": "d2", "status": "BUILDING", "timed_out": True, "msg": "still building"}
    told = release.deployment_failure(deployment, None, SETTINGS, OPTIONS)
    assert told["msg"].startswith("The deployment is still BUILDING after wait_timeout=900 s; it carries on in Railway")


@pytest.mark.parametrize("step, what", [
    ("configuration", "step configuration (setting the variables and settings of backend, one request) failed: boom"),
    ("variables", "step variables (setting the variables of backend) failed: boom"),
    ("settings", "step settings (configuring service backend) failed: boom; changed variables take effect"),
    ("source", "step source (connecting service backend to its repository or image) failed: boom; changed variables"),
])
def test_a_step_before_any_deployment_says_nothing_was_deployed_and_names_itself(step, what):
    assert release.step_failure(step, "backend", "boom.").startswith("Nothing was deployed: " + what)
