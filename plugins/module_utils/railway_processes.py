# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every process of the app on Railway: each worker and cron job is a service of its own, built from web's source.

Pure functions, no request: the service name of a process, its settings (web's build, its own start command, no
domain, health check or pre-deploy command; Railway's rules for cron jobs), and its variables as Railway references to
the web service's, so that secrets are stored once. railway_apply's Release reads, creates, configures and deploys the
process services with them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Any

from ansible_collections.backendops.stack.plugins.module_utils.railway_release import PlanError, desired_settings
from ansible_collections.backendops.stack.plugins.module_utils.railway_settings import total_replicas

DEFAULT_SERVICE_NAME = "{service}-{process}"
DEFAULT_DRAINING_SECONDS = 60
# Railway starts a cron job at most every 5 minutes (docs.railway.com/reference/cron-jobs), in UTC.
CRON_MIN_INTERVAL = 5
# Field name, lowest and highest value; Railway's docs give numbers only (no JAN or MON), day of week 0-6.
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
_CRON_ITEM = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")
MINUTES_A_DAY = 24 * 60
# What a process service shares with web: the same build from the same place (and region).
SHARED_SETTINGS = ("build_command", "root_directory", "builder", "dockerfile_path", "region")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


# --- Railway's cron rules --------------------------------------------------------------------------------------------

def _cron_field(text: str, name: str, low: int, high: int) -> set[int]:
    """The values of one cron field, or a ValueError naming what is wrong."""
    values = set()
    for item in text.split(","):
        match = _CRON_ITEM.match(item)
        if not match:
            raise ValueError("its %s field %r is not *, a number, a range (a-b), a list (a,b) or a step (*/n)" % (name, text))
        span, step = match.group(1), int(match.group(2)) if match.group(2) else 1
        if span == "*":
            first, last = low, high
        else:
            first, _dash, end = span.partition("-")
            first, last = int(first), int(end) if end else (high if match.group(2) else int(first))
        if not low <= first <= last <= high or step < 1:
            raise ValueError("its %s field %r is outside %d-%d" % (name, text, low, high))
        values.update(range(first, last + 1, step))
    return values


def cron_gap(schedule: str) -> int:
    """The shortest time between two runs of ``schedule``, in minutes; ValueError for an expression that is not one.

    Runs of one day are compared, and across midnight when the job runs every day.
    """
    fields = str(schedule or "").split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError("it has %d fields, not 5 (minute hour day-of-month month day-of-week)" % len(fields))
    values = [_cron_field(text, name, low, high) for text, (name, low, high) in zip(fields, CRON_FIELDS)]
    minutes, hours = values[0], values[1]
    times = sorted(hour * 60 + minute for hour in hours for minute in minutes)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    if fields[2] == "*" and fields[4] == "*" and fields[3] == "*":
        gaps.append(times[0] + MINUTES_A_DAY - times[-1])
    return min(gaps) if gaps else MINUTES_A_DAY


def cron_problem(schedule: str) -> str | None:
    """Why Railway would not run ``schedule`` as a cron job (a phrase to follow "cron schedule 'x' "), or None."""
    try:
        gap = cron_gap(schedule)
    except ValueError as exc:
        return "is not a five-field cron expression in UTC (%s), e.g. '*/15 * * * *'" % exc
    if gap < CRON_MIN_INTERVAL:
        return ("runs %d minute%s apart, and Railway starts a cron job at most every %d minutes: give it a schedule such "
                "as '*/%d * * * *'" % (gap, "" if gap == 1 else "s", CRON_MIN_INTERVAL, CRON_MIN_INTERVAL))
    return None


def cron_settings_problem(settings: dict[str, Any]) -> str | None:
    """Settings Railway's cron jobs cannot have, as one line (None when there are none).

    A cron job runs to its end on schedule: it is not restarted (restart policy NEVER) and runs once (one replica).
    """
    schedule = settings.get("cron_schedule")
    if not schedule:
        return None
    problem = cron_problem(schedule)
    if problem:
        return "cron_schedule %r %s" % (schedule, problem)
    if settings.get("restart_policy") not in (None, "NEVER"):
        return ("a cron job (cron_schedule %r) runs to its end on schedule, so its restart_policy must be NEVER, not %s"
                % (schedule, settings["restart_policy"]))
    if total_replicas(settings) not in (None, 1):
        return "a cron job (cron_schedule %r) runs as one replica, not %s" % (schedule, total_replicas(settings))
    return None


# --- the process services ----------------------------------------------------------------------------------------------

def reference(service_name: str, variable: str) -> str:
    """A Railway reference variable to ``variable`` of the service named ``service_name``."""
    return "${{%s.%s}}" % (service_name, variable)


def reference_variables(service_name: str, names: Iterable[str]) -> dict[str, str]:
    """The variables of a process service: each of web's variables as a reference to it, so values live in web only."""
    return dict((name, reference(service_name, name)) for name in sorted(names))


def service_name(pattern: str, service: str, process: str) -> str:
    """The name of a process's service from ``pattern`` ({service} and {process}); PlanError when it cannot be one."""
    fields = set(field for dummy, field, dummy_spec, dummy_conversion in string.Formatter().parse(pattern or "") if field)
    if "process" not in fields or not fields <= set(("service", "process")):
        raise PlanError("railway_process_service %r must name each process's service with {process} (and may use "
                        "{service}), e.g. %s" % (pattern, DEFAULT_SERVICE_NAME))
    name = pattern.format(service=service, process=process)
    if not _NAME.match(name):
        raise PlanError("railway_process_service %r makes %r for process %s: a service name is letters, digits, '-' "
                        "and '_'" % (pattern, name, process))
    return name


def process_settings(process: dict[str, Any], web_settings: dict[str, Any], draining_seconds: int) -> dict[str, Any]:
    """The settings of a process's service: web's build, its own start command, no domain health check or pre-deploy
    command (the migration runs once, with web), draining for a worker's running jobs; a cron job's schedule, one
    replica and no restart (Railway's rules), a worker's restart policy like web's. '' and [] remove a setting."""
    settings = dict((option, web_settings[option]) for option in SHARED_SETTINGS if web_settings.get(option) is not None)
    settings.update(start_command=process["start_command"], healthcheck_path="", pre_deploy_command=[],
                    draining_seconds=draining_seconds)
    if process.get("cron_schedule"):
        settings.update(cron_schedule=process["cron_schedule"], restart_policy="NEVER", replicas=1)
    else:
        settings["cron_schedule"] = ""
        for option in ("restart_policy", "restart_policy_max_retries"):
            if web_settings.get(option) is not None:
                settings[option] = web_settings[option]
    if process.get("replicas") is not None:
        settings["replicas"] = process["replicas"]
    return desired_settings(settings)


def process_specs(processes: list[dict[str, Any]] | None, service: str, web_settings: dict[str, Any], pattern: str = DEFAULT_SERVICE_NAME,
                  draining_seconds: int | None = DEFAULT_DRAINING_SECONDS) -> list[dict[str, Any]]:
    """[{name, kind, service, settings}] of the processes, checked as Railway would; PlanError with one line otherwise.

    ``service`` is the web service's name, ``web_settings`` its typed settings.
    """
    specs, names = [], {}
    if draining_seconds is None or int(draining_seconds) < 0:
        raise PlanError("railway_worker_draining_seconds must be zero or more, not %r" % (draining_seconds,))
    for process in processes or []:
        name = str(process.get("name") or "")
        if not name or not process.get("start_command"):
            raise PlanError("every process needs a name and a start_command, not %r: check railway_processes (or the "
                            "profile's processes)" % (dict(process),))
        what = "process %s" % name
        schedule = process.get("cron_schedule")
        if schedule:
            problem = cron_problem(schedule)
            if problem:
                raise PlanError("%s: cron schedule %r %s (backendops.yml processes, railway_profile_overrides or "
                                "railway_processes)" % (what, schedule, problem))
            if process.get("replicas") not in (None, 1):
                raise PlanError("%s: a cron job runs as one replica on Railway, not %s" % (what, process["replicas"]))
        if process.get("replicas") is not None and int(process["replicas"]) < 1:
            raise PlanError("%s: replicas must be at least 1, not %s" % (what, process["replicas"]))
        target = service_name(pattern, service, name)
        if target.lower() in names or target.lower() == str(service).lower():
            raise PlanError("%s and %s would both be service %s: give the processes distinct names or change "
                            "railway_process_service" % (what, names.get(target.lower(), "web"), target))
        names[target.lower()] = what
        specs.append({"name": name, "kind": "cron" if schedule else "worker", "service": target,
                      "settings": process_settings(process, web_settings, int(draining_seconds))})
    return specs


def spec_line(spec: dict[str, Any], where: str = "") -> str:
    """One line naming a process's service (``where`` follows its name: its ID, or how it is created) and its settings."""
    settings = spec["settings"]
    shown = ["start_command %r" % settings["start_command"]]
    if spec["kind"] == "cron":
        shown.append("cron_schedule %r (UTC)" % settings["cron_schedule"])
    shown += ["%s %s" % (option, settings[option]) for option in ("restart_policy", "replicas", "draining_seconds")
              if settings.get(option) not in (None, "")]
    return "process %s (%s): service %s%s; %s; no domain, health check or pre-deploy command" % (
        spec["name"], spec["kind"], spec["service"], where, ", ".join(shown))
