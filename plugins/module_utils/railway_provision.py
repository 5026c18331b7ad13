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

import secrets
import string

from ansible_collections.backendops.stack.plugins.module_utils import railway_documents as documents
from ansible_collections.backendops.stack.plugins.module_utils.railway_client import (
    API_TOKEN_ENV,
    PROJECT_TOKEN,
    PROJECT_TOKEN_ENV,
    UUID,
    RailwayAuthError,
    RailwayConfigError,
    RailwayError,
    RailwayGraphQLError,
    RailwayNotFoundError,
)

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

_ALPHABET = string.ascii_letters + string.digits


def generate_secret(length=32):
    return "".join(secrets.choice(_ALPHABET) for dummy in range(length))


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


class ProjectState(object):
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


class Provisioner(object):
    def __init__(self, client):
        self.client = client
        self.token = PROJECT if client.token_kind == PROJECT_TOKEN else None

    def _denied(self, what):
        env = PROJECT_TOKEN_ENV if self.token == PROJECT else API_TOKEN_ENV
        return RailwayNotFoundError("%s is not visible to this %s (%s)%s" % (
            what, self.token or "token", env,
            ": a project token sees one project and cannot provision; use an account or workspace token"
            if self.token == PROJECT else ": use a token of that workspace, or an account token that belongs to it"))

    def find_project(self, name, workspace=None):
        """ProjectState of the project named (or with the ID) ``name``; not ``exists`` when missing."""
        if self.token == PROJECT:
            info = self.client.execute(documents.PROJECT_TOKEN_QUERY)["projectToken"]["project"]
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
        try:
            data = self.client.execute(documents.USER_PROJECTS_QUERY)
        except RailwayGraphQLError as error:
            # "Not Authorized" (or "User not found"): no user behind the token, a workspace token. Anything else
            # (the client has already retried the transient ones) says nothing about the token: it propagates.
            if not (isinstance(error, RailwayAuthError) or "user not found" in str(error).lower()):
                raise
            data = None
        if data is not None:
            self.token = ACCOUNT
            workspaces = data["me"]["workspaces"]
            if workspace:
                chosen = _one_named("workspace", workspace, workspaces, "this account's workspaces")
                if chosen is None:
                    raise RailwayNotFoundError("workspace %r is not visible to this account token (%s); it sees: %s" % (
                        workspace, API_TOKEN_ENV, _names(workspaces)))
                return chosen, _nodes(chosen.get("projects"))
            if len(workspaces) == 1:
                return workspaces[0], _nodes(workspaces[0].get("projects"))
            return None, [p for w in workspaces for p in _nodes(w.get("projects"))]
        self.token = WORKSPACE
        if workspace:
            try:
                chosen = self.client.execute(documents.WORKSPACE_PROJECTS_QUERY, {"workspaceId": workspace})["workspace"]
            except RailwayError:
                raise RailwayNotFoundError("workspace %r is not visible to this workspace token (%s): give the ID of the "
                                           "token's own workspace, or leave workspace out" % (workspace, API_TOKEN_ENV))
            return chosen, _nodes(chosen.get("projects"))
        return None, _nodes(self.client.execute(documents.PROJECTS_QUERY)["projects"])

    # --- writes --------------------------------------------------------------------------------------------------

    def create_project(self, name, workspace_id=None, environment=None, description=None):
        if self.token == PROJECT:
            raise self._denied("creating project %r" % name)
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
        """What one environment holds, by service name: id, source, start command, service domains, volume."""
        environment = self.client.execute(documents.ENVIRONMENT_RESOURCES_QUERY, {"id": environment_id})["environment"]
        volumes = dict((v["serviceId"], v) for v in _nodes(environment.get("volumeInstances")) if v.get("serviceId"))
        found = {}
        for instance in _nodes(environment.get("serviceInstances")):
            volume = volumes.get(instance["serviceId"])
            found[instance["serviceName"].lower()] = {
                "id": instance["serviceId"],
                "name": instance["serviceName"],
                "source": dict((k, v) for k, v in (instance.get("source") or {}).items() if v),
                "start_command": instance.get("startCommand"),
                "domains": list((instance.get("domains") or {}).get("serviceDomains") or []),
                "volume": volume["mountPath"] if volume else None,
            }
        return found


