# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Railway release plan: desired settings, variable and setting differences, drift, and whether to deploy.

Pure functions over what railway_info read; the railway_release module and the railway role's tasks call them, so
the comparison rules live in one place (railway_variables and railway_service compare the same way).
"""

from __future__ import annotations

import json
import re

from ansible_collections.backendops.stack.plugins.module_utils.railway_settings import (
    BY_OPTION,
    SETTING_NAMES,
    SETTINGS,
    api_value,
    kind_text,
    typed,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway_waiter import IN_PROGRESS_STATUSES, SUCCESS_STATUSES

CONFIG_FILE_SCHEMA = "https://railway.com/railway.schema.json"
# Read from an app's file, never written: Railway's file format deprecated it for multiRegionConfig.
READ_ONLY_CONFIG_PATHS = (("deploy", "numReplicas"),)


SHARED_REFERENCE = re.compile(r"\$\{\{\s*shared\.([A-Za-z0-9_]+)\s*\}\}")


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


def is_sealed(value) -> bool:
    """Whether Railway listed a variable as sealed: with a name but without a value (null), as it never returns one."""
    return value is None


def variable_changes(current, desired, replace, sealed=(), remembered=None):
    """(added, updated, removed) names: what a batched upsert of desired over current changes.

    A sealed variable is write-only: it is updated only when its value here is not the one sent last time
    (``remembered``: {name: whether it is, for the names whose digest is remembered}; no digest sends it once).
    A name in ``sealed`` that is not sealed on Railway is updated, which seals it.
    """
    remembered = remembered or {}

    def differs(name):
        if is_sealed(current[name]):
            return not remembered.get(name)
        return current[name] != desired[name] or name in sealed
    added = sorted(name for name in desired if name not in current)
    updated = sorted(name for name in desired if name in current and differs(name))
    removed = sorted(name for name in current if name not in desired) if replace else []
    return added, updated, removed


def sealed_names(current, desired, sealed=()):
    """(sealed: the declared names that are or become sealed, not compared; to_seal: those not sealed yet)."""
    to_seal = sorted(name for name in desired if name in sealed and not is_sealed(current.get(name, "")))
    return sorted(set(to_seal) | set(name for name in desired if name in current and is_sealed(current[name]))), to_seal


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
        if value is None or option not in BY_OPTION:
            continue
        try:
            result[option] = typed(option, value)
        except (TypeError, ValueError):
            raise PlanError("setting %s must be %s, not %r" % (option, kind_text(option), value))
    return result


def config_document(settings):
    """The same settings as a railway.json document; numbers stay numbers, as Railway's parser wants."""
    document = {"$schema": CONFIG_FILE_SCHEMA, "build": {}, "deploy": {}}
    for setting in SETTINGS:
        value = settings.get(setting.option)
        if setting.config_path and setting.config_path not in READ_ONLY_CONFIG_PATHS and value not in (None, "", [], {}):
            section, field = setting.config_path
            document[section][field] = api_value(setting.option, value)
    return document


def setting_changes(current, desired):
    """{option: {before, after}} of the managed settings that differ from Railway's ('' or [] means unset)."""
    changes = {}
    for option, value in desired.items():
        wanted = None if value in ("", []) else value
        if current.get(option) != wanted:
            changes[option] = {"before": current.get(option), "after": wanted}
    return changes


def setting_text(changes, sources=None):
    """One line per changed setting, naming where its new value comes from (inventory, profile, a config file)."""
    sources = sources or {}
    return ["%s: %s -> %s%s" % (option, json.dumps(change["before"]), json.dumps(change["after"]),
                                " (from %s)" % sources[option] if option in sources else "")
            for option, change in sorted(changes.items())]


def serving_deployment(latest, history=None):
    """The deployment that serves: the latest one, or (when it failed or still runs) the newest serving one."""
    if latest is None or is_serving(latest.get("status")):
        return latest
    for deployment in history or []:
        if is_serving(deployment.get("status")):
            return deployment
    return None


