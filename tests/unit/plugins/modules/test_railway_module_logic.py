# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decisions inside the railway_* modules that need no Railway: compare, plan, validate, mask."""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import deployer, variables
from ansible_collections.backendops.stack.plugins.modules import railway_service, railway_variables


# --- railway_variables --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [("x", "x"), (3000, "3000"), (1.5, "1.5"), (True, "true"), (False, "false"), ("", "")])
def test_variable_values_become_railway_text(value, text):
    assert railway_variables.variable_text("A", value) == text


@pytest.mark.parametrize("value, message", [(None, "has no value"), ({"a": 1}, "must be text"), ([1], "must be text")])
def test_unusable_variable_values_are_refused(value, message):
    with pytest.raises(ValueError, match="variable A " + message):
        railway_variables.variable_text("A", value)


CURRENT = {"KEEP": "1", "CHANGE": "old", "REF": "${{Postgres.DATABASE_URL}}", "EXTRA": "x"}


def test_plan_present_upserts_only_differences_and_keeps_references_literal():
    desired = {"KEEP": "1", "CHANGE": "new", "REF": "${{Postgres.DATABASE_URL}}", "NEW": "n"}
    upserts, added, updated, removed = variables.plan_changes(CURRENT, desired, "present", False)
    assert upserts == {"CHANGE": "new", "NEW": "n"}
    assert (added, updated, removed) == (["NEW"], ["CHANGE"], [])


def test_plan_present_without_difference_changes_nothing():
    assert variables.plan_changes(CURRENT, dict(CURRENT), "present", True) == ({}, [], [], [])


def test_plan_replace_removes_unlisted_names():
    removed = variables.plan_changes(CURRENT, {"KEEP": "1"}, "present", True)[3]
    assert removed == ["CHANGE", "EXTRA", "REF"]


def test_plan_absent_removes_only_existing_names():
    assert variables.plan_changes(CURRENT, {"EXTRA": None, "GONE": None}, "absent", False) == ({}, [], [], ["EXTRA"])


def test_diff_shows_names_and_never_values():
    diff = variables.masked_diff(CURRENT, ["NEW"], ["CHANGE"], ["EXTRA"])
    assert diff["before"] == {"KEEP": "********", "CHANGE": "********", "REF": "********", "EXTRA": "********"}
    assert diff["after"] == {"KEEP": "********", "CHANGE": "******** (changed)", "REF": "********", "NEW": "********"}
    text = repr(diff)
    assert all(value not in text for value in ("old", "Postgres", "x'"))


# --- railway_service ----------------------------------------------------------------------------------------------

def service_params(**overrides):
    params = dict((option, None) for option in railway_service.SETTING_NAMES)
    params.update(overrides)
    return params


@pytest.mark.parametrize("overrides, message", [
    (dict(healthcheck_path="api/health"), "healthcheck_path must start with /"),
    (dict(healthcheck_timeout=-1), "healthcheck_timeout must be zero or more"),
    (dict(replicas=0), "replicas must be at least 1"),
    (dict(pre_deploy_command=["npx prisma migrate deploy", " "]), "pre_deploy_command entries must not be empty"),
])
def test_service_settings_are_validated_before_asking_railway(overrides, message):
    assert message in railway_service.validate(service_params(**overrides))


def test_valid_and_clearing_service_settings_pass():
    assert railway_service.validate(service_params(healthcheck_path="", pre_deploy_command=[], replicas=2)) is None


# --- railway_deploy -----------------------------------------------------------------------------------------------

def deploy_params(**overrides):
    params = dict(source="redeploy", commit=None, path=None, deployment_message=None, wait=True, wait_timeout=900,
                  poll_interval=2.0, log_lines=40, rollback_on_failure=False)
    params.update(overrides)
    return params


