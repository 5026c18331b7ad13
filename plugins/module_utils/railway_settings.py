# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service settings the collection manages, in one table: option, API field, type, railway.json path, limits.

railway_service's options, railway_info's settings, the release's plan and drift, the railway.json written and the
railway.json / railway.toml read all derive from SETTINGS, so a setting is added in one place.
"""

from __future__ import annotations

from collections import namedtuple

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
BY_OPTION = dict((setting.option, setting) for setting in SETTINGS)
SETTING_NAMES = tuple(setting.option for setting in SETTINGS)
# (option, API field) of every setting, as railway_service and railway_info name them.
SERVICE_SETTING_FIELDS = tuple((setting.option, setting.field) for setting in SETTINGS)
# Settings read outside ServiceInstance (one more request, sent only when one of them is managed).
SCALE_SETTINGS = tuple(setting.option for setting in SETTINGS if setting.read != "instance")
# Values the API takes for the settings with choices (Builder and RestartPolicyType of Railway's schema).
CHOICES = {"builder": ("RAILPACK", "NIXPACKS", "HEROKU", "PAKETO"), "restart_policy": ("ON_FAILURE", "ALWAYS", "NEVER")}
# A railway.json file takes and gives numbers as numbers; memory is read back in bytes.
BYTES_PER_GB = 1000 ** 3

_KIND_TEXT = {int: "a whole number", float: "a number", bool: "true or false", list: "a command or a list of commands",
              dict: "a mapping of region to replicas, e.g. {us-west2: 2}", str: "text"}


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
        return dict((region, {"numReplicas": replicas}) for region, replicas in value.items())
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