def source_identity(kind, serving, digest=None, commit=None, connection=None):
    """(wanted, serving) identities of the source: what this run deploys, and what the serving deployment carries.

    A followed repository is compared by repository and branch, not commit: Railway deploys each push itself."""
    meta = (serving or {}).get("meta") or {}
    if kind == "repo":
        return ("repo %(repo)s (branch %(branch)s)" % connection,
                "repo %s (branch %s)" % (meta["repo"], meta.get("branch")) if serving and meta.get("repo") else None)
    if kind == "image":
        return "image %s" % connection["image"], ("image %s" % meta["image"] if serving and meta.get("image") else None)
    if kind == "upload":
        return "sha256:%s" % digest, (meta.get("message") if serving else None)
    if kind == "commit":
        return (commit or "").lower(), ((meta.get("commitHash") or "").lower() if serving else None)
    return "the latest deployment", "the latest deployment"


def variables_plan(current, desired, replace, sealed=(), remembered=None):
    """The plan of one scope's variables: names added, updated and removed, the sealed ones (not compared)."""
    added, updated, removed = variable_changes(current, desired, replace, sealed, remembered)
    return dict(zip(("sealed", "to_seal"), sealed_names(current, desired, sealed)), added=added, updated=updated,
                removed=removed, count=len(desired), differs=bool(added or updated or removed))


def shared_references(values):
    """The shared variable names these values refer to (``${{shared.X}}``, kept literal: Railway renders them)."""
    return set(name for value in values if value for name in SHARED_REFERENCE.findall(str(value)))


def plan(current_variables, desired_variables, replace, current_settings, settings, latest, serving,
         source_kind, source_digest=None, commit=None, force=False, connection=None, sources=None, sealed=(), remembered=None):
    """What a run changes and why it deploys; names and settings only, never a variable's value."""
    variables = variables_plan(current_variables, desired_variables, replace, sealed, remembered)
    settings_changed = setting_changes(current_settings, settings)
    wanted_source, serving_source = source_identity(source_kind, serving, source_digest, commit, connection)
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
    if variables["differs"]:
        reasons.append("variables change")
    if settings_changed:
        reasons.append("settings change")
    return {
        "variables": variables,
        "settings": settings_changed,
        "settings_text": setting_text(settings_changed, sources),
        "source": {"kind": source_kind, "wanted": wanted_source, "serving": serving_source},
        "previous_deployment_id": serving.get("id") if serving else None,
        "source_reasons": source_reasons,
        "deploy_reasons": reasons,
    }


def drift(current_variables, declared_variables, current_settings, settings, sealed=(), remembered=None):
    """How Railway differs from this configuration, by name: added there, removed there, changed values, settings.

    Sealed variables are not compared (Railway never returns their values): they are listed as ``sealed``, those whose
    value here differs from the one sent last as ``sealed_new_here`` (the next run sends them), and the declared
    ``sealed`` names Railway holds unsealed as ``to_seal``. ``differs`` when anything differs (the module's ``changed``).
    """
    in_both = [name for name in declared_variables if name in current_variables]
    to_seal = sealed_names(current_variables, declared_variables, sealed)[1]
    found = {
        "added": sorted(name for name in current_variables if name not in declared_variables),
        "removed": sorted(name for name in declared_variables if name not in current_variables),
        "changed": sorted(name for name in in_both if not is_sealed(current_variables[name])
                          and current_variables[name] != declared_variables[name]),
        "sealed": sorted(name for name in in_both if is_sealed(current_variables[name])),
        "sealed_new_here": sorted(name for name, same in (remembered or {}).items()
                                  if not same and is_sealed(current_variables.get(name, ""))),
        "to_seal": [name for name in to_seal if name in current_variables],
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
    configuration = context.get("configuration") or {}
    if _failed(configuration):
        return {"step": "configuration", "msg": "Nothing was deployed: step configuration (setting the variables and settings of "
                "%s, one request) failed: %s" % (service, _no_dot(configuration.get("msg")))}
    if _failed(variables):
        return {"step": "variables", "msg": "Nothing was deployed: step variables (setting the variables of %s) failed: %s"
                % (service, variables.get("msg"))}
    if _failed(settings):
        return {"step": "settings", "msg": "Nothing was deployed: step settings (configuring service %s) failed: %s; "
                "changed variables take effect with the next deployment" % (service, _no_dot(settings.get("msg")))}
    connection = context.get("source_connection") or {}
    if _failed(connection):
        return {"step": "source", "msg": "Nothing was deployed: step source (connecting service %s to its repository or image) "
                "failed: %s; changed variables and settings take effect with the next deployment" % (service, _no_dot(connection.get("msg")))}
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
