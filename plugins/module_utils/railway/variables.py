# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The variables step: what a service (or the environment's shared scope) gets, compared and sent.

railway_variables applies it alone; the Release applies it for web, its processes and the shared variables.
"""

from __future__ import annotations

import re

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError, parse
from ansible_collections.backendops.stack.plugins.module_utils.railway.client import RailwayTarget
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError, is_sealed, service_variables, variable_changes, variable_text
from ansible_collections.backendops.stack.plugins.module_utils.railway.sealed import SealedMemory
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import masked


# Railway accepts any name, but a running app reads its environment through shells and libraries that do not.
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def compose_variables(params):
    """(variables as Railway stores them, the env file's values): defaults less drop, then variables, then the file."""
    from_file = {}
    if params.get("env_file"):
        try:
            with open(params["env_file"]) as stream:
                text = stream.read()
        except OSError:
            raise PlanError("env_file %s is not a readable file; fix the path or leave env_file unset."
                            % params["env_file"])
        try:
            from_file = parse(text)
        except DotenvError as exc:
            raise PlanError("env_file %s cannot be read: %s" % (params["env_file"], exc))
    variables = service_variables([params.get("defaults") or {}, params["variables"] or {}, from_file],
                                  params.get("drop") or ())
    variables = {name: variable_text(name, value) for name, value in variables.items()}
    problem = bad_variable_names(variables)
    if problem:
        raise PlanError(problem)
    return variables, from_file


def shared_variables(params: dict) -> dict:
    """The environment's shared variables to set (shared_variables), as Railway stores them."""
    shared = {str(name): variable_text(name, value) for name, value in (params.get("shared_variables") or {}).items()}
    problem = bad_variable_names(shared)
    if problem:
        raise PlanError("shared_variables: " + problem)
    return shared


def bad_variable_names(names):
    """The one-line problem with these variable names, or None."""
    bad = sorted(str(name) for name in names if not VARIABLE_NAME.match(str(name)))
    if bad:
        return "bad variable name(s) %s: use letters, digits and '_', not starting with a digit" % ", ".join(repr(n) for n in bad)
    return None


def unknown_sealed(sealed, variables, where):
    """The one-line problem with sealed names that are not among the variables, or None."""
    unknown = sorted(set(sealed) - set(variables))
    if unknown:
        return "sealed names %s, which %s not among the %s: a variable is sealed with its value" % (
            ", ".join(unknown), "is" if len(unknown) == 1 else "are", where)
    return None


def plan_changes(current, desired, state, replace, sealed=(), remembered=None):
    """Compare current with desired variables; return (upserts, added, updated, removed)."""
    if state == "absent":
        return {}, [], [], sorted(name for name in desired if name in current)
    added, updated, removed = variable_changes(current, desired, replace, sealed, remembered)
    return {name: desired[name] for name in added + updated}, added, updated, removed


def sealed_memory(state_dir: str | None, target: RailwayTarget, current: dict, sealed=()) -> SealedMemory | None:
    """The digests of the target scope's sealed variables, when one is involved (no file is touched otherwise)."""
    if not sealed and not any(is_sealed(value) for value in current.values()):
        return None
    return SealedMemory(state_dir, target.project_id, target.environment_id, target.service_id)


def masked_diff(current, added, updated, removed):
    """Names with masked values; a changed value is marked so the diff shows a line for it."""
    kept = [name for name in current if name not in set(removed)]
    return {"before": masked(current), "after": masked(kept + [name for name in added if name not in kept], changed=updated)}


def variable_scope(state_dir: str | None, target: RailwayTarget, current: dict, desired: dict, sealed=None) -> dict:
    """One scope's variables: where, what Railway has, what is wanted, which are sealed and what was sent last."""
    sealed = [name for name in sealed or [] if name in desired]
    memory = sealed_memory(state_dir, target, current, sealed)
    return {"target": target, "current": current, "desired": desired, "sealed": sealed, "memory": memory,
            "remembered": memory.compare(desired) if memory is not None else {}}


def set_variables(railway, target, current, desired, state="present", replace=False, skip_deploys=True, sealed=(),
                  memory=None, pending=None):
    """Send what differs (one batched upsert, one delete per removed name; none in check mode); return the result.

    Sealed ones (named in ``sealed``, or sealed on Railway) go in one sealing patch, and ``memory`` (SealedMemory)
    remembers the digests of their values. With ``pending`` (a dict) the plain upsert is left in it, to be sent with
    the settings in one request.
    """
    client = railway.client
    remembered = memory.compare(desired) if memory is not None and state == "present" else {}
    upserts, added, updated, removed = plan_changes(current, desired, state, replace, sealed, remembered)
    to_seal = {name: value for name, value in upserts.items() if name in sealed or is_sealed(current.get(name, ""))}
    plain = {name: value for name, value in upserts.items() if name not in to_seal}
    changed = bool(upserts or removed)
    if changed and not railway.check_mode:
        if plain and pending is not None:
            pending["variables"] = plain
        elif plain:
            client.upsert_variables(target.project_id, target.environment_id, target.service_id, plain,
                                    skip_deploys=skip_deploys)
        if to_seal:
            client.seal_variables(target.environment_id, target.service_id, to_seal, skip_deploys=skip_deploys)
        for name in removed:
            client.delete_variable(target.project_id, target.environment_id, target.service_id, name)
    if memory is not None and not railway.check_mode:
        memory.remember(to_seal, forget=removed)
    names = sorted((set(current) | set(added)) - set(removed))
    result = dict(changed=changed, added=added, updated=updated, removed=removed, variable_names=names,
                  sealed=sorted(set(to_seal) | {name for name in names if is_sealed(current.get(name, ""))}))
    if railway.diff_mode:
        result["diff"] = masked_diff(current, added, updated, removed)
    return result
