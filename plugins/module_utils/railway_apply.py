# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Applying to Railway: variables, settings, and a whole release (read, plan, apply, deploy, wait, verify, recover).

railway_variables and railway_service apply their one step with the functions here; railway_release
(action=apply) runs every step with the same functions, railway_deployer's Deployer and railway_release's plan and
recovery, over the one RailwayClient of the module.
"""

from __future__ import annotations

import json
import os
import re
import tempfile

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.backendops.stack.plugins.module_utils import railway_config_file
from ansible_collections.backendops.stack.plugins.module_utils.railway_client import (
    RailwayError,
    RailwayTarget,
    deployment_view,
    domain_list,
    instance_settings,
    log_messages,
    normalize_setting,
)
from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError, parse
from ansible_collections.backendops.stack.plugins.module_utils.env_contract import failure_message, validate
from ansible_collections.backendops.stack.plugins.module_utils.railway_deployer import (
    FULL_SHA,
    Deployer,
    DeployFailed,
    diagnostic_budget,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway_processes import (
    DEFAULT_DRAINING_SECONDS,
    DEFAULT_SERVICE_NAME,
    cron_settings_problem,
    process_specs,
    reference_variables,
    spec_line,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway_provision import (
    ServiceSpec,
    create_service,
    describe_connection,
    refuse_project_token,
    repo_connection,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway_release import (
    SETTING_NAMES,
    PlanError,
    config_document,
    desired_settings,
    is_sealed,
    log_tail,
    plan,
    recovery,
    service_variables,
    serving_deployment,
    shared_references,
    variable_changes,
    variable_text,
    variables_plan,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway_settings import (
    BY_OPTION,
    CHOICES,
    SCALE_SETTINGS,
    api_value,
    layered,
    total_replicas,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway_sealed import SealedMemory
from ansible_collections.backendops.stack.plugins.module_utils.railway_source import SourceError, build_archive
from ansible_collections.backendops.stack.plugins.module_utils.railway_waiter import Waiter

MASK = "********"
# Railway accepts any name, but a running app reads its environment through shells and libraries that do not.
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEALTH_REQUEST_TIMEOUT = 10
CONFIG_FILE_NOTE = ("Railway stopped reading config as code (railway.json) on 2026-12-01; the same settings were set "
                    "through the API, so the file is only a record of them")


# --- the inputs of a release, checked before any request ----------------------------------------------------------

def compose_variables(params):
    """(variables as Railway stores them, the env file's values): defaults less drop, then variables, then the file."""
    from_file = {}
    if params.get("env_file"):
        try:
            with open(params["env_file"]) as stream:
                text = stream.read()
        except (IOError, OSError):
            raise PlanError("railway_env_file %s is not a readable file; fix the path or unset railway_env_file."
                            % params["env_file"])
        try:
            from_file = parse(text)
        except DotenvError as exc:
            raise PlanError("railway_env_file %s cannot be read: %s" % (params["env_file"], exc))
    variables = service_variables([params.get("defaults") or {}, params["variables"] or {}, from_file],
                                  params.get("drop") or ())
    variables = dict((name, variable_text(name, value)) for name, value in variables.items())
    problem = bad_variable_names(variables)
    if problem:
        raise PlanError(problem)
    return variables, from_file


def shared_variables(params: dict) -> dict:
    """The environment's shared variables to set (railway_shared_variables), as Railway stores them."""
    shared = dict((str(name), variable_text(name, value)) for name, value in (params.get("shared_variables") or {}).items())
    problem = bad_variable_names(shared)
    if problem:
        raise PlanError("railway_shared_variables: " + problem)
    return shared


def check_inputs(params):
    """Everything a release needs, checked in the order a user fixes it; raises PlanError with one line.

    Returns {variables (secret values), settings, config_document, contract (env_contract's result), health_token,
    env_file_values}. The messages name the railway role's variables, whose inputs these are.
    """
    source, path = params["source"], params.get("path")
    if source == "commit" and not FULL_SHA.match(str(params.get("commit") or "")):
        raise PlanError("railway_commit_sha must be the full 40 character SHA of the commit to deploy with "
                        "railway_deploy_source=commit, not '%s'" % (params.get("commit") or ""))
    is_dir = bool(path) and os.path.isdir(path)
    if source == "upload" and not is_dir:
        raise PlanError("railway_source_path %s is not a directory; point it at the app's source (the directory holding "
                        "package.json), or deploy with railway_deploy_source=commit or redeploy." % path)
    profile = params.get("profile") or {}
    if is_dir and profile.get("failed"):
        raise PlanError("%s (railway_source_path %s)" % (profile.get("msg") or "the app's profile cannot be read", path))
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
        raise PlanError("railway_sealed_variables " + problem)
    contract = validate(variables, params.get("extra") or [], allow_references=True,
                        contract=params.get("contract"))
    if contract.errors:
        raise PlanError(failure_message(contract.errors))
    token = None
    if params.get("verify_health") and params.get("health_details_path"):
        token = params.get("health_token") or variables.get("HEALTH_TOKEN") or ""
        # A Railway reference is rendered by Railway only; its value is unknown here.
        if not token or "${{" in token:
            raise PlanError("The detailed health view (%s) needs its bearer token: HEALTH_TOKEN is %s, so set "
                            "railway_health_token (from the vault) or railway_verify_health=false."
                            % (params["health_details_path"], "a Railway reference" if token else "not set"))
    return dict(resolved, variables=variables, shared_variables=shared, config_document=config_document(settings),
                contract=contract, health_token=token, env_file_values=from_file, processes=processes)


def release_settings(params: dict) -> dict:
    """{settings, sources, config_file, config_file_unset}: the inventory's settings over the app's railway.json or
    railway.toml over the profile's; ``sources`` names each value's layer, ``config_file_unset`` what the file holds
    that the API cannot set."""
    inventory = desired_settings(params["settings"], params.get("settings_extra"))
    profile = desired_settings(params.get("profile_settings"))
    path, from_file, unset = config_file_path(params), {}, []
    if path:
        try:
            from_file, unset = railway_config_file.read(path, params.get("environment"))
        except railway_config_file.ConfigFileError as exc:
            raise PlanError(str(exc))
    label = config_file_label(path, params.get("path"))
    settings, sources = layered([("inventory", inventory), (label, from_file), ("profile", profile)])
    return {"settings": settings, "sources": sources, "config_file": path, "config_file_unset": unset}


def config_file_path(params: dict) -> str | None:
    """The app's railway.json / railway.toml to read: railway_config_file_source, else the one in the source
    directory; never the railway.json this release writes (railway_config_file), which holds its own output."""
    source = params.get("config_file_source")
    if source == "":
        return None
    try:
        directory = params.get("path") if params.get("path") and os.path.isdir(params["path"]) else None
        path = railway_config_file.find(source, directory)
    except railway_config_file.ConfigFileError as exc:
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
    """The process services of a release (railway_processes.process_specs), checked with its other inputs."""
    processes = params.get("processes") or []
    if processes and params.get("config_file"):
        raise PlanError("railway_config_file=true cannot go with the app's processes (%s): every service that gets the "
                        "upload reads its railway.json, so each process would start as web; leave railway_config_file "
                        "off (the settings go through Railway's API)" % ", ".join(str(p.get("name")) for p in processes))
    return process_specs(processes, service, settings, params.get("process_service") or DEFAULT_SERVICE_NAME,
                         params.get("process_draining_seconds", DEFAULT_DRAINING_SECONDS))


# --- variables -------------------------------------------------------------------------------------------------------

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
    return dict((name, desired[name]) for name in added + updated), added, updated, removed


def sealed_memory(state_dir: str | None, target: RailwayTarget, current: dict, sealed=()) -> SealedMemory | None:
    """The digests of the target scope's sealed variables, when one is involved (no file is touched otherwise)."""
    if not sealed and not any(is_sealed(value) for value in current.values()):
        return None
    return SealedMemory(state_dir, target.project_id, target.environment_id, target.service_id)


def masked_diff(current, added, updated, removed):
    """Names with masked values; a changed value is marked so the diff shows a line for it."""
    before = dict((name, MASK) for name in current)
    after = dict(before)
    for name in removed:
        after.pop(name, None)
    for name in added:
        after[name] = MASK
    for name in updated:
        after[name] = MASK + " (changed)"
    return {"before": before, "after": after}


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
    to_seal = dict((name, value) for name, value in upserts.items() if name in sealed or is_sealed(current.get(name, "")))
    plain = dict((name, value) for name, value in upserts.items() if name not in to_seal)
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
                  sealed=sorted(set(to_seal) | set(name for name in names if is_sealed(current.get(name, "")))))
    if railway.diff_mode:
        result["diff"] = masked_diff(current, added, updated, removed)
    return result


