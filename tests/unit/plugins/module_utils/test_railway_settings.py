# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The settings table, the app's railway.json / railway.toml read into it, the layers and Railway's scale rules."""
from __future__ import annotations

import json

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import config_file as rcf
from ansible_collections.backendops.stack.plugins.module_utils.railway import settings as rs
from ansible_collections.backendops.stack.plugins.module_utils.railway.config_file import config_document
from ansible_collections.backendops.stack.plugins.module_utils.railway.inputs import check_inputs, release_settings
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError, drift
from ansible_collections.backendops.stack.plugins.module_utils.railway.service_settings import needs_scale, scale_problem
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import settings_problem

# A railway.json like the one a backend kept before Railway stopped reading it.
SEED_CONFIG = {
    "$schema": "https://railway.com/railway.schema.json",
    "build": {"builder": "RAILPACK", "buildCommand": "npm run build", "nixpacksPlan": {"phases": {}}},
    "deploy": {"startCommand": "node dist/server.js", "healthcheckPath": "/api/health", "healthcheckTimeout": 60,
               "restartPolicyType": "ON_FAILURE", "restartPolicyMaxRetries": 3, "limitOverride": {"containers": {}}},
    "environments": {"staging": {"deploy": {"numReplicas": 2}}, "production": {"deploy": {"healthcheckTimeout": 90}}},
}


def test_the_table_names_every_setting_once_with_its_api_field():
    assert len(rs.SETTING_NAMES) == len(set(rs.SETTING_NAMES)) == len(rs.SETTINGS)
    assert rs.BY_OPTION["regions"].field == "multiRegionConfig"
    assert set(rs.SCALE_SETTINGS) == {"regions", "cpu_limit", "memory_limit_gb"}
    # A config file's path maps back to exactly one setting.
    paths = [setting.config_path for setting in rs.SETTINGS if setting.config_path]
    assert len(paths) == len(set(paths))


def test_railway_services_options_derive_from_the_table():
    spec = rs.argument_spec()
    assert list(spec) == list(rs.SETTING_NAMES)
    assert spec["builder"] == {"type": "str", "choices": ["RAILPACK", "NIXPACKS", "HEROKU", "PAKETO"]}
    assert spec["pre_deploy_command"] == {"type": "list", "elements": "str"}
    assert (spec["replicas"], spec["regions"], spec["cpu_limit"], spec["sleep_application"]) == (
        {"type": "int"}, {"type": "dict"}, {"type": "raw"}, {"type": "bool"})


@pytest.mark.parametrize("option, value, expected", [
    ("regions", {"us-west2": {"numReplicas": 2}}, {"us-west2": 2}),
    ("regions", {"us-west2": "3"}, {"us-west2": 3}),
    ("restart_policy", "never", "NEVER"),
    ("cpu_limit", "2", 2.0),
    ("replicas", 2.0, 2),
    ("watch_patterns", "src/**", ["src/**"]),
])
def test_values_are_typed_by_the_table(option, value, expected):
    assert rs.typed(option, value) == expected


@pytest.mark.parametrize("option, value", [("regions", {"us-west2": "two"}), ("replicas", 1.5), ("cpu_limit", True)])
def test_a_value_of_the_wrong_type_is_refused(option, value):
    with pytest.raises(ValueError):
        rs.typed(option, value)


def test_regions_go_to_railway_as_multi_region_config_and_count_instances():
    assert rs.api_value("regions", {"us-west2": 2}) == {"us-west2": {"numReplicas": 2}}
    assert rs.total_replicas({"regions": {"us-west2": 2, "europe-west4": 1}, "replicas": 1}) == 3
    assert rs.total_replicas({"replicas": 2}) == 2 and rs.total_replicas({}) is None


def test_limits_and_regions_are_read_back_in_the_options_units():
    assert rs.limits_settings({"containers": {"cpu": 2, "memoryBytes": 4 * rs.BYTES_PER_GB}}) == {
        "cpu_limit": 2.0, "memory_limit_gb": 4.0}
    assert rs.limits_settings(None) == {"cpu_limit": None, "memory_limit_gb": None}
    config = {"services": {"s": {"deploy": {"multiRegionConfig": {"us-west2": {"numReplicas": 2}}}}}}
    assert rs.environment_settings(config, "s") == {"regions": {"us-west2": 2}}
    assert rs.environment_settings(config, "other") == {"regions": None}


def test_the_first_layer_that_sets_a_value_wins_and_is_named():
    settings, sources = rs.layered([("inventory", {"replicas": 2, "start_command": None}),
                                    ("railway.json", {"start_command": "node a.js", "replicas": 3}),
                                    ("profile", {"start_command": "node b.js", "healthcheck_timeout": 120})])
    assert settings == {"replicas": 2, "start_command": "node a.js", "healthcheck_timeout": 120}
    assert sources == {"replicas": "inventory", "start_command": "railway.json", "healthcheck_timeout": "profile"}


def test_railway_json_is_read_with_the_current_environments_block(tmp_path):
    path = tmp_path / "railway.json"
    path.write_text(json.dumps(SEED_CONFIG))
    settings, unset = rcf.read(str(path), "production")
    assert settings == {"builder": "RAILPACK", "build_command": "npm run build", "start_command": "node dist/server.js",
                        "healthcheck_path": "/api/health", "healthcheck_timeout": 90, "restart_policy": "ON_FAILURE",
                        "restart_policy_max_retries": 3}
    # What the API cannot set is named, not dropped silently; another environment's block is not this one's.
    assert unset == ["build.nixpacksPlan", "deploy.limitOverride"]
    assert rcf.read(str(path), "staging")[0]["replicas"] == 2


