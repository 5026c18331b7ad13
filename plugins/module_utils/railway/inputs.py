# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inputs of a release, checked before any request, in the order a user fixes them.

railway_release's check (the railway role's validation) and its apply read the same: variables from their layers and
the env file, settings from the inventory over the app's railway.json / railway.toml over its profile, the
processes, the environment contract and the health token.
"""

from __future__ import annotations

import os

from ansible_collections.backendops.stack.plugins.module_utils.env_contract import failure_message, validate
from ansible_collections.backendops.stack.plugins.module_utils.railway import config_file
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError, desired_settings
from ansible_collections.backendops.stack.plugins.module_utils.railway.processes import DEFAULT_DRAINING_SECONDS, DEFAULT_SERVICE_NAME, process_specs
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import layered, settings_problem
from ansible_collections.backendops.stack.plugins.module_utils.railway.source import FULL_SHA
from ansible_collections.backendops.stack.plugins.module_utils.railway.variables import compose_variables, shared_variables, unknown_sealed


def check_inputs(params):
    """Everything a release needs, checked in the order a user fixes it; raises PlanError with one line.

    Returns {variables (secret values), settings, config_document, contract (env_contract's result), health_token,
    env_file_values}. The messages name railway_release's options (a caller adds its own wording, fail_msg).
    """
    source, path = params["source"], params.get("path")
    if source == "commit" and not FULL_SHA.match(str(params.get("commit") or "")):
        raise PlanError("commit must be the full 40 character SHA of the commit to deploy with source=commit, "
                        "not '%s'" % (params.get("commit") or ""))
    is_dir = bool(path) and os.path.isdir(path)
    if source == "upload" and not is_dir:
        raise PlanError("path %s is not a directory; point it at the app's source (the directory holding "
                        "package.json), or deploy with source=commit or redeploy." % path)
    profile = params.get("profile") or {}
    if is_dir and profile.get("failed"):
        raise PlanError("%s (path %s)" % (profile.get("msg") or "the app's profile cannot be read", path))
    resolved = release_settings(params)
    settings = resolved["settings"]
    problem = settings_problem(settings)
    if problem:
        raise PlanError(problem)
    processes = release_processes(params, params.get("service") or "web", settings)
    variables, from_file = compose_variables(params)
    shared = shared_variables(params)
    problem = unknown_sealed(params.get("sealed") or [], set(variables) | set(shared),
                             "variables of the service or the shared variables")
    if problem:
        raise PlanError(problem)
    contract = validate(variables, params.get("extra") or [], allow_references=True,
                        contract=params.get("contract"))
    if contract.errors:
        raise PlanError(failure_message(contract.errors))
    token = health_token(params, variables)
    return dict(resolved, variables=variables, shared_variables=shared, config_document=config_file.config_document(settings),
                contract=contract, health_token=token, env_file_values=from_file, processes=processes)


def health_token(params: dict, variables: dict) -> str | None:
    """The bearer token of the detailed health view: health_token, else the value of the variable the app's profile
    names (health_details.token); None when the view is not read. PlanError when it cannot be known here."""
    details = params.get("health_details") or {}
    if not (params.get("verify_health") and details.get("path")):
        return None
    name = details.get("token")
    token = params.get("health_token") or (variables.get(name) if name else None) or ""
    # A Railway reference is rendered by Railway only; its value is unknown here.
    if not token or "${{" in token:
        holder = "variable %s (health_details.token)" % name if name else "no variable (health_details.token)"
        raise PlanError("The detailed health view (%s) needs its bearer token: %s is %s, so set health_token or "
                        "verify_health=false." % (details["path"], holder, "a Railway reference" if token else "not set"))
    return token


def release_settings(params: dict) -> dict:
    """{settings, sources, config_file, config_file_unset}: the inventory's settings over the app's railway.json or
    railway.toml over the profile's; ``sources`` names each value's layer, ``config_file_unset`` what the file holds
    that the API cannot set."""
    inventory = desired_settings(params["settings"], params.get("settings_extra"))
    profile = desired_settings(params.get("profile_settings"))
    path, from_file, unset = config_file_path(params), {}, []
    if path:
        try:
            from_file, unset = config_file.read(path, params.get("environment"))
        except config_file.ConfigFileError as exc:
            raise PlanError(str(exc))
    label = config_file_label(path, params.get("path"))
    settings, sources = layered([("inventory", inventory), (label, from_file), ("profile", profile)])
    return {"settings": settings, "sources": sources, "config_file": path, "config_file_unset": unset}


def config_file_path(params: dict) -> str | None:
    """The app's railway.json / railway.toml to read: config_file_source, else the one in the source
    directory; never the railway.json this release writes (config_file), which holds its own output."""
    source = params.get("config_file_source")
    if source == "":
        return None
    try:
        directory = params.get("path") if params.get("path") and os.path.isdir(params["path"]) else None
        path = config_file.find(source, directory)
    except config_file.ConfigFileError as exc:
        raise PlanError(str(exc))
    written = params.get("config_file")
    if path and written and os.path.realpath(path) == os.path.realpath(written):
        return None
    return path


def config_file_label(path: str | None, directory: str | None) -> str:
    """How the plan names the file: its path within the source directory, else as found."""
    if path and directory and os.path.realpath(path).startswith(os.path.realpath(directory) + os.sep):
        return os.path.relpath(os.path.realpath(path), os.path.realpath(directory))
    return path or "config file"


def unset_line(resolved: dict) -> str | None:
    """The one line naming what the app's config file holds that the API cannot set (None when nothing)."""
    if not resolved.get("config_file_unset"):
        return None
    return ("%s holds what Railway's API cannot set, so it is not applied (Railway no longer reads the file): %s"
            % (resolved["config_file"], ", ".join(resolved["config_file_unset"])))


def release_processes(params: dict, service: str, settings: dict) -> list[dict]:
    """The process services of a release (processes.process_specs), checked with its other inputs."""
    processes = params.get("processes") or []
    if processes and params.get("config_file"):
        raise PlanError("config_file cannot go with the app's processes (%s): every service that gets the upload "
                        "reads its railway.json, so each process would start as web; leave config_file unset (the "
                        "settings go through Railway's API)" % ", ".join(str(p.get("name")) for p in processes))
    return process_specs(processes, service, settings, params.get("process_service") or DEFAULT_SERVICE_NAME,
                         params.get("process_draining_seconds", DEFAULT_DRAINING_SECONDS))
