# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Provisioning on Railway: find what exists (tolerating what does not yet), create what is missing.

Shared by railway_project, railway_environment, railway_service (state present/absent) and railway_database. Every
lookup here returns None for a missing resource instead of failing, so that check mode on an empty workspace can plan
everything without sending a single mutation. Lookups fail in one line naming the workspace or project the token
cannot see and the token's kind.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.backendops.stack.plugins.module_utils.railway import documents
from ansible_collections.backendops.stack.plugins.module_utils.railway.client import (
    API_TOKEN_ENV,
    PROJECT_TOKEN,
    PROJECT_TOKEN_ENV,
    UUID,
    RailwayAuthError,
    RailwayConfigError,
    RailwayError,
    RailwayNotFoundError,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.source import repo_connection
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import generate_secret

ACCOUNT = "account token"
WORKSPACE = "workspace token"
PROJECT = "project token"

# Railway's own database templates, reproduced through the API (docs/railway-workflow.md says where each value comes
# from). Values are Railway references, kept literal; GENERATED names get a random value once, when missing.
DATABASE_TEMPLATES = {
    "postgres": {
        "service": "Postgres",
        "image": "ghcr.io/railwayapp-templates/postgres-ssl:17",
        "mount_path": "/var/lib/postgresql/data",
        "start_command": None,
        "generated": ["POSTGRES_PASSWORD"],
        "variables": {
            # initdb wants an empty directory; a fresh volume has lost+found at its root.
            "PGDATA": "/var/lib/postgresql/data/pgdata",
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "railway",
            "PGUSER": "${{POSTGRES_USER}}",
            "PGPASSWORD": "${{POSTGRES_PASSWORD}}",
            "PGDATABASE": "${{POSTGRES_DB}}",
            "PGHOST": "${{RAILWAY_PRIVATE_DOMAIN}}",
            "PGPORT": "5432",
            "DATABASE_URL": "postgresql://${{PGUSER}}:${{POSTGRES_PASSWORD}}@${{RAILWAY_PRIVATE_DOMAIN}}:5432/${{PGDATABASE}}",
        },
    },
    "redis": {
        "service": "Redis",
        "image": "redis:8.2.1",
        "mount_path": "/data",
        # The official image has no password setting: the template starts redis-server with one, persisting to the volume.
        "start_command": '/bin/sh -c "exec docker-entrypoint.sh redis-server --requirepass \\"$REDIS_PASSWORD\\" --save 60 1 --dir /data"',
        "generated": ["REDIS_PASSWORD"],
        "variables": {
            "REDISUSER": "default",
            "REDISPASSWORD": "${{REDIS_PASSWORD}}",
            "REDISHOST": "${{RAILWAY_PRIVATE_DOMAIN}}",
            "REDISPORT": "6379",
            "REDIS_URL": "redis://${{REDISUSER}}:${{REDIS_PASSWORD}}@${{REDISHOST}}:${{REDISPORT}}",
        },
    },
}


def _nodes(connection):
    return [edge["node"] for edge in (connection or {}).get("edges") or [] if edge and edge.get("node")]


def _names(items):
    return ", ".join(sorted((item["name"] for item in items), key=str.lower)) or "(none)"


def _one_named(kind, wanted, candidates, where):
    """The candidate with ID or name ``wanted`` (names case-insensitively), None when there is none."""
    for candidate in candidates:
        if candidate["id"] == wanted:
            return candidate
    named = [c for c in candidates if c["name"] == wanted] or [c for c in candidates if c["name"].lower() == wanted.lower()]
    if len(named) > 1:
        raise RailwayNotFoundError("%s name %r is ambiguous in %s; use one of the IDs: %s" % (
            kind, wanted, where, ", ".join(c["id"] for c in named)))
    return named[0] if named else None


class ProjectState:
    """A project as found (``exists``) or as it would be created in check mode (no IDs)."""

    def __init__(self, info, workspace=None):
        self.info = info
        self.workspace = workspace

    @property
    def exists(self):
        return bool(self.info.get("id"))

    @property
    def id(self):
        return self.info.get("id")

    @property
    def name(self):
        return self.info["name"]

    @property
    def environments(self):
        return _nodes(self.info.get("environments"))

    @property
    def services(self):
        return _nodes(self.info.get("services"))

    def environment(self, wanted):
        return _one_named("environment", wanted, self.environments, "project %r" % self.name) if wanted else None

    def service(self, wanted):
        return _one_named("service", wanted, self.services, "project %r" % self.name)


class Provisioner:
    def __init__(self, client):
        self.client = client
        self.token = PROJECT if client.token_kind == PROJECT_TOKEN else None
        # A project token is scoped to one environment: the one used when none is named.
        self.token_environment = None

    def _denied(self, what):
        env = PROJECT_TOKEN_ENV if self.token == PROJECT else API_TOKEN_ENV
        return RailwayNotFoundError("%s is not visible to this %s (%s)%s" % (
            what, self.token or "token", env,
            ": a project token sees one project and cannot provision; use an account or workspace token"
            if self.token == PROJECT else ": use a token of that workspace, or an account token that belongs to it"))

    def find_project(self, name, workspace=None):
        """ProjectState of the project named (or with the ID) ``name``; not ``exists`` when missing."""
        if self.token == PROJECT:
            token = self.client.execute(documents.PROJECT_TOKEN_QUERY)["projectToken"]
            info, self.token_environment = token["project"], token["environment"]
            if name and name not in (info["id"], info["name"]):
                raise self._denied("project %r" % name)
            return ProjectState(info)
        if name and UUID.match(name):
            try:
                return ProjectState(self.client.execute(documents.PROJECT_QUERY, {"id": name})["project"])
            except RailwayAuthError:
                raise self._denied("project %s" % name)
            except RailwayError:
                pass  # a name that looks like an ID
        chosen, projects = self._workspace_projects(workspace)
        where = "workspace %r" % chosen["name"] if chosen else "the projects this %s can access" % self.token
        found = _one_named("project", name, projects, where) if name else None
        return ProjectState(found or {"name": name}, chosen)

    def _workspace_projects(self, workspace):
        """(workspace or None, its projects); an account token lists its workspaces, a workspace token has no user."""
        workspaces, failure = self.client.account_workspaces()
        if workspaces is not None:
            self.token = ACCOUNT
            if workspace:
                chosen = _one_named("workspace", workspace, workspaces, "this account's workspaces")
                if chosen is None:
                    raise RailwayNotFoundError("workspace %r is not visible to this account token (%s); it sees: %s" % (
                        workspace, API_TOKEN_ENV, _names(workspaces)))
                return chosen, _nodes(chosen.get("projects"))
            if len(workspaces) == 1:
                return workspaces[0], _nodes(workspaces[0].get("projects"))
            return None, [p for w in workspaces for p in _nodes(w.get("projects"))]
        # "Not Authorized" (or "User not found"): no user behind the token, a workspace token. Another failure (the
        # client has retried the transient ones) says nothing about the token's kind; the listing is used all the same.
        if isinstance(failure, RailwayAuthError) or "user not found" in str(failure).lower():
            self.token = WORKSPACE
        if workspace:
            try:
                chosen = self.client.execute(documents.WORKSPACE_PROJECTS_QUERY, {"workspaceId": workspace})["workspace"]
            except RailwayError:
                raise RailwayNotFoundError("workspace %r is not visible to this %s (%s): give the ID of the token's own "
                                           "workspace, or leave workspace out%s" % (
                                               workspace, self.token or "token", API_TOKEN_ENV,
                                               "" if self.token else " (reading the token's user failed: %s)" % failure))
            return chosen, _nodes(chosen.get("projects"))
        return None, _nodes(self.client.execute(documents.PROJECTS_QUERY)["projects"])

    # --- writes (each caller refuses a project token when it plans, before the first of them) ----------------------

    def create_project(self, name, workspace_id=None, environment=None, description=None):
        request = {"name": name}
        for key, value in (("workspaceId", workspace_id), ("defaultEnvironmentName", environment), ("description", description)):
            if value:
                request[key] = value
        return ProjectState(self.client.execute(documents.PROJECT_CREATE_MUTATION, {"input": request})["projectCreate"])

    def create_environment(self, project_id, name, source_id=None, ephemeral=False, skip_initial_deploys=False):
        # In the background Railway may answer before the copy exists, and the deploy that follows would find nothing.
        request = {"projectId": project_id, "name": name, "ephemeral": ephemeral, "skipInitialDeploys": skip_initial_deploys,
                   "applyChangesInBackground": False}
        if source_id:
            request["sourceEnvironmentId"] = source_id
        return self.client.execute(documents.ENVIRONMENT_CREATE_MUTATION, {"input": request})["environmentCreate"]

    def delete_environment(self, environment_id):
        return self.client.execute(documents.ENVIRONMENT_DELETE_MUTATION, {"id": environment_id})

    def resources(self, environment_id):
        """What one environment holds, by service name: id, source, start command, service domains, volume and
        the names of its variables (Railway lists names without values)."""
        environment = self.client.execute(documents.ENVIRONMENT_RESOURCES_QUERY, {"id": environment_id})["environment"]
        volumes = {v["serviceId"]: v for v in _nodes(environment.get("volumeInstances")) if v.get("serviceId")}
        triggers = {trigger["serviceId"]: trigger for trigger in _nodes(environment.get("deploymentTriggers"))}
        names = {}
        for variable in _nodes(environment.get("variables")):
            names.setdefault(variable.get("serviceId"), set()).add(variable["name"])
        found = {}
        for instance in _nodes(environment.get("serviceInstances")):
            volume = volumes.get(instance["serviceId"])
            found[instance["serviceName"].lower()] = {
                "id": instance["serviceId"],
                "name": instance["serviceName"],
                "source": {k: v for k, v in (instance.get("source") or {}).items() if v},
                "start_command": instance.get("startCommand"),
                "domains": list((instance.get("domains") or {}).get("serviceDomains") or []),
                "volume": volume["mountPath"] if volume else None,
                "variable_names": sorted(names.get(instance["serviceId"], ())),
                "trigger": triggers.get(instance["serviceId"]),
            }
        return found


class ServiceSpec:
    """What a service should be: source, variables (literal and generated once), volume, domain, start command."""

    def __init__(self, name, source=None, branch=None, variables=None, generated=None, mount_path=None, domain_port=None,
                 start_command=None, keep_existing=False):
        self.name = name
        self.source = {k: v for k, v in (source or {}).items() if v}
        self.branch = branch
        self.variables = dict(variables or {})
        self.generated = list(generated or [])
        self.mount_path = mount_path
        self.domain_port = domain_port
        self.start_command = start_command
        # A database that exists holds data: its image, start command, variables and volume are left alone (a
        # newer image, another PGDATA or a new password would break an initialised cluster); differences are warned.
        self.keep_existing = keep_existing

    @property
    def starts_staged(self):
        """Whether the service must get its volume or start command before it first runs: a database whose first
        start outside its volume (or without its password) would be lost or open."""
        return bool(self.source and (self.mount_path or self.start_command))

    def describe_source(self):
        if self.source.get("repo"):
            return "repo %s (branch %s)" % (self.source["repo"], self.branch or "main")
        if self.source.get("image"):
            return "image %s" % self.source["image"]
        return "empty (deployed by upload)"


def database_spec(kind: str, service: str | None = None, image: str | None = None) -> ServiceSpec:
    """The service of Railway's ``kind`` template (postgres, redis), under another name or image when given."""
    template = DATABASE_TEMPLATES[kind]
    return ServiceSpec(service or template["service"], source={"image": image or template["image"]},
                       variables=template["variables"], generated=template["generated"], mount_path=template["mount_path"],
                       start_command=template["start_command"], keep_existing=True)


def refuse_project_token(client, what: str) -> None:
    """Fail before the first mutation when a project token would be asked to provision (Railway refuses it)."""
    if client.token_kind == PROJECT_TOKEN:
        raise RailwayConfigError("provisioning needs an account or workspace token (api_token or %s) for: %s; a project token "
                                 "(%s) can only deploy, so nothing was changed" % (API_TOKEN_ENV, what, PROJECT_TOKEN_ENV))


class Steps:
    """A plan: lines that say what changes and the actions that change it, run in order by apply() only."""

    def __init__(self, client):
        self.client = client
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self._actions: list[tuple[str, Callable[[], None]]] = []

    def add(self, lines: list[str], action: Callable[[], None]) -> None:
        self.lines.extend(lines)
        self._actions.append((lines[0], action))

    def apply(self, check_mode: bool) -> None:
        """Refuse a plan a project token cannot carry out (in check mode too: a run would fail), then run it."""
        if self._actions:
            refuse_project_token(self.client, self._actions[0][0])
        if not check_mode:
            for dummy, action in self._actions:
                action()


class Place:
    """The project and environment provisioning acts in; a step that creates one fills in its ID."""

    def __init__(self, project: dict, environment: dict):
        self.project = project
        self.environment = environment


class ServiceOutcome:
    """What is known of a service after planning, completed by the steps that create its parts."""

    def __init__(self, spec: ServiceSpec, current: dict | None, variable_names):
        self.spec = spec
        self.created = current is None
        self.service = {"id": current["id"], "name": current["name"]} if current else {"id": None, "name": spec.name}
        domains = current["domains"] if current else []
        self.domain = domains[0]["domain"] if domains else None
        self.volume = current["volume"] if current else None
        self.variable_names = sorted(set(variable_names) | set(spec.variables) | set(spec.generated))

    def as_result(self) -> dict:
        return {"service": self.service, "domain": self.domain, "volume": self.volume, "variable_names": self.variable_names}


def create_service(client, project_id: str, environment_id: str, spec: ServiceSpec, variables: dict | None = None,
                   with_source: bool = True) -> dict:
    """Create the service ``spec`` describes, with ``variables`` (default: its own); return its {id, name}.

    With a source Railway deploys it at once (and a repository's branch on every push); an empty one waits for an
    upload or a first start. Created with the ID of a copied environment, it lives in that copy only.
    """
    request = {"projectId": project_id, "name": spec.name, "environmentId": environment_id}
    if spec.source and with_source:
        request["source"] = spec.source
        if spec.source.get("repo") and spec.branch:
            request["branch"] = spec.branch
    values = spec.variables if variables is None else variables
    if values:
        request["variables"] = values
    return client.execute(documents.SERVICE_CREATE_MUTATION, {"input": request})["serviceCreate"]


def first_start(client, place: Place, service_id: str, spec: ServiceSpec, create_volume: bool) -> None:
    """Give a service created without a source its volume, start command and source, then start it: one request."""
    settings = {"source": spec.source}
    if spec.start_command is not None:
        settings["startCommand"] = spec.start_command
    request = {"environmentId": place.environment["id"], "serviceId": service_id, "settings": settings}
    if create_volume:
        request["volume"] = {"projectId": place.project["id"], "serviceId": service_id, "environmentId": place.environment["id"],
                             "mountPath": spec.mount_path}
        client.execute(documents.SERVICE_FIRST_START_WITH_VOLUME_MUTATION, request)
    else:
        client.execute(documents.SERVICE_FIRST_START_MUTATION, request)


def plan_service(railway, steps: Steps, place: Place, spec: ServiceSpec, current: dict | None,
                 variable_names=()) -> ServiceOutcome:
    """Plan what ``spec`` lacks into ``steps`` (nothing is sent here); the outcome is completed when they run.

    ``current`` is the service as provisioner.resources() found it (None: missing), ``variable_names`` the names of
    its variables on Railway.
    """
    client = railway.client
    outcome = ServiceOutcome(spec, current, variable_names)
    name = spec.name
    missing_generated = [n for n in spec.generated if n not in variable_names]

    def hidden_values(names):
        values = {n: generate_secret() for n in names}
        railway.module.no_log_values.update(values.values())
        return values

    def add_volume():
        client.execute(documents.VOLUME_CREATE_MUTATION, {"input": {
            "projectId": place.project["id"], "serviceId": outcome.service["id"], "environmentId": place.environment["id"],
            "mountPath": spec.mount_path}})
        outcome.volume = spec.mount_path

    def add_domain():
        created = client.execute(documents.SERVICE_DOMAIN_CREATE_MUTATION, {"input": {
            "environmentId": place.environment["id"], "serviceId": outcome.service["id"], "targetPort": spec.domain_port}})
        outcome.domain = created["serviceDomainCreate"]["domain"]

    if current is None:
        lines = ["service %s from %s" % (name, spec.describe_source())]
        if spec.variables or spec.generated:
            lines.append("variables of %s: %s" % (name, ", ".join(sorted(list(spec.variables) + spec.generated))))
        if spec.mount_path:
            lines.append("volume of %s at %s" % (name, spec.mount_path))
        if spec.start_command is not None:
            lines.append("start command of %s" % name)
        if spec.starts_staged:
            lines.append("first start of %s with its %s in place" % (
                name, " and ".join(what for what, given in (("volume", spec.mount_path), ("start command", spec.start_command)) if given)))
        if spec.domain_port is not None:
            lines.append("domain of %s on port %d" % (name, spec.domain_port))

        def create():
            values = dict(spec.variables)
            values.update(hidden_values(spec.generated))
            outcome.service = create_service(client, place.project["id"], place.environment["id"], spec, values,
                                             with_source=not spec.starts_staged)
            if spec.starts_staged:
                first_start(client, place, outcome.service["id"], spec, create_volume=bool(spec.mount_path))
                outcome.volume = spec.mount_path
            elif spec.mount_path:
                add_volume()
            if spec.domain_port is not None:
                add_domain()
        steps.add(lines, create)
        return outcome

    if spec.keep_existing and spec.starts_staged and not current["source"]:
        # Created by an earlier run that stopped before the first start: finish it (nothing has run, no data to keep).
        lines = ["first start of %s (its set-up was not finished)" % name]

        def finish():
            if missing_generated:
                client.upsert_variables(place.project["id"], place.environment["id"], current["id"], hidden_values(missing_generated))
            first_start(client, place, current["id"], spec, create_volume=bool(spec.mount_path) and current["volume"] is None)
            outcome.volume = current["volume"] or spec.mount_path
        steps.add(lines, finish)
        return outcome

    if spec.keep_existing:
        steps.warnings.extend(_left_alone(spec, current, variable_names))
        return outcome

    connection = repo_connection(current["source"], current.get("trigger"), spec.source["repo"], spec.branch) \
        if spec.source.get("repo") else None
    if connection and connection["change"]:
        steps.add(["source of %s: %s -> %s" % (name, connection["change"]["before"], connection["change"]["after"])],
                  lambda: client.connect_repo(place.project["id"], place.environment["id"], current["id"], connection["repo"],
                                              connection["branch"], trigger_id=connection["trigger_id"]))
    elif spec.source and not connection and spec.source != current["source"]:
        steps.add(["source of %s: %s" % (name, spec.describe_source())],
                  lambda: client.update_service_instance(place.environment["id"], current["id"], {"source": spec.source}))
    missing = {n: value for n, value in spec.variables.items() if n not in variable_names}
    if missing or missing_generated:
        def add_variables():
            values = dict(missing)
            values.update(hidden_values(missing_generated))
            client.upsert_variables(place.project["id"], place.environment["id"], current["id"], values, skip_deploys=False)
        steps.add(["variables of %s: %s" % (name, ", ".join(sorted(list(missing) + missing_generated)))], add_variables)
    if spec.mount_path and current["volume"] is None:
        steps.add(["volume of %s at %s" % (name, spec.mount_path)], add_volume)
    elif spec.mount_path and current["volume"] != spec.mount_path:
        steps.warnings.append("service %s already has a volume at %s, not %s: left as it is (move it in the dashboard)" % (
            name, current["volume"], spec.mount_path))
    domains = current["domains"]
    if spec.domain_port is not None and not domains:
        steps.add(["domain of %s on port %d" % (name, spec.domain_port)], add_domain)
    elif spec.domain_port is not None and domains[0].get("targetPort") not in (None, spec.domain_port):
        steps.warnings.append("the domain %s of %s targets port %s, not %d: left as it is" % (
            outcome.domain, name, domains[0].get("targetPort"), spec.domain_port))
    if spec.start_command is not None and current["start_command"] != spec.start_command:
        steps.add(["start command of %s" % name],
                  lambda: client.update_service_instance(place.environment["id"], current["id"], {"startCommand": spec.start_command}))
    return outcome


def _left_alone(spec, current, variable_names):
    """Warnings for an existing service of ``spec.keep_existing`` that differs from the spec (values never read)."""
    warnings = []
    what = "service %s exists: " % spec.name
    if spec.source.get("image") and current["source"].get("image") != spec.source["image"]:
        warnings.append(what + "its image %s is not %s: left as it is (a database image is changed by hand, after a backup)" % (
            current["source"].get("image") or "(none)", spec.source["image"]))
    if spec.start_command is not None and current["start_command"] != spec.start_command:
        warnings.append(what + "its start command differs from the template's: left as it is")
    if spec.mount_path and current["volume"] is None:
        warnings.append(what + "it has no volume, so its data does not survive a redeploy: left as it is (add one at %s in the "
                        "dashboard after a backup)" % spec.mount_path)
    elif spec.mount_path and current["volume"] != spec.mount_path:
        warnings.append(what + "its volume is at %s, not %s: left as it is" % (current["volume"], spec.mount_path))
    missing = sorted(name for name in list(spec.variables) + spec.generated if name not in variable_names)
    if missing:
        warnings.append(what + "variables the template has are missing: %s: left as they are" % ", ".join(missing))
    return warnings


def delete_service(railway, environment, service_id):
    refuse_project_token(railway.client, "delete service %s" % service_id)
    if not railway.check_mode:
        railway.client.execute(documents.SERVICE_DELETE_MUTATION, {"id": service_id, "environmentId": environment["id"]})


def ensure_service(railway, provisioner, project, environment, spec):
    """One service read, compared and (unless in check mode) provisioned. Returns the module result fields.

    ``project`` is a ProjectState, ``environment`` an ``{id, name}`` or None when it is still to be created (check
    mode on an empty project): then everything is planned, nothing is read.
    """
    steps = Steps(railway.client)
    place = Place({"id": project.id, "name": project.name}, dict(environment or {"id": None, "name": None}))
    if project.exists and not place.environment.get("id") and project.service(spec.name) is not None:
        # Check mode, environment still to be created: the project's services come with it (a copy brings their
        # source, variables and volumes along), so there is nothing to plan for this one.
        existing = project.service(spec.name)
        current = {"id": existing["id"], "name": existing["name"], "domains": [], "volume": None}
        return dict(ServiceOutcome(spec, current, ()).as_result(), created=False, planned=[], warnings=[])
    current = provisioner.resources(place.environment["id"]).get(spec.name.lower()) if place.environment.get("id") else None
    outcome = plan_service(railway, steps, place, spec, current, current["variable_names"] if current else ())
    steps.apply(railway.check_mode)
    return dict(outcome.as_result(), created=outcome.created, planned=steps.lines, warnings=steps.warnings)


def provision(railway, workspace: str | None, databases: list[ServiceSpec], service: ServiceSpec,
              source_environment: str | None = None, ephemeral: bool = False) -> dict:
    """Project, environment, databases and the app's service, from one lookup: plan all, refuse a project token
    before the first mutation, then create what is missing. Returns the module result fields.

    Requests: the lookup, the environment's resources (not for a project created here), and the mutations.
    """
    params, client, check = railway.params, railway.client, railway.check_mode
    provisioner = Provisioner(client)
    project = provisioner.find_project(params.get("project_id") or params.get("project"), workspace)
    wanted = params.get("environment_id") or params.get("environment") or (provisioner.token_environment or {}).get("name")
    if not wanted:
        raise RailwayConfigError("environment is required to provision: give its name")
    place = Place({"id": project.id, "name": project.name}, {"id": None, "name": wanted})
    environment = project.environment(wanted) if project.exists else None
    source = None
    if source_environment and environment is None:
        source = project.environment(source_environment) if project.exists else {"id": None, "name": source_environment}
        if source is None:
            raise RailwayConfigError("source_environment %r not found in project %s; existing: %s" % (
                source_environment, project.name, _names(project.environments)))
    steps = Steps(client)
    if not project.exists:
        chosen = project.workspace
        if chosen is None and not workspace and provisioner.token == ACCOUNT:
            # Railway would not pick one of several workspaces for the account: say which option to set.
            raise RailwayConfigError("workspace is required to create project %s: this account token (%s) belongs to several "
                                     "workspaces; give the workspace's name or ID" % (project.name, API_TOKEN_ENV))
        first = source["name"] if source else wanted

        def create_project():
            created = provisioner.create_project(project.name, chosen["id"] if chosen else workspace, first)
            place.project["id"] = created.id
            made = created.environment(first)
            if source:
                source["id"] = made["id"]
            else:
                place.environment = {"id": made["id"], "name": made["name"]}
        steps.add(["project %s%s (environment %s)" % (project.name, " in workspace %s" % chosen["name"] if chosen else "", first)],
                  create_project)
    if environment is not None:
        place.environment = {"id": environment["id"], "name": environment["name"]}
    elif project.exists or source:
        def create_environment():
            made = provisioner.create_environment(place.project["id"], wanted, source["id"] if source else None, ephemeral)
            place.environment = {"id": made["id"], "name": made["name"]}
        steps.add(["environment %s%s" % (wanted, " (a copy of %s)" % source["name"] if source else "")], create_environment)
    steps.apply(check)

    # A new environment of an existing project holds its services already (a copy with their source, variables and
    # volumes): read it once created; in check mode they are taken as brought along.
    brought_along = project.exists and environment is None
    resources = {}
    if place.environment.get("id") and project.exists:
        resources = provisioner.resources(place.environment["id"])
    services = Steps(client)
    outcomes = {}
    for spec in databases + [service]:
        current = resources.get(spec.name.lower())
        if current is None and brought_along and check and project.service(spec.name) is not None:
            continue
        outcomes[spec.name] = plan_service(railway, services, place, spec, current,
                                           current["variable_names"] if current else ())
    services.apply(check)
    app = outcomes.get(service.name)
    return {
        "changed": bool(steps.lines or services.lines),
        "planned": steps.lines + services.lines,
        "warnings": services.warnings,
        "project": place.project,
        "environment": place.environment,
        "service": app.service if app else {"id": None, "name": service.name},
        "domain": app.domain if app else None,
        "databases": {spec.name: outcomes[spec.name].as_result() for spec in databases if spec.name in outcomes},
        "token_kind": provisioner.token or "project token",
    }


def locate(railway, provisioner, workspace=None):
    """(ProjectState, environment or None) from the common options; a missing project is a ProjectState that does
    not exist, a missing environment None."""
    params = railway.params
    name = params.get("project_id") or params.get("project")
    if not name and provisioner.token != PROJECT:
        raise RailwayConfigError("project is required with an account or workspace token (api_token): give its name or ID")
    project = provisioner.find_project(name, workspace)
    if not project.exists:
        return project, None
    wanted = params.get("environment_id") or params.get("environment")
    if not wanted and provisioner.token == PROJECT:
        return project, provisioner.token_environment
    return project, project.environment(wanted) if wanted else None


def not_found_yet(railway, what):
    """Outside check mode a missing project or environment is an error that says which task creates it."""
    if not railway.check_mode:
        railway.fail("%s does not exist yet: create it first (backendops.stack.railway_provision, or "
                     "backendops.stack.railway_project / railway_environment)" % what)