def test_railway_toml_is_preferred_as_the_cli_does(tmp_path):
    (tmp_path / "railway.json").write_text(json.dumps({"deploy": {"startCommand": "from json"}}))
    (tmp_path / "railway.toml").write_text('[build]\nbuilder = "DOCKERFILE"\ndockerfilePath = "Dockerfile.prod"\n'
                                           '[deploy]\nstartCommand = "from toml"\nrestartPolicyType = "never"\n'
                                           'preDeployCommand = ["npm run db:migrate"]\n'
                                           '[deploy.multiRegionConfig.us-west2]\nnumReplicas = 2\n')
    path = rcf.find(None, str(tmp_path))
    assert path.endswith("railway.toml")
    settings, unset = rcf.read(path)
    assert settings == {"dockerfile_path": "Dockerfile.prod", "start_command": "from toml", "restart_policy": "NEVER",
                        "pre_deploy_command": ["npm run db:migrate"], "regions": {"us-west2": 2}}
    assert len(unset) == 1 and unset[0].startswith("build.builder=DOCKERFILE")


@pytest.mark.parametrize("text, message", [
    ("{", "is not valid JSON"),
    ('{"deploy": {"healthcheckTimeout": "soon"}}', "deploy.healthcheckTimeout must be a whole number, not 'soon'"),
    ("[1]", "must hold an object"),
])
def test_a_bad_file_fails_in_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "railway.json"
    path.write_text(text)
    with pytest.raises(rcf.ConfigFileError, match=message) as error:
        rcf.read(str(path))
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_missing_custom_file_is_refused(tmp_path):
    with pytest.raises(rcf.ConfigFileError, match="config_file_source .* is not a file"):
        rcf.find(str(tmp_path / "nope.json"), None)
    assert rcf.find(None, str(tmp_path)) is None


def release_params(path, **params):
    return dict(dict(settings={}, settings_extra={}, profile_settings={}, path=str(path), environment="production"),
                **params)


def test_inventory_wins_over_the_file_which_wins_over_the_profile(tmp_path):
    (tmp_path / "railway.json").write_text(json.dumps(SEED_CONFIG))
    resolved = release_settings(release_params(
        tmp_path, settings={"restart_policy_max_retries": 7, "start_command": None},
        profile_settings={"start_command": "node src/server.js", "overlap_seconds": 30, "healthcheck_path": "/health"}))
    settings, sources = resolved["settings"], resolved["sources"]
    assert (settings["restart_policy_max_retries"], sources["restart_policy_max_retries"]) == (7, "inventory")
    assert (settings["start_command"], sources["start_command"]) == ("node dist/server.js", "railway.json")
    assert (settings["healthcheck_path"], sources["healthcheck_path"]) == ("/api/health", "railway.json")
    assert (settings["overlap_seconds"], sources["overlap_seconds"]) == (30, "profile")
    assert resolved["config_file_unset"] == ["build.nixpacksPlan", "deploy.limitOverride"]


def test_no_file_is_read_when_told_so_or_when_it_is_the_one_written(tmp_path):
    (tmp_path / "railway.json").write_text(json.dumps(SEED_CONFIG))
    assert release_settings(release_params(tmp_path, config_file_source=""))["sources"] == {}
    written = release_params(tmp_path, config_file=str(tmp_path / "railway.json"))
    assert release_settings(written)["config_file"] is None


def test_a_bad_file_stops_the_release_check_before_any_request(tmp_path):
    (tmp_path / "railway.json").write_text('{"deploy": {"restartPolicyType": "SOMETIMES"}}')
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(PlanError, match="restart_policy must be one of ON_FAILURE, ALWAYS, NEVER, not 'SOMETIMES'"):
        check_inputs(release_params(tmp_path, source="redeploy", variables={}))


def test_replicas_are_refused_on_a_service_with_a_volume_and_on_a_cron_job():
    assert "mounts a volume" in scale_problem("postgres", {"replicas": 2}, True)
    assert "cannot run 3" in scale_problem("app", {"regions": {"us-west2": 2, "europe-west4": 1}}, True)
    assert scale_problem("app", {"replicas": 2}, False) is None and scale_problem("app", {"replicas": 1}, True) is None
    assert "runs as one replica, not 2" in settings_problem({"cron_schedule": "*/15 * * * *", "restart_policy": "NEVER",
                                                             "regions": {"us-west2": 2}})
    assert "cpu_limit must be more than 0" in settings_problem({"cpu_limit": 0.0})
    assert needs_scale({"replicas": 2}) and needs_scale({"cpu_limit": 1.0}) and not needs_scale({"replicas": 1})


def test_the_written_file_carries_regions_but_never_the_deprecated_replicas():
    document = config_document({"regions": {"us-west2": 2}, "replicas": 2, "sleep_application": False})
    assert document["deploy"] == {"multiRegionConfig": {"us-west2": {"numReplicas": 2}}, "sleepApplication": False}


def test_drift_reports_scale_settings_that_differ_on_railway():
    current = {"regions": {"us-west2": 1}, "cpu_limit": 2.0, "sleep_application": False}
    found = drift({}, {}, current, {"regions": {"us-west2": 2}, "cpu_limit": 2.0, "sleep_application": True})
    assert found["settings"] == ["regions", "sleep_application"]
