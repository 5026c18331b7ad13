# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service settings the collection manages, in one table: option, API field, type, railway.json path, limits.

railway_service's options (argument_spec), railway_info's settings, the release's plan and drift, the checks of the
values (settings_problem), the railway.json written and the railway.json / railway.toml read all derive from
SETTINGS, so a setting is added in one place.
"""

from __future__ import annotations

import re
from collections import namedtuple
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean

# ``read``: where Railway reports the value - ``instance`` (ServiceInstance), ``environment`` (the environment's
# config: ServiceInstance has no multiRegionConfig) or ``limits`` (serviceInstanceLimitOverride, set with
# serviceInstanceLimitsUpdate). ``minimum``: the smallest value Railway takes. ``config_path``: railway.json keys.
Setting = namedtuple("Setting", "option field kind config_path minimum read")


def _setting(option, field, kind=str, config_path=(), minimum=None, read="instance"):
    return Setting(option, field, kind, tuple(config_path), minimum, read)


SETTINGS = (
    _setting("builder", "builder", config_path=("build", "builder")),
    _setting("build_command", "buildCommand", config_path=("build", "buildCommand")),
    _setting("dockerfile_path", "dockerfilePath", config_path=("build", "dockerfilePath")),
    _setting("root_directory", "rootDirectory"),
    _setting("watch_patterns", "watchPatterns", list, ("build", "watchPatterns")),
    _setting("start_command", "startCommand", config_path=("deploy", "startCommand")),
    _setting("pre_deploy_command", "preDeployCommand", list, ("deploy", "preDeployCommand")),
    _setting("healthcheck_path", "healthcheckPath", config_path=("deploy", "healthcheckPath")),
    _setting("healthcheck_timeout", "healthcheckTimeout", int, ("deploy", "healthcheckTimeout"), 0),
    _setting("restart_policy", "restartPolicyType", config_path=("deploy", "restartPolicyType")),
    _setting("restart_policy_max_retries", "restartPolicyMaxRetries", int, ("deploy", "restartPolicyMaxRetries"), 0),
    _setting("replicas", "numReplicas", int, ("deploy", "numReplicas"), 1),
    _setting("regions", "multiRegionConfig", dict, ("deploy", "multiRegionConfig"), read="environment"),
    _setting("overlap_seconds", "overlapSeconds", int, ("deploy", "overlapSeconds"), 0),
    _setting("draining_seconds", "drainingSeconds", int, ("deploy", "drainingSeconds"), 0),
    _setting("sleep_application", "sleepApplication", bool, ("deploy", "sleepApplication")),
    _setting("region", "region", config_path=("deploy", "region")),
    _setting("cron_schedule", "cronSchedule", config_path=("deploy", "cronSchedule")),
    _setting("cpu_limit", "vCPUs", float, read="limits"),
    _setting("memory_limit_gb", "memoryGB", float, read="limits"),
)
BY_OPTION = {setting.option: setting for setting in SETTINGS}
SETTING_NAMES = tuple(setting.option for setting in SETTINGS)
# Settings read outside ServiceInstance (one more request, sent only when one of them is managed).
SCALE_SETTINGS = tuple(setting.option for setting in SETTINGS if setting.read != "instance")
# Values the API takes for the settings with choices (Builder and RestartPolicyType of Railway's schema).
CHOICES = {"builder": ("RAILPACK", "NIXPACKS", "HEROKU", "PAKETO"), "restart_policy": ("ON_FAILURE", "ALWAYS", "NEVER")}
# A railway.json file takes and gives numbers as numbers; memory is read back in bytes.
BYTES_PER_GB = 1000 ** 3

# Railway starts a cron job at most every 5 minutes (docs.railway.com/reference/cron-jobs), in UTC.
CRON_MIN_INTERVAL = 5
# Field name, lowest and highest value; Railway's docs give numbers only (no JAN or MON), day of week 0-6.
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
_CRON_ITEM = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")
MINUTES_A_DAY = 24 * 60

_KIND_TEXT = {int: "a whole number", float: "a number", bool: "true or false", list: "a command or a list of commands",
              dict: "a mapping of region to replicas, e.g. {us-west2: 2}", str: "text"}


# The argument spec type of each kind; limits are raw: a number, or '' to remove the limit.
_OPTION_TYPES = {str: "str", int: "int", float: "raw", bool: "bool", list: "list", dict: "dict"}


def argument_spec() -> dict:
    """railway_service's options of the settings, from the table."""
    spec = {}
    for setting in SETTINGS:
        option = {"type": _OPTION_TYPES[setting.kind]}
        if setting.kind is list:
            option["elements"] = "str"
        if setting.option in CHOICES:
            option["choices"] = list(CHOICES[setting.option])
        spec[setting.option] = option
    return spec