# --- settings --------------------------------------------------------------------------------------------------------

def settings_problem(settings):
    """Setting values Railway would reject less clearly; returns a message or None."""
    path = settings.get("healthcheck_path")
    if path and not path.startswith("/"):
        return "healthcheck_path must start with /, for example /api/health, not %r" % path
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


def needs_scale(wanted: dict) -> bool:
    """Whether the settings need the scale read: limits or regions managed, or more than one instance (volume rule)."""
    return any(option in wanted for option in SCALE_SETTINGS) or (total_replicas(wanted) or 0) > 1


def current_settings(client, environment_id: str, service_id: str, wanted: dict, instance: dict | None = None) -> tuple:
    """(settings as Railway has them, whether the service mounts a volume); the scale read only when ``wanted`` needs it."""
    if instance is None:
        instance = client.service_instance(environment_id, service_id)
    scale = client.service_scale(environment_id, service_id) if needs_scale(wanted) else {}
    return instance_settings(instance, scale), bool(scale.get("volume"))


def scale_problem(service: str, wanted: dict, volume: bool) -> str | None:
    """Railway's rule that a service with a volume runs one instance, as one line (None when it holds)."""
    instances = total_replicas(wanted) or 1
    if volume and instances > 1:
        return ("service %s mounts a volume, and Railway runs a service with a volume as one instance, so it cannot run "
                "%d (replicas/regions); set railway_replicas to 1 and railway_regions to one replica in all, or move the "
                "data off the volume" % (service, instances))
    return None


def apply_settings(railway, environment_id, service_id, wanted, current=None, pending=None):
    """(current settings, changes): read (unless given), compare, and outside check mode send only what differs (the
    instance's fields left in ``pending`` when given, to go with the variables in one request)."""
    if current is None:
        current = current_settings(railway.client, environment_id, service_id, wanted)[0]
    # Compared as read back ('' and [] are "not set"), so a removed setting is not sent again on every run.
    wanted = dict((option, normalize_setting(option, value)) for option, value in wanted.items())
    changes = dict((option, value) for option, value in wanted.items() if current.get(option) != value)
    if changes and not railway.check_mode:
        # None reaches Railway as null, which removes the setting. Limits have a mutation of their own.
        for limits, send in ((False, railway.client.update_service_instance), (True, railway.client.update_service_limits)):
            fields = dict((BY_OPTION[option].field, api_value(option, value)) for option, value in changes.items()
                          if (BY_OPTION[option].read == "limits") == limits)
            if fields and pending is not None and not limits:
                pending["settings"] = fields
            elif fields:
                send(environment_id, service_id, fields)
    return current, changes


def settings_result(railway, wanted, current, changes, **extra):
    settings = dict(current)
    settings.update(changes)
    result = dict(changed=bool(changes), changed_settings=sorted(changes), settings=settings, **extra)
    if railway.diff_mode:
        result["diff"] = {
            "before": dict((option, current.get(option)) for option in wanted),
            "after": dict((option, settings[option]) for option in wanted),
        }
    return result