class ServiceSpec(object):
    """What a service should be: source, variables (literal and generated once), volume, domain, start command."""

    def __init__(self, name, source=None, branch=None, variables=None, generated=None, mount_path=None, domain_port=None,
                 start_command=None, keep_existing=False):
        self.name = name
        self.source = dict((k, v) for k, v in (source or {}).items() if v)
        self.branch = branch
        self.variables = dict(variables or {})
        self.generated = list(generated or [])
        self.mount_path = mount_path
        self.domain_port = domain_port
        self.start_command = start_command
        # A database that exists holds data: its image, start command, variables and volume are left alone (a
        # newer image, another PGDATA or a new password would break an initialised cluster); differences are warned.
        self.keep_existing = keep_existing

    def describe_source(self):
        if self.source.get("repo"):
            return "repo %s (branch %s)" % (self.source["repo"], self.branch or "main")
        if self.source.get("image"):
            return "image %s" % self.source["image"]
        return "empty (deployed by upload)"


def create_service(client, project_id: str, environment_id: str, spec: ServiceSpec, variables: dict | None = None) -> dict:
    """Create the service ``spec`` describes, with ``variables`` (default: its own); return its {id, name}.

    With a source Railway deploys it at once (and a repository's branch on every push); an empty one waits for an
    upload. Created with the ID of a copied environment, it lives in that copy only.
    """
    request = {"projectId": project_id, "name": spec.name, "environmentId": environment_id}
    if spec.source:
        request["source"] = spec.source
        if spec.source.get("repo") and spec.branch:
            request["branch"] = spec.branch
    values = spec.variables if variables is None else variables
    if values:
        request["variables"] = values
    return client.execute(documents.SERVICE_CREATE_MUTATION, {"input": request})["serviceCreate"]