def kind_text(option: str) -> str:
    return _KIND_TEXT[BY_OPTION[option].kind]


def typed(option: str, value):
    """The value as the setting's type; '' (or []) stays: it removes the setting. Raises ValueError."""
    kind = BY_OPTION[option].kind
    if value in ("", []) or value is None:
        return value
    if kind is int and not isinstance(value, bool) and float(value) == int(float(value)):
        return int(float(value))
    if kind is float and not isinstance(value, bool):
        return float(value)
    if kind is bool:
        return boolean(value, strict=True)
    if kind is list and isinstance(value, (str, list, tuple)):
        return [value] if isinstance(value, str) else [str(item) for item in value]
    if kind is dict and isinstance(value, dict):
        return regions(value)
    if kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        return text.upper() if option in CHOICES else text
    raise ValueError(value)


def regions(value: dict) -> dict:
    """{region: replicas}, from that or from Railway's multiRegionConfig ({region: {numReplicas: n}})."""
    result = {}
    for region, replicas in value.items():
        if isinstance(replicas, dict):
            replicas = replicas.get("numReplicas")
        if isinstance(replicas, bool) or not isinstance(replicas, (int, str)) or not str(replicas).isdigit():
            raise ValueError(value)
        result[str(region)] = int(replicas)
    return result


def api_value(option: str, value):
    """The value as Railway's API takes it (None removes the setting)."""
    if option == "regions" and value:
        return {region: {"numReplicas": replicas} for region, replicas in value.items()}
    return value


def total_replicas(settings: dict) -> int | None:
    """Instances the settings run: the sum over the regions, else the replicas; None when neither is set."""
    if settings.get("regions"):
        return sum(settings["regions"].values())
    return settings.get("replicas")


def limits_settings(override) -> dict:
    """cpu_limit and memory_limit_gb from serviceInstanceLimitOverride ({containers: {cpu, memoryBytes}}, or null)."""
    containers = (override or {}).get("containers") if isinstance(override, dict) else None
    containers = containers if isinstance(containers, dict) else {}
    cpu, memory = containers.get("cpu"), containers.get("memoryBytes")
    return {"cpu_limit": float(cpu) if cpu is not None else None,
            "memory_limit_gb": round(float(memory) / BYTES_PER_GB, 3) if memory is not None else None}


def environment_settings(config, service_id: str) -> dict:
    """regions of the service, from its environment's config ({services: {id: {deploy: {multiRegionConfig}}}})."""
    services = (config or {}).get("services") if isinstance(config, dict) else None
    deploy = ((services or {}).get(service_id) or {}).get("deploy") or {}
    found = deploy.get("multiRegionConfig")
    return {"regions": regions(found) if isinstance(found, dict) and found else None}


def layered(layers: list) -> tuple:
    """(settings, sources): per option, the value of the first layer (name, settings) that sets it (not None)."""
    settings, sources = {}, {}
    for name, values in layers:
        for option, value in (values or {}).items():
            if value is not None and option not in settings:
                settings[option], sources[option] = value, name
    return settings, sources


# --- values Railway takes --------------------------------------------------------------------------------------------

def settings_problem(settings):
    """Setting values Railway would reject less clearly; returns a message or None."""
    path = settings.get("healthcheck_path")
    if path and not path.startswith("/"):
        return "healthcheck_path must start with /, for example /healthz, not %r" % path
    for option, value in sorted(settings.items()):
        setting = BY_OPTION.get(option)
        if setting is None or value in (None, "", [], {}):
            continue
        if option in CHOICES and value not in CHOICES[option]:
            return "%s must be one of %s, not %r" % (option, ", ".join(CHOICES[option]), value)
        if setting.minimum is not None and value < setting.minimum:
            least = "zero or more" if setting.minimum == 0 else "at least %d" % setting.minimum
            return "%s must be %s, not %s" % (option, least, value)
        if setting.kind is float and value <= 0:
            return "%s must be more than 0, not %s" % (option, value)
        if option == "regions" and any(replicas < 1 for replicas in value.values()):
            return "regions must give each region at least 1 replica, not %s" % value
    if settings.get("pre_deploy_command") and any(not str(part).strip() for part in settings["pre_deploy_command"]):
        return "pre_deploy_command entries must not be empty; use an empty list to remove the command"
    return cron_settings_problem(settings)


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