# --- health at the service's domain ----------------------------------------------------------------------------------

def http_get(url, token=None, validate_certs=True):
    """{status, json} of a GET of the app (not of Railway's API); status -1 and msg when nothing answered."""
    headers = {"Authorization": "Bearer " + token} if token else {}
    try:
        response = open_url(url, headers=headers, timeout=HEALTH_REQUEST_TIMEOUT, validate_certs=validate_certs)
        status, body = response.getcode(), response.read()
    except HTTPError as exc:
        status, body = exc.code, b""
    except (URLError, OSError, ValueError) as exc:
        return {"status": -1, "msg": "no answer (%s)" % exc}
    try:
        document = json.loads(body.decode("utf-8")) if body else None
    except ValueError:
        document = None
    return {"status": status, "json": document if isinstance(document, dict) else {}}


def wait_until_healthy(url, attempts, delay, validate_certs=True):
    """GET url until it answers 200, ``attempts`` times at most, ``delay`` s apart (a fresh domain may answer 404)."""
    delay = max(float(delay), 0.1)
    waiter = Waiter(delay * (max(int(attempts), 1) - 1), interval=delay, max_interval=delay, factor=1)
    outcome = waiter.wait(lambda: http_get(url, validate_certs=validate_certs), lambda answer: answer["status"] == 200)
    health = dict(outcome.value, attempts=outcome.polls, url=url)
    if health["status"] != 200:
        health["failed"] = True
    return health


def details_problem(answer, deployment_id, url):
    """Why the detailed health view is not healthy (None when it is); it names no secret."""
    status = answer.get("status")
    if status != 200:
        hint = " (the token does not match the HEALTH_TOKEN of the serving deployment)" if status in (401, 403) else ""
        return "GET %s with the health token answered %s%s" % (
            url, ("HTTP %s" % status) if status and status > 0 else answer.get("msg", "nothing"), hint)
    details = answer.get("json") or {}
    healthy = (details.get("status") == "ok" and details.get("database", "up") == "up"
               and details.get("redis", "up") == "up")
    # The emulator names the deployment that answers; a deployment of this run must be the one serving.
    served_by = details.get("deploymentId")
    if healthy and (deployment_id is None or served_by is None or served_by == deployment_id):
        return None
    return "The detailed health view reports status=%s, database=%s, redis=%s, served by deployment %s" % (
        details.get("status", "?"), details.get("database", "?"), details.get("redis", "?"), served_by or "?")


def health_summary(details):
    return ", ".join("%s %s" % (key, details[key]) for key in ("status", "database", "redis", "version") if key in details)


# --- railway.json ----------------------------------------------------------------------------------------------------

def write_config_file(module, path, document, check_mode):
    """Write railway.json when its content differs (atomically, mode 0644); True when it changed (or would)."""
    content = json.dumps(document, indent=2) + "\n"
    try:
        with open(path) as existing:
            if existing.read() == content:
                return False
    except (IOError, OSError):
        pass
    if check_mode:
        return True
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".railway.json.")
    with os.fdopen(handle, "w") as stream:
        stream.write(content)
    os.chmod(temporary, 0o644)
    module.atomic_move(temporary, path)
    return True


# --- a whole release -------------------------------------------------------------------------------------------------

class ReleaseFailed(DeployFailed):
    """The release failed: ``msg`` is its one line; ``result`` holds the failure, the log tail and the rollback."""


