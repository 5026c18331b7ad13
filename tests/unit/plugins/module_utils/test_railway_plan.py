# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""railway.plan: typed settings, the plan and its reasons, drift, the serving deployment; railway.config_file's
document."""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import config_file
from ansible_collections.backendops.stack.plugins.module_utils.railway import plan as rr

SERVING = {"id": "d1", "status": "SUCCESS", "meta": {"message": "sha256:abc"}}
CURRENT_SETTINGS = {"healthcheck_path": "/api/health", "healthcheck_timeout": 120, "pre_deploy_command": None}


def test_settings_are_typed_and_unset_ones_left_out():
    settings = rr.desired_settings({"healthcheck_timeout": "300", "pre_deploy_command": "npx prisma migrate deploy",
                                    "start_command": None}, {"sleep_application": "yes"})
    assert settings == {"healthcheck_timeout": 300, "pre_deploy_command": ["npx prisma migrate deploy"],
                        "sleep_application": True}


def test_an_unknown_extra_setting_is_named_with_the_known_ones():
    with pytest.raises(rr.PlanError, match="settings_extra has unknown settings replica; known: build_command, builder,"):
        rr.desired_settings({}, {"replica": 2})


def test_the_config_document_keeps_numbers_and_drops_removed_settings():
    document = config_file.config_document({"healthcheck_timeout": 300, "start_command": "", "builder": "NIXPACKS", "replicas": 2})
    assert document == {"$schema": config_file.CONFIG_FILE_SCHEMA, "build": {"builder": "NIXPACKS"},
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


def test_service_variables_are_text_and_later_layers_win():
    variables = rr.service_variables([{"DATABASE_URL": "ref", "PORT": 8080, "DEBUG": True}, {"PORT": None, "X": False},
                                      {"DEBUG": "1"}], drop=["DATABASE_URL"])
    assert variables == {"DEBUG": "1", "X": "false"}


def test_shared_references_are_found_in_literal_values():
    values = ["${{shared.FLAGS}}", "x-${{ shared.REGION }}-y", "${{Postgres.DATABASE_URL}}", None, "shared.NOT"]
    assert rr.shared_references(values) == {"FLAGS", "REGION"}
