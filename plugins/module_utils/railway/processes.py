# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every process of the app on Railway: each worker and cron job is a service of its own, built from web's source.

Pure functions, no request: the service name of a process, its settings (web's build, its own start command, no
domain, health check or pre-deploy command; Railway's rules for cron jobs), and its variables as Railway references to
the web service's, so that secrets are stored once. The Release reads, creates, configures and deploys the
process services with them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Any

from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError, desired_settings
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import cron_problem

DEFAULT_SERVICE_NAME = "{service}-{process}"
DEFAULT_DRAINING_SECONDS = 60
# What a process service shares with web: the same build from the same place (and region).
SHARED_SETTINGS = ("build_command", "root_directory", "builder", "dockerfile_path", "region")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


# --- the process services ----------------------------------------------------------------------------------------------

def reference(service_name: str, variable: str) -> str:
    """A Railway reference variable to ``variable`` of the service named ``service_name``."""
    return "${{%s.%s}}" % (service_name, variable)


def reference_variables(service_name: str, names: Iterable[str]) -> dict[str, str]:
    """The variables of a process service: each of web's variables as a reference to it, so values live in web only."""
    return {name: reference(service_name, name) for name in sorted(names)}


def service_name(pattern: str, service: str, process: str) -> str:
    """The name of a process's service from ``pattern`` ({service} and {process}); PlanError when it cannot be one."""
    fields = {field for dummy, field, dummy_spec, dummy_conversion in string.Formatter().parse(pattern or "") if field}
    if "process" not in fields or not fields <= {"service", "process"}:
        raise PlanError("process_service %r must name each process's service with {process} (and may use "
                        "{service}), e.g. %s" % (pattern, DEFAULT_SERVICE_NAME))
    name = pattern.format(service=service, process=process)
    if not _NAME.match(name):
        raise PlanError("process_service %r makes %r for process %s: a service name is letters, digits, '-' "
                        "and '_'" % (pattern, name, process))
    return name


def process_settings(process: dict[str, Any], web_settings: dict[str, Any], draining_seconds: int) -> dict[str, Any]:
    """The settings of a process's service: web's build, its own start command, no domain health check or pre-deploy
    command (the migration runs once, with web), draining for a worker's running jobs; a cron job's schedule, one
    replica and no restart (Railway's rules), a worker's restart policy like web's. '' and [] remove a setting."""
    settings = {option: web_settings[option] for option in SHARED_SETTINGS if web_settings.get(option) is not None}
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
        raise PlanError("process_draining_seconds must be zero or more, not %r" % (draining_seconds,))
    for process in processes or []:
        name = str(process.get("name") or "")
        if not name or not process.get("start_command"):
            raise PlanError("every process needs a name and a start_command, not %r: check processes (or the "
                            "profile's processes)" % (dict(process),))
        what = "process %s" % name
        schedule = process.get("cron_schedule")
        if schedule:
            problem = cron_problem(schedule)
            if problem:
                raise PlanError("%s: cron schedule %r %s (the app profile's processes, or "
                                "processes)" % (what, schedule, problem))
            if process.get("replicas") not in (None, 1):
                raise PlanError("%s: a cron job runs as one replica on Railway, not %s" % (what, process["replicas"]))
        if process.get("replicas") is not None and int(process["replicas"]) < 1:
            raise PlanError("%s: replicas must be at least 1, not %s" % (what, process["replicas"]))
        target = service_name(pattern, service, name)
        if target.lower() in names or target.lower() == str(service).lower():
            raise PlanError("%s and %s would both be service %s: give the processes distinct names or change "
                            "process_service" % (what, names.get(target.lower(), "web"), target))
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