class Release(object):
    """One release of a service and its processes: read, plan, set variables and settings, deploy, wait, verify; on
    failure recover.

    The web service is deployed, waited for and verified first (its pre-deploy command migrates the database once);
    then each worker and cron process's service gets the same source (``railway_processes``). ``options`` are
    railway_release's module options. ``run()`` returns the result, or raises ReleaseFailed with the one-line message
    (log tail, failure and rollback in its result). Variable values never enter the result.
    """

    def __init__(self, railway, options, desired_variables, settings, config_document, sources=None, notes=(), shared=None):
        self.railway = railway
        self.client = railway.client
        self.options = options
        self.desired = desired_variables
        # The environment's shared variables to set (only these: others' shared variables are left alone).
        self.shared = shared or {}
        self.scopes = {}
        self.settings = settings
        # Where each setting's value comes from (inventory, a config file, profile) and lines about that file.
        self.sources = sources or {}
        self.notes = list(notes)
        self.config_document = config_document
        self.result = {"changed": False}
        self.target = None
        # Each process's spec, its service's target and what was read, planned and done (see read_processes).
        self.processes = []
        # The repository's branch or image the release follows (source auto, repo or image), see source_to_follow.
        self.connection = None
        # What each step did, for railway_release.recovery (results without secret values).
        self.context = {"service": options["service"], "pre_deploy_command": settings.get("pre_deploy_command"),
                        "healthcheck_path": settings.get("healthcheck_path"), "health_path": options["health_path"],
                        "deploy_timeout": options["wait_timeout"], "rollback_on_failure": options["rollback_on_failure"]}

    def stop(self, msg, **extra):
        self.result.update(extra)
        self.publish_processes()
        # The message of a step that went through gives way to the one line of the failure.
        self.result.pop("msg", None)
        raise ReleaseFailed(msg, self.result)

    # --- read and plan -----------------------------------------------------------------------------------------------

    def read(self):
        options = self.options
        try:
            # The project's services are listed too when processes need their services found by name.
            self.target = target = self.railway.resolve(options["service"], list_services=bool(options.get("processes")))
            instance, current = self.client.service_state(target.project_id, target.environment_id, target.service_id,
                                                          unrendered=True)
            latest, history = self.deployments_of(target, instance)
            settings, volume = current_settings(self.client, target.environment_id, target.service_id, self.settings,
                                                instance)
            self.scopes["service"] = self.scope(target, current, self.desired)
            if self.shared:
                shared_target = RailwayTarget(target.project, target.environment, None, [], [])
                self.scopes["shared"] = self.scope(shared_target, self.client.variables(
                    target.project_id, target.environment_id, None, unrendered=True), self.shared)
        except RailwayError as exc:
            self.stop("Nothing was deployed: step lookup (reading service %s from Railway) failed: %s"
                      % (options["service"], exc), step="lookup", **exc.details)
        try:
            options["source"], self.connection = source_to_follow(options, instance)
        except PlanError as exc:
            self.stop(str(exc), step="lookup")
        problem = scale_problem(target.service["name"], self.settings, volume)
        if problem:
            self.stop("Nothing was deployed: %s" % problem, step="settings")
        domains = domain_list(instance.get("domains"))
        self.domain = domains[0]["domain"] if domains else None
        self.result["target"] = dict(target.as_dict(), domain=self.domain,
                                     url="https://" + self.domain if self.domain else None)
        return current, settings, latest, history

    def scope(self, target: RailwayTarget, current: dict, desired: dict) -> dict:
        return variable_scope(self.options.get("sealed_state_dir"), target, current, desired, self.options.get("sealed"))

    def set_scope(self, scope: dict, pending: dict | None = None) -> dict:
        return set_variables(self.railway, scope["target"], scope["current"], scope["desired"],
                             replace=self.options["replace"] and scope["target"].service_id is not None,
                             skip_deploys=True, sealed=scope["sealed"], memory=scope["memory"], pending=pending)

    def plan_shared(self, the_plan: dict) -> dict | None:
        """The shared variables' plan; a change of one the service refers to is a reason to deploy it."""
        if "shared" not in self.scopes:
            return None
        scope = self.scopes["shared"]
        shared = variables_plan(scope["current"], scope["desired"], False, scope["sealed"], scope["remembered"])
        referred = sorted(set(shared["added"] + shared["updated"]) & shared_references(self.desired.values()))
        if referred:
            the_plan["deploy_reasons"].append("the shared variables it refers to change (%s)" % ", ".join(referred))
        return shared

    def deployments_of(self, target, instance):
        """(latest deployment, recent ones): the recent ones only when the latest does not serve."""
        latest = deployment_view(instance.get("latestDeployment"))
        # Rare: the latest deployment failed or still runs; an older one serves, to compare with and roll back to.
        if latest is None or latest["serving"]:
            return latest, []
        return latest, [deployment_view(found) for found in self.client.deployments(
            target.project_id, target.environment_id, target.service_id, first=20)]

    def read_processes(self):
        """Each process's service as Railway has it, or as it will be created when provision_processes is set."""
        options, target = self.options, self.target
        web = target.service["name"]
        try:
            specs = process_specs(options.get("processes"), web, self.settings, options["process_service"],
                                  options["process_draining_seconds"])
        except PlanError as exc:
            self.stop(str(exc), step="lookup")
        # Web's values are stored once, in web: each process refers to them (Railway renders them into its deployments).
        desired = reference_variables(web, self.desired)
        for spec in specs:
            found = named(target.services, spec["service"])
            if found is None and not options["provision_processes"]:
                self.stop("Nothing was deployed: step lookup: service %s of process %s does not exist in project %s: set "
                          "railway_provision=true to create it (from %s's source), or leave it out of railway_processes"
                          % (spec["service"], spec["name"], target.project["name"], web), step="lookup")
            try:
                if found is None:
                    refuse_project_token(self.client, "service %s of process %s" % (spec["service"], spec["name"]))
            except RailwayError as exc:
                self.stop("Nothing was deployed: step lookup: %s" % exc, step="lookup")
            process = dict(spec, desired=desired, created=False, history=[],
                           target=RailwayTarget(target.project, target.environment,
                                                dict(found) if found else {"id": None, "name": spec["service"]}, [], []))
            self.processes.append(process)
            if found is None:
                process.update(current={}, current_settings=dict((option, None) for option in SETTING_NAMES), latest=None)
                continue
            try:
                instance, process["current"] = self.client.service_state(
                    target.project_id, target.environment_id, found["id"], unrendered=True)
                process["latest"], process["history"] = self.deployments_of(process["target"], instance)
                process["current_settings"], volume = current_settings(
                    self.client, target.environment_id, found["id"], spec["settings"], instance)
            except RailwayError as exc:
                self.stop("Nothing was deployed: step lookup (reading service %s of process %s from Railway) failed: %s"
                          % (spec["service"], spec["name"], exc), step="lookup", **exc.details)
            problem = scale_problem(spec["service"], spec["settings"], volume)
            if problem:
                self.stop("Nothing was deployed: %s" % problem, step="settings")
            # Its variables are references, never sealed here; one sealed in the dashboard is compared by digest.
            process["scope"] = self.scope(process["target"], process["current"], process["desired"])

    def creation_spec(self, process):
        """How a missing process service is created: from web's source (repository and branch, or image), or empty."""
        options = self.options
        return ServiceSpec(process["service"], source={"repo": options.get("process_source_repo"),
                                                       "image": options.get("process_source_image")},
                           branch=options.get("process_source_branch"))

    def plan_processes(self, web_plan):
        options = self.options
        # A reference is rendered when a deployment starts: new values of web's variables need a new deployment.
        updated = [name for name in web_plan["variables"]["updated"] if name in self.desired]
        for process in self.processes:
            serving = serving_deployment(process["latest"], process["history"])
            process["plan"] = plan(process["current"], process["desired"], options["replace"], process["current_settings"],
                                   process["settings"], process["latest"], serving, options["source"],
                                   source_digest=self.result.get("source_digest"), commit=options["commit"],
                                   force=options["force"], connection=self.connection,
                                   remembered=(process.get("scope") or {}).get("remembered"))
            if updated:
                process["plan"]["deploy_reasons"].append("the values of %s's variables it refers to change (%s)" % (
                    self.target.service["name"], ", ".join(updated)))
            created_with_source = process["target"].service_id is None and self.creation_spec(process).source
            if options["source"] == "redeploy" and process["latest"] is None and not created_with_source:
                self.stop("Nothing was deployed: service %s of process %s was never deployed, so railway_deploy_source="
                          "redeploy has nothing to redeploy there: deploy once with upload or commit"
                          % (process["service"], process["name"]), step="lookup")

    def pack(self):
        options = self.options
        if options["source"] != "upload":
            return None
        try:
            archive = build_archive(options["path"], options["upload_allow"])
        except SourceError as exc:
            self.stop("Nothing was deployed: step upload (packing the source of service %s) failed: %s"
                      % (self.target.service["name"], exc), step="upload")
        self.result.update(source_digest=archive.digest, source_files=len(archive.files), source_withheld=archive.withheld)
        return archive

    def plan_lines(self, the_plan):
        """The plan as the lines the role shows: where, variables (names only), settings, and whether it deploys."""
        target = self.result["target"]
        lines = ["Railway %s / %s / %s (%s)%s" % (target["project"]["name"], target["environment"]["name"],
                                                  target["service"]["name"], target["service"]["id"],
                                                  ", check mode: nothing is sent" if self.railway.check_mode else "")]
        if self.connection and self.connection["change"]:
            lines.append("source: %(before)s -> %(after)s" % self.connection["change"])
        shared = the_plan.get("shared_variables")
        if shared is not None:
            lines.append(self.variable_line(shared, "shared variables "))
        lines += self.change_lines(the_plan, "", len(self.settings)) + self.notes
        for process in self.processes:
            service = process["target"].service
            lines.append(spec_line(process, " (%s)" % service["id"] if service["id"] else
                                   ", to create from %s" % self.creation_spec(process).describe_source()))
            lines += self.change_lines(process["plan"], "process %s " % process["name"], len(process["settings"]),
                                       "references to %s" % self.target.service["name"])
        return lines

    @staticmethod
    def variable_line(variables, prefix, values="values masked"):
        """One line of a scope's variable plan; sealed ones are named as not compared (their values cannot be read)."""
        if variables["differs"]:
            line = "%s(%s): add %s; update %s; remove %s" % ((prefix, values) + tuple(
                ", ".join(variables[kind]) or "-" for kind in ("added", "updated", "removed")))
        else:
            line = "%s: all %d as on Railway" % (prefix.rstrip(), variables["count"])
        if variables.get("sealed"):
            line += "; sealed, compared by the digest of the value sent last: %s" % ", ".join(variables["sealed"])
        return line

    def change_lines(self, the_plan, prefix, managed, values="values masked"):
        lines = [self.variable_line(the_plan["variables"], "%svariables " % prefix, values)]
        lines.append(("%ssettings: " % prefix + "; ".join(the_plan["settings_text"])) if the_plan["settings"]
                     else "%ssettings: all %d as on Railway" % (prefix, managed))
        if the_plan["deploy_reasons"]:
            lines.append("%sdeploy (%s): yes, because %s" % (prefix, self.options["source"],
                                                             "; ".join(the_plan["deploy_reasons"])))
        else:
            lines.append("%sdeploy (%s): no, deployment %s already serves %s with these variables and settings "
                         "(railway_force_deploy=true deploys anyway)" % (prefix, self.options["source"],
                                                                         the_plan["previous_deployment_id"],
                                                                         the_plan["source"]["wanted"]))
        return lines

    def diff(self, current, the_plan):
        """--diff: variables (values masked) and settings before and after, of web and of each process's service."""
        entries = [(current, the_plan, "")]
        entries += [(process["current"], process["plan"], " of %s" % process["service"]) for process in self.processes]
        result = []
        if the_plan.get("shared_variables") is not None:
            result.append(dict(masked_diff(self.scopes["shared"]["current"], *[the_plan["shared_variables"][kind] for kind in (
                "added", "updated", "removed")]), before_header="shared variables (values masked)",
                after_header="shared variables (values masked)"))
        for variables, change, where in entries:
            result.append(dict(masked_diff(variables, *[change["variables"][kind] for kind in ("added", "updated", "removed")]),
                               before_header="variables%s (values masked)" % where,
                               after_header="variables%s (values masked)" % where))
            result.append({"before": dict((option, item["before"]) for option, item in change["settings"].items()),
                           "after": dict((option, item["after"]) for option, item in change["settings"].items()),
                           "before_header": "settings" + where, "after_header": "settings" + where})
        return result

    # --- the release -------------------------------------------------------------------------------------------------

    def run(self):
        options = self.options
        current, current_settings, latest, history = self.read()
        self.read_processes()
        self.context["health_url"] = options["health_url"].replace("{domain}", self.domain or "").rstrip("/")
        if options["verify_health"] and self.domain is None:
            self.stop("Service %s has no domain in environment %s, so its health cannot be verified: generate one "
                      "(service Settings -> Networking) or set railway_verify_health=false."
                      % (self.target.service["name"], self.target.environment["name"]), step="lookup")
        if options["config_file"]:
            # Before packing, so that the upload carries the file.
            changed = write_config_file(self.railway.module, options["config_file"], self.config_document,
                                        self.railway.check_mode)
            self.result["config_file"] = {"path": options["config_file"], "changed": changed,
                                          "msg": "Wrote %s. %s." % (options["config_file"], CONFIG_FILE_NOTE)}
            self.railway.warn(CONFIG_FILE_NOTE)
        archive = self.pack()
        serving = serving_deployment(latest, history)
        service = self.scopes["service"]
        the_plan = plan(current, self.desired, options["replace"], current_settings, self.settings, latest, serving,
                        options["source"], source_digest=self.result.get("source_digest"), commit=options["commit"],
                        force=options["force"], connection=self.connection, sources=self.sources,
                        sealed=service["sealed"], remembered=service["remembered"])
        the_plan["shared_variables"] = self.plan_shared(the_plan)
        self.plan_processes(the_plan)
        self.context["previous_deployment_id"] = the_plan["previous_deployment_id"]
        self.result.update(plan=the_plan, plan_text=self.plan_lines(the_plan), serving_deployment=serving)
        if self.railway.diff_mode:
            self.result["diff"] = self.diff(current, the_plan)
        if self.railway.check_mode:
            self.check_mode_outcome(the_plan)
            return self.result
        try:
            self.apply(the_plan, current, current_settings, archive)
            self.verify()
        except ReleaseFailed:
            raise
        except (DeployFailed, RailwayError, StepFailed):
            self.recover()
        self.deploy_processes(archive)
        self.publish_processes()
        return self.result

    def check_mode_outcome(self, the_plan):
        web = self.target.service["name"]
        shared = (the_plan["shared_variables"] or {}).get("differs")
        if not self.processes:
            self.result["changed"] = bool(the_plan["deploy_reasons"] or shared)
            self.result["msg"] = "Check mode: nothing was sent; a run would %s%sdeploy %s" % (
                "set shared variables and " if shared else "", "" if the_plan["deploy_reasons"] else "not ", web)
            return
        created = [p["service"] for p in self.processes if p["target"].service_id is None]
        deployed = [web] if the_plan["deploy_reasons"] else []
        deployed += [p["service"] for p in self.processes if p["plan"]["deploy_reasons"]]
        actions = (["set shared variables"] if shared else []) + (["create " + ", ".join(created)] if created else [])
        actions += ["deploy " + ", ".join(deployed)] if deployed else []
        self.result["changed"] = bool(actions)
        self.result["msg"] = "Check mode: nothing was sent; a run would %s" % (
            " and ".join(actions) or "deploy neither %s nor its processes" % web)
        self.publish_processes()

    def apply(self, the_plan, current, current_settings, archive):
        target = self.target
        variables = settings = None
        pending = {}
        shared_changed = self.apply_shared(the_plan)
        if the_plan["variables"]["differs"]:
            variables = self.step("variables_result", "variables_result",
                                  lambda: self.set_scope(self.scopes["service"], pending=pending))
        if the_plan["settings"]:
            settings = self.step("settings_result", "service_result", lambda: settings_result(
                self.railway, self.settings, *apply_settings(self.railway, target.environment_id, target.service_id,
                                                             self.settings, current_settings, pending=pending)))
        if pending:
            # Variables and settings go in one request: its failure is the configuration's step when both were in it.
            name, key = ("configuration", "configuration") if len(pending) == 2 else \
                ("variables_result", "variables_result") if "variables" in pending else ("settings_result", "service_result")

            def send():
                self.client.configure_service(target.project_id, target.environment_id, target.service_id, **pending)
                return self.result.get(name, {"changed": True})
            self.step(name, key, send)
        if self.connection and self.connection["change"]:
            self.step("source_connection", "source_connection", self.connect)
        web_changed = bool((variables or {}).get("changed") or (settings or {}).get("changed")
                           or (self.connection and self.connection["change"]))
        self.result["changed"] = web_changed or shared_changed
        # Before any deployment: a process deployed later starts with its own settings and web's new values.
        self.configure_processes()
        if not (the_plan["source_reasons"] or web_changed or the_plan["deploy_reasons"]):
            self.result["msg"] = "%s: deployment %s serves %s" % (
                "Shared variables set" if shared_changed else "Nothing changed", the_plan["previous_deployment_id"],
                the_plan["source"]["wanted"])
            return
        deployer = Deployer(self.railway, self.deploy_options(target, the_plan), target=target, archive=archive)
        try:
            deployment = deployer.deploy()
        except DeployFailed as failure:
            self.record("deployment", "deployment", dict(failure.result, failed=True, msg=failure.msg))
            raise
        except RailwayError as exc:
            self.record("deployment", "deployment", dict(deployer.result, failed=True, msg=str(exc)))
            raise
        self.result["changed"] = True
        self.record("deployment", "deployment", deployment)
        self.result["msg"] = deployment["msg"]

    def apply_shared(self, the_plan: dict) -> bool:
        """Set the shared variables first (the service's references to them render at its deployment)."""
        if not (the_plan["shared_variables"] or {}).get("differs"):
            return False
        scope = self.scopes["shared"]
        try:
            self.result["shared_variables_result"] = self.set_scope(scope)
        except RailwayError as exc:
            self.stop("Nothing was deployed: step shared variables (setting the shared variables of environment %s) "
                      "failed: %s" % (self.target.environment["name"], exc), step="shared_variables", **exc.details)
        return True

    def deploy_options(self, target, the_plan):
        """railway_deploy's options for deploying this release's source to ``target``."""
        options = self.options
        upload = options["source"] == "upload"
        source = options["source"]
        if source in FOLLOWED_SOURCES:
            # A new connection or commit: the branch's latest commit (or the image); else the serving one, reconfigured.
            source = "latest" if the_plan["source_reasons"] else "redeploy"
        return dict(
            service=target.service["name"], source=source, commit=options["commit"], rollback_to=None,
            path=options["path"] if upload else None, upload_allow=options["upload_allow"] if upload else [],
            deployment_message=the_plan["source"]["wanted"] if upload else None,
            wait=True, wait_via="subscription", wait_timeout=options["wait_timeout"],
            poll_interval=options["poll_interval"], log_lines=options["log_lines"],
            rollback_on_failure=options["rollback_on_failure"])

    def connect(self):
        """Connect the service to the repository's branch (or image) the release follows; Railway deploys nothing yet."""
        target, wanted = self.target, self.connection
        if wanted.get("repo"):
            self.client.connect_repo(target.project_id, target.environment_id, target.service_id, wanted["repo"], wanted["branch"],
                                     trigger_id=wanted.get("trigger_id"))
        else:
            self.client.update_service_instance(target.environment_id, target.service_id, {"source": {"image": wanted["image"]}})
        return {"changed": True, "before": wanted["change"]["before"], "after": wanted["change"]["after"]}

    def configure_processes(self):
        """Create the process services that are missing, then set their variables and settings (only what differs)."""
        for process in self.processes:
            target, step = process["target"], "create"
            try:
                if target.service_id is None:
                    target.service = create_service(self.client, target.project_id, target.environment_id,
                                                    self.creation_spec(process), process["desired"])
                    process.update(created=True, current=dict(process["desired"]))
                    self.result["changed"] = True
                step = "variables"
                variables = set_variables(self.railway, target, process["current"], process["desired"],
                                          replace=self.options["replace"], skip_deploys=True,
                                          memory=(process.get("scope") or {}).get("memory"))
                step = "settings"
                current, changes = apply_settings(self.railway, target.environment_id, target.service_id,
                                                  process["settings"], process["current_settings"])
            except RailwayError as exc:
                self.stop("Nothing was deployed: step %s (%s service %s of process %s) failed: %s; changed variables and "
                          "settings take effect with the next deployment" % (
                              step, {"create": "creating", "variables": "setting the variables of",
                                     "settings": "configuring"}[step], target.service["name"], process["name"], exc),
                          step=step, **exc.details)
            if variables["changed"]:
                process["variables_result"] = variables
            if changes:
                process["settings_result"] = settings_result(self.railway, process["settings"], current, changes)
            self.result["changed"] = self.result["changed"] or variables["changed"] or bool(changes)

    def deploy_processes(self, archive):
        """Deploy the source to every process whose plan says so: all started, then all waited for."""
        started, failed = [], []
        for process in [p for p in self.processes if p["plan"]["deploy_reasons"]]:
            deployer = Deployer(self.railway, self.deploy_options(process["target"], process["plan"]),
                                target=process["target"], archive=archive)
            try:
                deployer.launch()
                started.append((process, deployer))
            except DeployFailed as failure:
                process["deployment"] = dict(failure.result, failed=True, msg=failure.msg)
                failed.append(process)
            except RailwayError as exc:
                process["deployment"] = dict(deployer.result, failed=True, msg=str(exc))
                failed.append(process)
        for process, deployer in started:
            self.result["changed"] = True
            try:
                process["deployment"] = deployer.follow()
            except DeployFailed as failure:
                process["deployment"] = dict(failure.result, failed=True, msg=failure.msg)
                failed.append(process)
            except RailwayError as exc:
                process["deployment"] = dict(deployer.result, failed=True, msg=str(exc))
                failed.append(process)
        if failed:
            self.processes_failed(failed)
        notes = ["process %s: %s" % (p["name"], p["deployment"]["msg"] if p.get("deployment") else "unchanged, deployment %s serves %s"
                                     % (p["plan"]["previous_deployment_id"], p["plan"]["source"]["wanted"]))
                 for p in self.processes]
        if notes:
            self.result["msg"] = "; ".join([self.result.get("msg", "")] + notes)

    def processes_failed(self, failed):
        """One line: the process whose deployment failed, its log tail, and what happened to the rest of the release."""
        first = failed[0]
        deployment = first["deployment"]
        failure = {"step": "deploy", "railway_step": (deployment.get("failed_step") or {}).get("step", "")}
        tail = log_tail(failure, deployment, None)
        message = "Process %s (service %s) did not deploy: %s." % (first["name"], first["service"],
                                                                   (deployment.get("msg") or "no answer").rstrip("."))
        if len(failed) > 1:
            message += " Nor did %s." % ", ".join("process %s" % process["name"] for process in failed[1:])
        if tail:
            message += " Log tail: %s." % " | ".join(" ".join(str(line).split()) for line in tail[-3:])
        message += " " + self.roll_back_the_rest(failed)
        self.stop(message, failure=dict(failure, step="process", process=first["name"], service=first["service"],
                                        msg=message), log_tail=tail)

    def roll_back_the_rest(self, failed):
        """Roll back what this release made live (web and the processes that deployed) when asked; say what happened."""
        live = []
        web = self.result.get("deployment") or {}
        if web.get("serving"):
            live.append((self.target, self.context.get("previous_deployment_id"), web["deployment_id"]))
        live += [(p["target"], p["plan"]["previous_deployment_id"], p["deployment"]["deployment_id"])
                 for p in self.processes if p not in failed and (p.get("deployment") or {}).get("serving")]
        if not live:
            return "Nothing else was deployed by this run."
        if not self.options["rollback_on_failure"]:
            return "Rollback is off (railway_rollback_on_failure=false): %s stay%s live." % (
                ", ".join("%s's deployment %s" % (target.service["name"], new) for target, dummy, new in live),
                "s" if len(live) == 1 else "")
        done, rollbacks = [], {}
        for target, previous, new in live:
            name = target.service["name"]
            if previous is None:
                done.append("%s has no earlier deployment to roll back to (%s stays live)" % (name, new))
                continue
            try:
                outcome = Deployer(self.railway, deployment_options_for_rollback(self.options, target, previous),
                                   target=target).deploy()
                done.append("%s rolled back to %s (new deployment %s is %s)" % (
                    name, previous, outcome["deployment_id"], outcome["status"]))
            except DeployFailed as failure:
                outcome = dict(failure.result, failed=True, msg=failure.msg)
                done.append("the rollback of %s to %s failed: %s" % (name, previous, failure.msg))
            except RailwayError as exc:
                outcome = {"failed": True, "msg": str(exc)}
                done.append("the rollback of %s to %s failed: %s" % (name, previous, exc))
            rollbacks[name] = outcome
        self.result["rollbacks"] = rollbacks
        return "Rollback: %s." % "; ".join(done)

    def publish_processes(self):
        """What was read, planned and done for each process, in the result (names, settings and IDs; no value)."""
        if not self.processes:
            return
        keys = ("name", "kind", "service", "settings", "created", "plan", "variables_result", "settings_result", "deployment")
        self.result["processes"] = [dict((key, process[key]) for key in keys if key in process) for process in self.processes]
        for shown, process in zip(self.result["processes"], self.processes):
            shown["target"] = dict(process["target"].as_dict())

    def step(self, name, key, action):
        try:
            outcome = action()
        except RailwayError as exc:
            self.record(name, key, {"failed": True, "msg": str(exc)})
            raise
        self.record(name, key, outcome)
        return outcome

    def record(self, name, key, outcome):
        self.result[name] = outcome
        self.context[key] = outcome

    def verify(self):
        """Railway's health check ran inside its network; this checks the public domain, where users reach it."""
        options = self.options
        if not options["verify_health"]:
            self.result["msg"] = self.result.get("msg", "") + "; health not verified"
            return
        base = self.context["health_url"]
        summary = "answers"
        if options["health_path"]:
            health = wait_until_healthy(base + options["health_path"], options["health_retries"], options["health_delay"],
                                        self.railway.params["validate_certs"])
            self.record("health", "health", health)
            if health.get("failed"):
                raise StepFailed()
        if options["health_details_path"]:
            url = base + options["health_details_path"]
            answer = http_get(url, options["health_token"], self.railway.params["validate_certs"])
            deployment_id = (self.result.get("deployment") or {}).get("deployment_id")
            problem = details_problem(answer, deployment_id, url)
            if problem:
                self.context["failure_msg"] = problem
                raise StepFailed()
            summary = health_summary(answer.get("json") or {})
        self.result["health_summary"] = summary
        self.result["msg"] = "%s; healthy at %s (%s)" % (self.result.get("msg", ""), base, summary)

    def recover(self):
        """Name the failed step, read the log tail, roll back a live deployment that fails at its domain if asked."""
        options, target, context = self.options, self.target, self.context
        failure = recovery(context)["failure"]
        deployment = context.get("deployment") or {}
        if failure["step"] == "health":
            budget = diagnostic_budget(self.client)
            try:
                latest = self.client.service_instance(target.environment_id, target.service_id,
                                                      budget=budget).get("latestDeployment")
                if latest and options["log_lines"]:
                    context["failed_logs"] = {"services": [{"latest_deployment": {"deploy_logs": log_messages(
                        self.client.deployment_logs(latest["id"], options["log_lines"], budget=budget))}}]}
            except RailwayError as exc:
                self.railway.warn("The log tail could not be read: %s" % exc)
            previous = context.get("previous_deployment_id")
            if options["rollback_on_failure"] and deployment.get("deployment_id") and previous:
                rollback = dict(deployment_options_for_rollback(options, target, previous))
                try:
                    context["rollback"] = Deployer(self.railway, rollback, target=target).deploy()
                except DeployFailed as failed:
                    context["rollback"] = dict(failed.result, failed=True, msg=failed.msg)
                except RailwayError as exc:
                    context["rollback"] = {"failed": True, "msg": str(exc)}
                self.result["rollback"] = context["rollback"]
        if options["verify_health"] and failure["step"] in ("deploy", "health"):
            context["health_now"] = http_get(context["health_url"] + (options["health_path"] or ""),
                                             validate_certs=self.railway.params["validate_certs"])
        outcome = recovery(context)
        message = outcome["message"]
        waiting = [process["name"] for process in self.processes if process["plan"]["deploy_reasons"]]
        if waiting:
            # They keep what they run: a worker never runs code the database was not migrated for.
            message += " Not deployed, so they keep their deployments: process%s %s." % (
                "es" if len(waiting) > 1 else "", ", ".join(waiting))
        self.result["changed"] = bool(deployment.get("deployment_id")) or self.result["changed"]
        self.stop(message, failure=outcome["failure"], log_tail=outcome["log_tail"])


