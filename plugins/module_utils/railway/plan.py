# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plan of a Railway release: desired settings, variable and setting differences, drift, and whether to deploy.

Pure functions over what was read; the Release, the drift report, railway_variables and railway_service compare with
them, so the comparison rules live in one place.
"""

from __future__ import annotations

import json
import re

from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import (
    BY_OPTION,
    SETTING_NAMES,
    kind_text,
    typed,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.statuses import SUCCESS_STATUSES


SHARED_REFERENCE = re.compile(r"\$\{\{\s*shared\.([A-Za-z0-9_]+)\s*\}\}")


class PlanError(ValueError):
    """Bad input, named with its fix; raised before anything is read or sent."""


def is_serving(status):
    """Whether a deployment in this status serves the service (Railway's SUCCESS, or asleep after inactivity)."""
    return status in SUCCESS_STATUSES


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
    return sorted(set(to_seal) | {name for name in desired if name in current and is_sealed(current[name])}), to_seal


def desired_settings(settings, extra=None):
    """The settings to manage, typed like railway_service's options; unset (None) ones are left as they are.

    '' or [] stays as given: it removes the setting.
    """
    wanted = dict(settings or {})
    wanted.update(extra or {})
    unknown = sorted(set(extra or {}) - set(SETTING_NAMES))
    if unknown:
        raise PlanError("settings_extra has unknown settings %s; known: %s"
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
    return {name for value in values if value for name in SHARED_REFERENCE.findall(str(value))}


def plan(current_variables, desired_variables, replace, current_settings, settings, latest, serving,
         source_kind, source_digest=None, commit=None, force=False, connection=None, sources=None, sealed=(), remembered=None):
    """What a run changes and why it deploys; names and settings only, never a variable's value."""
    variables = variables_plan(current_variables, desired_variables, replace, sealed, remembered)
    settings_changed = setting_changes(current_settings, settings)
    wanted_source, serving_source = source_identity(source_kind, serving, source_digest, commit, connection)
    reasons = []
    if force:
        reasons.append("force is set")
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


def service_variables(layers, drop=()):
    """Variables as Railway stores them (text; booleans as true/false), later layers winning; None leaves one out.

    ``drop`` names are removed from the first layer only (the defaults), so an explicitly given variable stays.
    """
    merged = {name: value for name, value in layers[0].items() if name not in drop} if layers else {}
    for layer in layers[1:]:
        merged.update(layer)
    return {str(name): ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in merged.items() if value is not None}
