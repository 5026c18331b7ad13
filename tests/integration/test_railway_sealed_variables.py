# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sealed and shared variables against the emulator: write-only, compared by the digest of the value sent last."""
from __future__ import annotations

import json
import stat

import pytest

from support import Unsafe
from test_railway_modules import SECRET_VALUE, Runner, deployments_of, scope_of, variables_of

SEALING = {"environmentStageChanges": 1, "environmentPatchCommitStaged": 1}
# The seed's backend variables, which the environment contract requires.
BACKEND = {"DATABASE_URL": Unsafe("${{Postgres.DATABASE_URL}}"), "REDIS_URL": Unsafe("${{Redis.REDIS_URL}}"),
           "NODE_ENV": Unsafe("${{shared.NODE_ENV}}"), "PORT": "8080"}


@pytest.fixture(name="runner")
def runner_fixture(playbook, emulator, tmp_path):
    return Runner(playbook, emulator, tmp_path)


def sealed_of(emulator, service_id):
    return sorted(scope_of(emulator, service_id)["sealed"])


def test_a_sealed_variable_is_sent_once_and_again_only_when_its_value_here_changes(runner, emulator, tmp_path):
    state_dir = tmp_path / "state"
    args = {"service": "backend", "sealed": ["JWT_SECRET", "HEALTH_TOKEN"], "sealed_state_dir": str(state_dir),
            # HEALTH_TOKEN exists unsealed with this value: it gets sealed.
            "variables": {"JWT_SECRET": SECRET_VALUE, "HEALTH_TOKEN": "emu-health-token", "PORT": "8080"}}
    first, counters, _outcome = runner.module("railway_variables", args, diff=True)
    assert first["changed"] and first["added"] == ["JWT_SECRET"] and first["updated"] == ["HEALTH_TOKEN"]
    assert counters["mutation_fields"] == SEALING and first["sealed"] == ["HEALTH_TOKEN", "JWT_SECRET"]
    assert sealed_of(emulator, "service-backend") == ["HEALTH_TOKEN", "JWT_SECRET"]
    assert variables_of(emulator, "service-backend")["JWT_SECRET"] == SECRET_VALUE

    again, counters, _outcome = runner.module("railway_variables", args)
    assert not again["changed"] and counters["mutations"] == 0 and again["updated"] == []

    args["variables"]["JWT_SECRET"] = SECRET_VALUE + "-rotated"
    check, counters, _outcome = runner.module("railway_variables", args, check=True)
    assert check["changed"] and check["updated"] == ["JWT_SECRET"] and counters["mutations"] == 0
    rotated, counters, _outcome = runner.module("railway_variables", args)
    assert rotated["updated"] == ["JWT_SECRET"] and counters["mutation_fields"] == SEALING
    assert variables_of(emulator, "service-backend")["JWT_SECRET"] == SECRET_VALUE + "-rotated"
    again, counters, _outcome = runner.module("railway_variables", args)
    assert not again["changed"] and counters["mutations"] == 0

    files = list(state_dir.rglob("*.json"))
    assert [f.name for f in files] == ["service-backend.json"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert SECRET_VALUE not in files[0].read_text() and SECRET_VALUE not in json.dumps([first, check, rotated])


def test_release_with_sealed_and_shared_variables_reruns_without_mutations_and_drift_lists_no_change(runner, emulator, tmp_path):
    state_dir = str(tmp_path / "state")
    release = {"action": "apply", "service": "backend", "source": "redeploy", "verify_health": False, "poll_interval": 0.2,
               "wait_timeout": 60, "sealed": ["API_KEY", "SHARED_KEY"], "sealed_state_dir": state_dir,
               "variables": dict(BACKEND, API_KEY=SECRET_VALUE, FLAG=Unsafe("${{shared.FEATURE_FLAG}}")),
               "shared_variables": {"FEATURE_FLAG": "on", "SHARED_KEY": SECRET_VALUE + "-shared"}}
    count = len(deployments_of(emulator))
    first, counters, _outcome = runner.module("railway_release", release, diff=True)
    assert first.get("released") and first["changed"], first.get("msg")
    assert counters["mutation_fields"]["environmentPatchCommitStaged"] == 2  # the service's and the shared scope's
    assert len(deployments_of(emulator)) == count + 1
    shared = variables_of(emulator, None)
    assert shared["FEATURE_FLAG"] == "on" and sealed_of(emulator, None) == ["SHARED_KEY"]
    assert variables_of(emulator, "service-backend")["FLAG"] == "${{shared.FEATURE_FLAG}}"  # kept literal
    assert sealed_of(emulator, "service-backend") == ["API_KEY"]

    again, counters, _outcome = runner.module("railway_release", release)
    assert again.get("released") and not again["changed"] and counters["mutations"] == 0, again.get("msg")
    assert "sealed, compared by the digest of the value sent last: API_KEY" in " ".join(again["plan_text"])

    drift = {"action": "drift", "sealed": release["sealed"], "sealed_state_dir": state_dir,
             "variables": release["variables"], "shared_variables": release["shared_variables"],
             "current_variables": "{{ current.services[0].variables }}",
             "current_shared_variables": "{{ current.shared_variables }}",
             "target": {"project_id": "{{ current.project.id }}", "environment_id": "{{ current.environment.id }}",
                        "service_id": "{{ current.services[0].id }}"}}
    release["variables"]["API_KEY"] = SECRET_VALUE + "-rotated"
    drift["variables"] = release["variables"]
    results, _outcome = runner.run([
        {"backendops.stack.railway_info": {"service": "backend", "variable_values": "unrendered"}, "register": "current",
         "no_log": True},
        {"backendops.stack.railway_release": drift}])
    found = results[1]["drift"]
    assert found["changed"] == [] and found["sealed"] == ["API_KEY"] and found["sealed_new_here"] == ["API_KEY"]
    assert found["shared"]["changed"] == [] and found["shared"]["sealed"] == ["SHARED_KEY"]
    assert found["shared"]["sealed_new_here"] == []

    rotated, counters, _outcome = runner.module("railway_release", release)
    assert rotated["plan"]["variables"]["updated"] == ["API_KEY"] and counters["mutation_fields"]["environmentPatchCommitStaged"] == 1
    again, counters, _outcome = runner.module("railway_release", release)
    assert not again["changed"] and counters["mutations"] == 0
    assert SECRET_VALUE not in json.dumps([first, again, results, rotated])
