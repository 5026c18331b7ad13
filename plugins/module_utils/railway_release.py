# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Railway release plan: desired settings, variable and setting differences, drift, and whether to deploy.

Pure functions over what railway_info read; the railway_release module and the railway role's tasks call them, so
the comparison rules live in one place (railway_variables and railway_service compare the same way).
"""

from __future__ import annotations

import json

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.backendops.stack.plugins.module_utils.railway_client import SERVICE_SETTING_FIELDS
from ansible_collections.backendops.stack.plugins.module_utils.railway_waiter import IN_PROGRESS_STATUSES, SUCCESS_STATUSES

# The type of each railway_service option, to compare values like the module does.
SETTING_TYPES = {
    "healthcheck_timeout": int,
    "restart_policy_max_retries": int,
    "replicas": int,
    "overlap_seconds": int,
    "draining_seconds": int,
    "sleep_application": bool,
    "pre_deploy_command": list,
}
SETTING_NAMES = tuple(option for option, dummy in SERVICE_SETTING_FIELDS)

# railway.json (config as code) path of each setting that the file can carry.
CONFIG_FILE_FIELDS = {
    "builder": ("build", "builder"),
    "build_command": ("build", "buildCommand"),
    "dockerfile_path": ("build", "dockerfilePath"),
    "start_command": ("deploy", "startCommand"),
    "pre_deploy_command": ("deploy", "preDeployCommand"),
    "healthcheck_path": ("deploy", "healthcheckPath"),
    "healthcheck_timeout": ("deploy", "healthcheckTimeout"),
    "restart_policy": ("deploy", "restartPolicyType"),
    "restart_policy_max_retries": ("deploy", "restartPolicyMaxRetries"),
    "overlap_seconds": ("deploy", "overlapSeconds"),
    "draining_seconds": ("deploy", "drainingSeconds"),
    "cron_schedule": ("deploy", "cronSchedule"),
}
CONFIG_FILE_SCHEMA = "https://railway.com/railway.schema.json"


_KIND_TEXT = {int: "a whole number", bool: "true or false", list: "a command or a list of commands"}


class PlanError(ValueError):
    """Bad input, named with its fix; raised before anything is read or sent."""


def is_serving(status):
    """Whether a deployment in this status serves the service (Railway's SUCCESS, or asleep after inactivity)."""
    return status in SUCCESS_STATUSES


def is_in_progress(status):
    return status in IN_PROGRESS_STATUSES


def variable_text(name, value):
    """The text Railway stores for a YAML value; fails for a missing value instead of storing 'None'."""
    if value is None:
        raise ValueError("variable %s has no value; give it one (an empty string is allowed) or use state=absent" % name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise ValueError("variable %s must be text, a number or a boolean, not a %s" % (name, type(value).__name__))
    return str(value)


def variable_changes(current, desired, replace):
    """(added, updated, removed) names: what a batched upsert of desired over current changes."""
    added = sorted(name for name in desired if name not in current)
    updated = sorted(name for name in desired if name in current and current[name] != desired[name])
    removed = sorted(name for name in current if name not in desired) if replace else []
    return added, updated, removed


def desired_settings(settings, extra=None):
    """The settings to manage, typed like railway_service's options; unset (None) ones are left as they are.

    '' or [] stays as given: it removes the setting.
    """
    wanted = dict(settings or {})
    wanted.update(extra or {})
    unknown = sorted(set(extra or {}) - set(SETTING_NAMES))
    if unknown:
        raise PlanError("railway_settings_extra has unknown settings %s; known: %s"
                        % (", ".join(unknown), ", ".join(sorted(SETTING_NAMES))))
    result = {}
    for option, value in wanted.items():
        if value is None or option not in SETTING_NAMES:
            continue
        kind = SETTING_TYPES.get(option)
        try:
            if kind is int:
                value = int(value)
            elif kind is bool:
                value = boolean(value, strict=True)
            elif kind is list:
                value = [value] if isinstance(value, str) else list(value)
        except (TypeError, ValueError):
            raise PlanError("setting %s must be %s, not %r" % (option, _KIND_TEXT[kind], value))
        result[option] = value
    return result


def config_document(settings):
    """The same settings as a railway.json document; numbers stay numbers, as Railway's parser wants."""
    document = {"$schema": CONFIG_FILE_SCHEMA, "build": {}, "deploy": {}}
    for option, value in settings.items():
        if option in CONFIG_FILE_FIELDS and value not in ("", []):
            section, field = CONFIG_FILE_FIELDS[option]
            document[section][field] = value
    return document


def setting_changes(current, desired):
    """{option: {before, after}} of the managed settings that differ from Railway's ('' or [] means unset)."""
    changes = {}
    for option, value in desired.items():
        wanted = None if value in ("", []) else value
        if current.get(option) != wanted:
            changes[option] = {"before": current.get(option), "after": wanted}
    return changes


def setting_text(changes):
    return ["%s: %s -> %s" % (option, json.dumps(change["before"]), json.dumps(change["after"]))
            for option, change in sorted(changes.items())]


def serving_deployment(latest, history=None):
    """The deployment that serves: the latest one, or (when it failed or still runs) the newest serving one."""
    if latest is None or is_serving(latest.get("status")):
        return latest
    for deployment in history or []:
        if is_serving(deployment.get("status")):
            return deployment
    return None


def source_identity(kind, serving, digest=None, commit=None):
    """(wanted, serving) identities of the source: what this run deploys, and what the serving deployment carries."""
    meta = (serving or {}).get("meta") or {}
    if kind == "upload":
        return "sha256:%s" % digest, (meta.get("message") if serving else None)
    if kind == "commit":
        return (commit or "").lower(), ((meta.get("commitHash") or "").lower() if serving else None)
    return "the latest deployment", "the latest deployment"


def plan(current_variables, desired_variables, replace, current_settings, settings, latest, serving,
         source_kind, source_digest=None, commit=None, force=False):
    """What a run changes and why it deploys; names and settings only, never a variable's value."""
    added, updated, removed = variable_changes(current_variables, desired_variables, replace)
    settings_changed = setting_changes(current_settings, settings)
    wanted_source, serving_source = source_identity(source_kind, serving, source_digest, commit)
    reasons = []
    if force:
        reasons.append("railway_force_deploy is set")
    if latest is None:
        reasons.append("the service was never deployed")
    elif not is_serving(latest.get("status")):
        reasons.append("its latest deployment %s is %s, so the configuration on Railway is not what serves"
                       % (latest.get("id"), latest.get("status")))
    elif wanted_source != serving_source:
        reasons.append("the source (%s) differs from the serving one (%s)" % (wanted_source, serving_source or "none recorded"))
    source_reasons = list(reasons)
    if added or updated or removed:
        reasons.append("variables change")
    if settings_changed:
        reasons.append("settings change")
    return {
        "variables": {"added": added, "updated": updated, "removed": removed, "count": len(desired_variables),
                      "differs": bool(added or updated or removed)},
        "settings": settings_changed,
        "settings_text": setting_text(settings_changed),
        "source": {"kind": source_kind, "wanted": wanted_source, "serving": serving_source},
        "previous_deployment_id": serving.get("id") if serving else None,
        "source_reasons": source_reasons,
        "deploy_reasons": reasons,
    }


def drift(current_variables, declared_variables, current_settings, settings):
    """How Railway differs from this configuration, by name: added there, removed there, changed values, settings;
    ``differs`` when any of them is not empty (the module's ``changed``)."""
    found = {
        "added": sorted(name for name in current_variables if name not in declared_variables),
        "removed": sorted(name for name in declared_variables if name not in current_variables),
        "changed": sorted(name for name in declared_variables
                          if name in current_variables and current_variables[name] != declared_variables[name]),
        "settings": sorted(setting_changes(current_settings, settings)),
        "declared": len(declared_variables),
        "on_railway": len(current_variables),
    }
    found["differs"] = any(found[kind] for kind in ("added", "removed", "changed", "settings"))
    return found


# What a step of Railway's deployment means to the user, by the step Railway reports as failed.
_RAILWAY_STEP_TEXT = {
    "BUILD_IMAGE": "The build failed",
    "CREATE_CONTAINER": "The new container did not start",
}
# Steps whose output is in the build log (Railway's health check too); the others log to the deploy log.
_BUILD_LOG_STEPS = ("", "SNAPSHOT_CODE", "BUILD_IMAGE", "HEALTHCHECK")


def _no_dot(text):
    """The text without one final full stop, so sentences can be joined."""
    text = str(text or "")
    return text[:-1] if text.endswith(".") else text


def _failed(result):
    return bool(result) and bool(result.get("failed"))


def _ran(result):
    return result is not None and not result.get("skipped")


def failed_step(context):
    """{step, msg[, railway_step]}: which step of the release failed, from the results of its tasks (no secrets)."""
    service = context.get("service")
    variables, settings = context.get("variables_result") or {}, context.get("service_result") or {}
    deployment, health = context.get("deployment") or {}, context.get("health") or {}
    previous = context.get("previous_deployment_id")
    if _failed(variables):
        return {"step": "variables", "msg": "Nothing was deployed: step variables (setting the variables of %s) failed: %s"
                % (service, variables.get("msg"))}
    if _failed(settings):
        return {"step": "settings", "msg": "Nothing was deployed: step settings (configuring service %s) failed: %s; "
                "changed variables take effect with the next deployment" % (service, _no_dot(settings.get("msg")))}
    deployment_id = deployment.get("deployment_id")
    if _failed(deployment) and deployment_id is None:
        # Before a deployment existed (lookup, upload, start): the module's message names the step.
        return {"step": deployment.get("step", "upload"), "msg": deployment.get("msg")}
    if _failed(deployment):
        step = (deployment.get("failed_step") or {}).get("step", "")
        if step == "PRE_DEPLOY_COMMAND":
            what = "The database migration step (pre-deploy command '%s') failed" % " && ".join(
                context.get("pre_deploy_command") or ["?"])
        elif step == "HEALTHCHECK":
            what = "Railway's health check on %s failed" % context.get("healthcheck_path")
        else:
            what = _RAILWAY_STEP_TEXT.get(step)
        if deployment.get("timed_out"):
            what = ("The deployment is still %s after railway_deploy_timeout=%s s; it carries on in Railway and goes live "
                    "if it succeeds" % (deployment.get("status", ""), context.get("deploy_timeout")))
        elif deployment.get("in_progress"):
            what = "Railway could not be asked about deployment %s (last status %s); it carries on in Railway" % (
                deployment_id, deployment.get("status"))
        elif what is None:
            # Railway's line names the deployment and its status: said once.
            what = "The new deployment did not go live"
        else:
            what += ", so the new deployment did not go live"
        return {"step": "deploy", "railway_step": step, "msg": "%s. Railway: %s" % (what, deployment.get("msg"))}
    live = deployment_id if deployment_id is not None else previous
    if _failed(health):
        status = health.get("status", -1)
        answer = "HTTP %s" % status if isinstance(status, int) and status > 0 else (health.get("msg") or "nothing")
        return {"step": "health", "msg": "Deployment %s is live, but GET %s%s answered %s after %s attempts" % (
            live, context.get("health_url"), context.get("health_path"), answer, health.get("attempts") or 1)}
    return {"step": "health", "msg": "Deployment %s is live, but its detailed health check failed: %s" % (
        live, context.get("failure_msg") or "unknown error")}


def log_tail(failure, deployment, failed_logs):
    """The log lines that explain the failure: the deployment's build or deploy log, or the serving one's."""
    if failure["step"] == "deploy":
        logs = [deployment.get("build_logs") or [], deployment.get("deploy_logs") or []]
        if failure.get("railway_step", "") not in _BUILD_LOG_STEPS:
            logs.reverse()
        return next((lines for lines in logs if lines), [])
    if failure["step"] == "health":
        services = (failed_logs or {}).get("services") or [{}]
        return (services[0].get("latest_deployment") or {}).get("deploy_logs") or []
    return []


def failure_message(context, failure, tail):
    """The one message the failed run ends with: what failed, what serves now, the rollback, the last log line."""
    deployment, rollback = context.get("deployment") or {}, context.get("rollback")
    health_now = context.get("health_now") or {}
    previous = context.get("previous_deployment_id")
    path = context.get("health_path")
    message = _no_dot(failure["msg"]) + "."
    answers = " (GET %s answers HTTP %s)" % (path, health_now["status"]) if "status" in health_now else ""
    if failure["step"] == "deploy":
        railway_rollback = deployment.get("rollback") or {}
        active = railway_rollback.get("active_deployment_id", previous)
        if railway_rollback.get("action") in ("rolled_back", "failed", "impossible"):
            message += " Rollback: %s." % railway_rollback["action"]
        elif railway_rollback.get("action") == "not_needed" and health_now.get("status", 200) == 200:
            # Railway's line already says that the previous deployment still serves.
            message += " GET %s answers HTTP %s." % (path, health_now["status"]) if answers else ""
        elif previous and health_now.get("status", 200) == 200:
            message += " The previous deployment %s keeps serving%s." % (active, answers)
        elif previous:
            message += " The previous deployment %s should keep serving, but GET %s answers HTTP %s." % (
                active, path, health_now.get("status"))
    elif failure["step"] == "health":
        if _ran(rollback) and rollback.get("serving"):
            message += " Rolled back to %s: new deployment %s is %s%s." % (
                previous, rollback.get("deployment_id"), rollback.get("status"), answers)
        elif _ran(rollback):
            message += " The rollback to %s failed too: %s%s." % (previous, rollback.get("msg") or "no answer", answers)
        elif "deployment_id" not in deployment:
            message += " Nothing was deployed by this run."
        elif not context.get("rollback_on_failure"):
            message += " Rollback is off (railway_rollback_on_failure=false): deployment %s stays live." % deployment["deployment_id"]
        else:
            message += " There is no earlier deployment to roll back to."
        if tail:
            message += " Last log line: %s" % tail[-1]
    return message


def recovery(context):
    """failure {step, msg, railway_step}, log_tail and message of a failed release."""
    failure = failed_step(context)
    tail = log_tail(failure, context.get("deployment") or {}, context.get("failed_logs"))
    return {"failure": failure, "log_tail": tail, "message": failure_message(context, failure, tail)}


def service_variables(layers, drop=()):
    """Variables as Railway stores them (text; booleans as true/false), later layers winning; None leaves one out.

    ``drop`` names are removed from the first layer only (the defaults), so an explicitly given variable stays.
    """
    merged = dict((name, value) for name, value in layers[0].items() if name not in drop) if layers else {}
    for layer in layers[1:]:
        merged.update(layer)
    return dict((str(name), ("true" if value else "false") if isinstance(value, bool) else str(value))
                for name, value in merged.items() if value is not None)
