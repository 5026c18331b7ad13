# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""railway_processes: a service per process, its settings from web's, Railway's cron rules, references to web's variables."""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import processes as rp
from ansible_collections.backendops.stack.plugins.module_utils.railway import settings as rs
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import settings_problem
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError

WEB = {"build_command": "npx prisma generate", "start_command": "node src/server.js", "healthcheck_path": "/health",
       "pre_deploy_command": ["npx prisma migrate deploy"], "restart_policy": "ON_FAILURE", "restart_policy_max_retries": 5,
       "overlap_seconds": 30, "draining_seconds": 15, "region": "europe-west4", "replicas": 2}
WORKER = {"name": "worker", "start_command": "node src/worker.js", "cron_schedule": None}
REPORT = {"name": "report", "start_command": "node src/report.js", "cron_schedule": "*/15 * * * *"}


@pytest.mark.parametrize("schedule, gap", [
    ("*/15 * * * *", 15), ("*/5 * * * *", 5), ("0 3 * * *", 1440), ("0,30 9-17 * * 1-5", 30), ("5/20 * * * *", 20),
    ("0 0 1 * *", 1440), ("58 23,0 * * *", 60), ("0,58 0,23 * * *", 2), ("0,58 0,23 1 * *", 58),
])
def test_the_shortest_time_between_runs(schedule, gap):
    assert rs.cron_gap(schedule) == gap


@pytest.mark.parametrize("schedule, expected", [
    ("*/2 * * * *", "runs 2 minutes apart, and Railway starts a cron job at most every 5 minutes"),
    ("* * * * *", "runs 1 minute apart"),
    ("0,3 * * * *", "runs 3 minutes apart"),
    ("hourly", "has 1 fields, not 5"),
    ("0 * * * MON", "its day of week field 'MON' is not *"),
    ("60 * * * *", "its minute field '60' is outside 0-59"),
    ("0 0 * * 7", "its day of week field '7' is outside 0-6"),
    ("0 0 0 * *", "its day of month field '0' is outside 1-31"),
])
def test_schedules_railway_would_not_run_are_named_in_one_line(schedule, expected):
    problem = rs.cron_problem(schedule)
    assert expected in problem and "\n" not in problem


def test_a_cron_job_is_not_restarted_and_runs_once():
    assert settings_problem({"cron_schedule": "*/15 * * * *", "restart_policy": "NEVER", "replicas": 1}) is None
    assert "restart_policy must be NEVER, not ON_FAILURE" in settings_problem({"cron_schedule": "0 * * * *", "restart_policy": "ON_FAILURE"})
    assert "runs as one replica, not 2" in settings_problem({"cron_schedule": "0 * * * *", "replicas": 2})
    assert "at most every 5 minutes" in settings_problem({"cron_schedule": "*/2 * * * *"})
    assert settings_problem({"cron_schedule": "", "restart_policy": "ALWAYS"}) is None


def test_a_worker_gets_webs_build_and_restart_policy_its_own_start_and_no_domain_health_check_or_migration():
    worker, report = rp.process_specs([WORKER, REPORT], "backend", WEB)
    assert worker == {"name": "worker", "kind": "worker", "service": "backend-worker", "settings": {
        "build_command": "npx prisma generate", "region": "europe-west4", "start_command": "node src/worker.js",
        "healthcheck_path": "", "pre_deploy_command": [], "draining_seconds": 60, "cron_schedule": "",
        "restart_policy": "ON_FAILURE", "restart_policy_max_retries": 5}}
    assert report["kind"] == "cron" and report["service"] == "backend-report"
    assert report["settings"]["cron_schedule"] == "*/15 * * * *"
    assert report["settings"]["restart_policy"] == "NEVER" and report["settings"]["replicas"] == 1
    assert settings_problem(report["settings"]) is None
    # Web's replicas, overlap and health check timeout are web's own.
    assert not {"replicas", "overlap_seconds", "healthcheck_timeout"} & set(worker["settings"])
    assert rp.spec_line(report) == ("process report (cron): service backend-report; start_command 'node src/report.js', "
                                    "cron_schedule '*/15 * * * *' (UTC), restart_policy NEVER, replicas 1, "
                                    "draining_seconds 60; no domain, health check or pre-deploy command")


def test_the_service_name_pattern_and_draining_are_the_users():
    (spec,) = rp.process_specs([WORKER], "api", WEB, pattern="{process}-of-{service}", draining_seconds=300)
    assert spec["service"] == "worker-of-api" and spec["settings"]["draining_seconds"] == 300


@pytest.mark.parametrize("processes, kwargs, expected", [
    ([dict(REPORT, cron_schedule="*/2 * * * *")], {}, "process report: cron schedule '*/2 * * * *' runs 2 minutes apart"),
    ([dict(REPORT, replicas=2)], {}, "process report: a cron job runs as one replica on Railway, not 2"),
    ([WORKER], {"pattern": "{service}-jobs"}, "process_service '{service}-jobs' must name each process's service with {process}"),
    ([WORKER], {"pattern": "{process}-{env}"}, "must name each process's service"),
    ([WORKER, dict(REPORT, name="worker")], {}, "process worker and process worker would both be service backend-worker"),
    ([WORKER], {"draining_seconds": -1}, "process_draining_seconds must be zero or more"),
    ([{"name": "worker"}], {}, "every process needs a name and a start_command"),
])
def test_process_input_railway_would_refuse_fails_in_one_line(processes, kwargs, expected):
    with pytest.raises(PlanError) as failure:
        rp.process_specs(processes, "backend", WEB, **kwargs)
    assert expected in str(failure.value) and "\n" not in str(failure.value)


def test_variables_are_references_to_the_web_service():
    assert rp.reference_variables("backend", ["JWT_SECRET", "DATABASE_URL"]) == {
        "DATABASE_URL": "${{backend.DATABASE_URL}}", "JWT_SECRET": "${{backend.JWT_SECRET}}"}