@pytest.mark.parametrize("overrides, message", [
    (dict(source="commit", commit="abc123"), "commit must be a full 40 character hexadecimal SHA"),
    (dict(commit="a" * 40), "commit is only used with source=commit"),
    (dict(path="/src"), "path is only used with source=upload"),
    (dict(deployment_message="m"), "deployment_message is only supported with source=upload"),
    (dict(wait_timeout=0), "wait_timeout must be more than 0"),
    (dict(poll_interval=31), "poll_interval must be more than 0 and at most 30"),
    (dict(log_lines=-1), "log_lines must be zero or more"),
    (dict(wait=False, rollback_on_failure=True), "rollback_on_failure needs wait=true"),
])
def test_deploy_option_misuse_is_explained(overrides, message):
    assert message in deployer.check_options(deploy_params(**overrides))


def test_deploy_options_that_fit_pass():
    assert deployer.check_options(deploy_params(source="commit", commit="0123456789abcdef0123456789ABCDEF01234567")) is None
    assert deployer.check_options(deploy_params(source="upload", path="/src", deployment_message="sha256:x")) is None


def test_urls_get_a_scheme():
    assert deployer.https_url("x.up.railway.app") == "https://x.up.railway.app"
    assert deployer.https_url("http://127.0.0.1/x") == "http://127.0.0.1/x"
    assert deployer.https_url(None) is None


class _Done(Exception):
    pass


class _ServiceStub:
    """Just enough of RailwayModule and the client for railway_service.manage_service."""

    def __init__(self, check_mode=False, **params):
        self.params = service_params(service="backend", **params)
        self.check_mode = check_mode
        self.diff_mode = True
        self.client = self
        self.updates = []
        self.result = None

    def resolve(self, service):
        from ansible_collections.backendops.stack.plugins.module_utils.railway.client import RailwayTarget
        return RailwayTarget({"id": "p", "name": "demo"}, {"id": "e", "name": "production"}, {"id": "s", "name": service}, [], [])

    def service_instance(self, environment_id, service_id):
        return {"healthcheckPath": "/api/health", "numReplicas": 1, "preDeployCommand": "npx prisma migrate deploy",
                "startCommand": None, "restartPolicyType": "ON_FAILURE", "restartPolicyMaxRetries": 10}

    def update_service_instance(self, environment_id, service_id, changes):
        self.updates.append(changes)

    def service_scale(self, environment_id, service_id):
        return {"cpu_limit": None, "memory_limit_gb": None, "regions": None, "volume": False}

    def update_service_limits(self, environment_id, service_id, changes):
        self.updates.append(changes)

    def fail(self, msg, **result):
        raise AssertionError(msg)

    def exit(self, **result):
        self.result = result
        raise _Done()


def _manage(stub):
    with pytest.raises(_Done):
        railway_service.manage_service(stub)
    return stub.result


def test_service_sends_only_the_settings_that_differ():
    stub = _ServiceStub(healthcheck_path="/api/health", pre_deploy_command=["npx prisma migrate deploy"], replicas=3,
                        start_command="", restart_policy_max_retries=5)
    result = _manage(stub)
    assert stub.updates == [{"numReplicas": 3, "restartPolicyMaxRetries": 5}]
    assert result["changed_settings"] == ["replicas", "restart_policy_max_retries"]
    assert result["diff"] == {
        "before": {"healthcheck_path": "/api/health", "pre_deploy_command": ["npx prisma migrate deploy"], "replicas": 1,
                   "start_command": None, "restart_policy_max_retries": 10},
        "after": {"healthcheck_path": "/api/health", "pre_deploy_command": ["npx prisma migrate deploy"], "replicas": 3,
                  "start_command": None, "restart_policy_max_retries": 5}}


def test_service_clears_with_null_and_check_mode_sends_nothing():
    stub = _ServiceStub(healthcheck_path="", pre_deploy_command=[])
    _manage(stub)
    assert stub.updates == [{"healthcheckPath": None, "preDeployCommand": None}]
    stub = _ServiceStub(check_mode=True, healthcheck_path="")
    result = _manage(stub)
    assert stub.updates == [] and result["changed"] and result["settings"]["healthcheck_path"] is None
