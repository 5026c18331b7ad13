# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""railway.inputs: a release's inputs checked before any request, in the order a user fixes them; railway.source:
what a release follows."""

from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import inputs as ra
from ansible_collections.backendops.stack.plugins.module_utils.railway import source
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError

SECRETS = {"SUPABASE_URL": "https://ref.supabase.co", "SUPABASE_ANON_KEY": "anon-key-0123456789",
           "JWT_SECRET": "jwt-secret-0123456789abcdef0123456789", "HEALTH_TOKEN": "health-token-42"}
DEFAULTS = {"NODE_ENV": "production", "PORT": 8080, "DATABASE_URL": "${{Postgres.DATABASE_URL}}",
            "REDIS_URL": "${{Redis.REDIS_URL}}"}


def inputs(tmp_path, **changes):
    params = dict(source="upload", path=str(tmp_path), commit=None, profile={}, settings={"healthcheck_path": "/api/health"},
                  settings_extra={}, env_file=None, defaults=DEFAULTS, variables=dict(SECRETS), drop=[], extra=[],
                  contract=None, verify_health=True, health_details={"path": "/api/health/details", "token": "HEALTH_TOKEN"}, health_token=None)
    params.update(changes)
    return params


def test_good_inputs_give_the_variables_as_railway_stores_them(tmp_path):
    checked = ra.check_inputs(inputs(tmp_path, variables=dict(SECRETS, LOG_LEVEL=None, DEBUG=True)))
    assert checked["variables"]["PORT"] == "8080" and checked["variables"]["DEBUG"] == "true"
    assert "LOG_LEVEL" not in checked["variables"]
    assert checked["health_token"] == SECRETS["HEALTH_TOKEN"]
    assert checked["config_document"]["deploy"] == {"healthcheckPath": "/api/health"}


@pytest.mark.parametrize("changes, expected", [
    ({"source": "commit", "commit": "abc123"}, "commit must be the full 40 character SHA"),
    ({"path": "/nonexistent/app"}, "path /nonexistent/app is not a directory"),
    ({"profile": {"failed": True, "msg": "App profile: no package.json"}}, "App profile: no package.json (path"),
    ({"settings_extra": {"replica": 2}}, "settings_extra has unknown settings replica"),
    ({"settings": {"healthcheck_path": "api/health"}}, "healthcheck_path must start with /"),
    ({"env_file": "/nonexistent/production.env"}, "env_file /nonexistent/production.env is not a readable file"),
    ({"variables": dict(SECRETS, PORT="eighty")}, "PORT"),
    ({"drop": ["REDIS_URL"]}, "REDIS_URL is required but not set"),
    ({"variables": dict(SECRETS, HEALTH_TOKEN="${{shared.HEALTH_TOKEN}}")}, "variable HEALTH_TOKEN (health_details.token) is a Railway reference"),
    ({"variables": {"bad-name": "x"}}, "bad variable name(s) 'bad-name'"),
])
def test_bad_input_fails_with_one_line_naming_it(tmp_path, changes, expected):
    with pytest.raises(PlanError) as failure:
        ra.check_inputs(inputs(tmp_path, **changes))
    assert expected in str(failure.value) and "\n" not in str(failure.value)
    assert not [value for value in SECRETS.values() if value in str(failure.value)]


def test_the_commit_is_checked_first(tmp_path):
    with pytest.raises(PlanError, match="commit must be"):
        ra.check_inputs(inputs(tmp_path, source="commit", commit="abc", path="/nonexistent", settings_extra={"x": 1}))


def test_the_env_file_wins_and_a_drift_or_redeploy_needs_no_source(tmp_path):
    env_file = tmp_path / "production.env"
    env_file.write_text("LOG_LEVEL=warn\nPORT=9090\n")
    checked = ra.check_inputs(inputs(tmp_path, source="redeploy", path="/nonexistent", env_file=str(env_file),
                                     verify_health=False))
    assert checked["variables"]["PORT"] == "9090" and checked["env_file_values"] == {"LOG_LEVEL": "warn", "PORT": "9090"}
    assert checked["health_token"] is None


def test_the_health_token_is_the_value_of_the_variable_the_profile_names_or_the_one_given(tmp_path):
    details = {"path": "/healthz/full", "token": "STATUS_KEY"}
    checked = ra.check_inputs(inputs(tmp_path, variables=dict(SECRETS, STATUS_KEY="status-key-0123"), health_details=details))
    assert checked["health_token"] == "status-key-0123"
    given = ra.check_inputs(inputs(tmp_path, health_details=details, health_token="from-the-vault"))
    assert given["health_token"] == "from-the-vault"
    with pytest.raises(PlanError, match="variable STATUS_KEY \\(health_details.token\\) is not set"):
        ra.check_inputs(inputs(tmp_path, health_details=details))
    # Without a details view no token is needed.
    assert ra.check_inputs(inputs(tmp_path, health_details={}))["health_token"] is None


def test_the_processes_are_checked_with_the_other_inputs(tmp_path):
    worker = {"name": "worker", "start_command": "node src/worker.js", "cron_schedule": None}
    checked = ra.check_inputs(inputs(tmp_path, service="api", processes=[worker], process_service="{service}-{process}",
                                     process_draining_seconds=90))
    assert [(spec["service"], spec["settings"]["draining_seconds"]) for spec in checked["processes"]] == [("api-worker", 90)]
    with pytest.raises(PlanError, match="config_file cannot go with the app's processes \\(worker\\)"):
        ra.check_inputs(inputs(tmp_path, processes=[worker], config_file=str(tmp_path / "railway.json")))
    with pytest.raises(PlanError, match="process report: cron schedule '\\* \\* \\* \\* \\*' runs 1 minute apart"):
        ra.check_inputs(inputs(tmp_path, processes=[dict(worker, name="report", cron_schedule="* * * * *")]))
    assert ra.check_inputs(inputs(tmp_path))["processes"] == []


# --- the source a release follows ----------------------------------------------------------------------------------

def _instance(source=None, trigger=None):
    return {"serviceName": "backend", "source": source or {"repo": None, "image": None}, "trigger": trigger}


@pytest.mark.parametrize("options, instance, expected", [
    # Nothing connected and nothing asked for: the local source is uploaded.
    ({"source": "auto"}, _instance(), ("upload", None)),
    ({"source": "upload", "repo": "acme/shop"}, _instance({"repo": "acme/shop"}), ("upload", None)),
    # A repository asked for on an unconnected service: connected on its branch (main when none is given).
    ({"source": "auto", "repo": "acme/shop"}, _instance(),
     ("repo", {"before": "no source (uploads)", "after": "repo acme/shop (branch main)"})),
    # Connected by Railway already, nothing asked for: followed as it is.
    ({"source": "auto"}, _instance({"repo": "acme/shop"}, {"id": "t", "repository": "acme/shop", "branch": "release"}), ("repo", None)),
    # Another branch is a change; so is a repository connected without a trigger.
    ({"source": "auto", "repo": "acme/shop", "branch": "main"},
     _instance({"repo": "acme/shop"}, {"id": "t", "repository": "acme/shop", "branch": "release"}),
     ("repo", {"before": "repo acme/shop (branch release)", "after": "repo acme/shop (branch main)"})),
    ({"source": "repo"}, _instance({"repo": "acme/shop"}), ("repo", {"before": "repo acme/shop (branch -)", "after": "repo acme/shop (branch main)"})),
    ({"source": "auto", "image": "ghcr.io/acme/shop:2"}, _instance({"image": "ghcr.io/acme/shop:1"}),
     ("image", {"before": "image ghcr.io/acme/shop:1", "after": "image ghcr.io/acme/shop:2"})),
    ({"source": "auto"}, _instance({"image": "ghcr.io/acme/shop:1"}), ("image", None)),
])
def test_the_release_follows_the_source_the_service_is_connected_to_or_asked_to_be(options, instance, expected):
    kind, connection = source.source_to_follow(options, instance)
    assert (kind, connection and connection["change"]) == expected


def test_following_a_repository_needs_one():
    with pytest.raises(PlanError, match="source=repo needs repo"):
        source.source_to_follow({"source": "repo"}, _instance())