def ensure_service(railway, provisioner, project, environment, spec):
    """Read, compare and (unless in check mode) create what ``spec`` lacks. Returns the module result fields.

    ``project`` is a ProjectState, ``environment`` an ``{id, name}`` or None when it is still to be created (check
    mode on an empty project): then everything is planned, nothing is read.
    """
    client, check = railway.client, railway.check_mode
    planned, warnings = [], []
    existing = project.service(spec.name) if project.exists else None
    if existing is not None and not (environment and environment.get("id")):
        # Check mode, environment still to be created: the project's services come with it (a copy brings their
        # source, variables and volumes along), so there is nothing to plan for this one.
        return {"created": False, "planned": [], "warnings": [], "service": {"id": existing["id"], "name": existing["name"]},
                "domain": None, "volume": None, "variable_names": []}
    current = provisioner.resources(environment["id"]).get(spec.name.lower()) if environment and environment.get("id") else None
    service = {"id": current["id"], "name": current["name"]} if current else {"id": None, "name": spec.name}
    variables = client.variables(project.id, environment["id"], current["id"]) if current else {}
    to_set = dict((name, value) for name, value in spec.variables.items() if variables.get(name) != value)
    missing_generated = [name for name in spec.generated if name not in variables]

    if current is None:
        planned.append("service %s from %s" % (spec.name, spec.describe_source()))
        if not check:
            values = dict(spec.variables)
            values.update((name, generate_secret()) for name in missing_generated)
            railway.module.no_log_values.update(values[name] for name in missing_generated)
            service = create_service(client, project.id, environment["id"], spec, values)
        if spec.variables or missing_generated:
            planned.append("variables of %s: %s" % (spec.name, ", ".join(sorted(list(spec.variables) + missing_generated))))
        to_set, missing_generated = {}, []
    elif spec.keep_existing:
        warnings.extend(_left_alone(spec, current, variables))
        to_set, missing_generated = {}, []
    else:
        if spec.source and spec.source != current["source"]:
            planned.append("source of %s: %s" % (spec.name, spec.describe_source()))
            if not check:
                client.update_service_instance(environment["id"], current["id"], {"source": spec.source})
        elif spec.branch and spec.source.get("repo"):
            # The instance's source as read carries no branch, so a changed branch cannot be compared, only named.
            warnings.append("service %s exists: its branch is not compared or changed (it is set when the service is created); "
                            "check that it deploys %s in the service's settings" % (spec.name, spec.branch))
        if to_set or missing_generated:
            planned.append("variables of %s: %s" % (spec.name, ", ".join(sorted(list(to_set) + missing_generated))))
            if not check:
                values = dict(to_set)
                values.update((name, generate_secret()) for name in missing_generated)
                railway.module.no_log_values.update(values[name] for name in missing_generated)
                client.upsert_variables(project.id, environment["id"], current["id"], values, skip_deploys=False)

    volume = current["volume"] if current else None
    if spec.keep_existing and current is not None:
        pass  # warned about above
    elif spec.mount_path and volume is None:
        planned.append("volume of %s at %s" % (spec.name, spec.mount_path))
        if not check:
            client.execute(documents.VOLUME_CREATE_MUTATION, {"input": {
                "projectId": project.id, "serviceId": service["id"], "environmentId": environment["id"], "mountPath": spec.mount_path}})
        volume = spec.mount_path
    elif spec.mount_path and volume != spec.mount_path:
        warnings.append("service %s already has a volume at %s, not %s: left as it is (move it in the dashboard)" % (
            spec.name, volume, spec.mount_path))

    domains = current["domains"] if current else []
    domain = domains[0]["domain"] if domains else None
    if spec.domain_port is not None and not domains:
        planned.append("domain of %s on port %d" % (spec.name, spec.domain_port))
        if not check:
            created = client.execute(documents.SERVICE_DOMAIN_CREATE_MUTATION, {"input": {
                "environmentId": environment["id"], "serviceId": service["id"], "targetPort": spec.domain_port}})
            domain = created["serviceDomainCreate"]["domain"]
    elif spec.domain_port is not None and domains[0].get("targetPort") not in (None, spec.domain_port):
        warnings.append("the domain %s of %s targets port %s, not %d: left as it is" % (
            domain, spec.name, domains[0].get("targetPort"), spec.domain_port))

    if spec.start_command is not None and (current is None or (not spec.keep_existing and current["start_command"] != spec.start_command)):
        planned.append("start command of %s" % spec.name)
        if not check:
            client.update_service_instance(environment["id"], service["id"], {"startCommand": spec.start_command})

    return {
        "created": current is None,
        "planned": planned,
        "warnings": warnings,
        "service": service,
        "domain": domain,
        "volume": volume,
        "variable_names": sorted(set(variables) | set(spec.variables) | set(spec.generated)),
    }


def _left_alone(spec, current, variables):
    """Warnings for an existing service of ``spec.keep_existing`` that differs from the spec (values never shown)."""
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
    missing = sorted(name for name in list(spec.variables) + spec.generated if name not in variables)
    differ = sorted(name for name, value in spec.variables.items() if name in variables and variables[name] != value)
    if missing:
        warnings.append(what + "variables the template has are missing: %s: left as they are" % ", ".join(missing))
    if differ:
        warnings.append(what + "variables differ from the template's: %s: left as they are (values not shown)" % ", ".join(differ))
    return warnings


def delete_service(railway, environment, service_id):
    if not railway.check_mode:
        railway.client.execute(documents.SERVICE_DELETE_MUTATION, {"id": service_id, "environmentId": environment["id"]})


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
        token = railway.client.execute(documents.PROJECT_TOKEN_QUERY)["projectToken"]
        return project, token["environment"]
    return project, project.environment(wanted) if wanted else None


def not_found_yet(railway, what):
    """Outside check mode a missing project or environment is an error that says which task creates it."""
    if not railway.check_mode:
        railway.fail("%s does not exist yet: create it first (backendops.stack.railway_project / railway_environment, or "
                     "railway_provision=true in the role)" % what)