# Sources Railway deploys by itself (a push to the branch, an image): the release follows them, never uploads over them.
FOLLOWED_SOURCES = ("repo", "image")


def source_to_follow(options: dict, instance: dict) -> tuple[str, dict | None]:
    """(kind, connection): what the release deploys from, and the repository's branch or image it follows.

    ``source=auto`` follows the service's own source: the repository or image given (``repo``, ``image``) or, when
    none is, the one Railway has it connected to; an unconnected service gets uploads. ``connection["change"]`` is
    the connection to make, compared like a setting, or None.
    """
    kind = options["source"]
    connected = dict((key, value) for key, value in (instance.get("source") or {}).items() if value)
    if kind == "auto":
        kind = "repo" if options.get("repo") or (connected.get("repo") and not options.get("image")) else \
            "image" if options.get("image") or connected.get("image") else "upload"
    if kind not in FOLLOWED_SOURCES:
        return kind, None
    if kind == "repo":
        repo = options.get("repo") or connected.get("repo")
        if not repo:
            raise PlanError("source=repo needs repo (owner/name): service %s is connected to no repository" % instance.get("serviceName"))
        return kind, repo_connection(connected, instance.get("trigger"), repo, options.get("branch"))
    image = options.get("image") or connected.get("image")
    if not image:
        raise PlanError("source=image needs image: service %s runs no image" % instance.get("serviceName"))
    change = None if connected.get("image") == image else {"before": describe_connection(connected), "after": "image %s" % image}
    return kind, {"image": image, "change": change}


class StepFailed(Exception):
    """A health verification failed; what it found is in the release's context."""


def named(services: list[dict], name: str) -> dict | None:
    """The service called ``name`` (case-insensitively when unambiguous, like the client's lookup), else None."""
    exact = [service for service in services if service["name"] == name]
    loose = exact or [service for service in services if service["name"].lower() == name.lower()]
    return loose[0] if len(loose) == 1 else None


def deployment_options_for_rollback(options, target, to_id):
    return dict(service=target.service["name"], source="rollback", rollback_to=to_id, commit=None, path=None,
                upload_allow=[], deployment_message=None, wait=True, wait_via="subscription",
                wait_timeout=options["wait_timeout"], poll_interval=options["poll_interval"],
                log_lines=options["log_lines"], rollback_on_failure=False)
