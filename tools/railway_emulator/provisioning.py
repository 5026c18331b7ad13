# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Creating and removing projects, services, volumes and environments, and a simulated ``git push``.

Railway's behaviours that the modules depend on, as the emulator plays them:

- only account and workspace tokens provision (domains included): a project token gets "Not Authorized" (it may
  deploy, nothing more); a workspace token creates projects only in its own workspace, an account token in the
  workspace it names (it may leave it out only when its user belongs to one workspace);
- a service exists in every environment of its project (its service instances), except when it is created in or
  deleted from a copied (forked) environment only;
- a service created from a repository or an image deploys right away, and a repository-connected one deploys
  again on every push to its branch (``POST /_emulator/push``);
- one volume per service per environment, one Railway-provided service domain per service per environment;
- an environment created from a source environment copies its services (settings, source, branch), variables
  (references stay references) and volumes, gets domains of its own and deploys what has a source.

Service names are unique within a project here, so the modules can find a service by name.
"""
# GraphQL argument names are camelCase; the resolvers take them as keyword arguments verbatim.
# pylint: disable=invalid-name
from __future__ import annotations

import copy
from typing import Any

from tools.railway_emulator import scale
from tools.railway_emulator.errors import NOT_AUTHORIZED, RailwayError
from tools.railway_emulator.model import Domain, Environment, Project, Service, ServiceInstance, Volume, VolumeInstance
from tools.railway_emulator.seed import fake_commit
from tools.railway_emulator.variables import slug
from tools.railway_emulator.views import DomainView, EnvironmentView, ProjectView, ServiceView, VolumeView, has_trigger, trigger_id, trigger_view

DEFAULT_BRANCH = "main"


class ProvisioningMutations:
    """Mixed into the resolvers' root: needs ``self.ctx`` and ``self._deploy`` (resolvers.Root)."""

    ctx: Any

    def _deploy(self, instance: ServiceInstance, *, reason: str, **kwargs: Any) -> Any:  # pragma: no cover - Root's
        raise NotImplementedError

    def _provisioning(self, project_id: str) -> tuple[Any, float, Project]:
        """(store, now, project) for a provisioning mutation; project tokens may not provision."""
        self.ctx.account()
        return self.ctx.store, self.ctx.now, self.ctx.project(project_id)

    # -- projects ----------------------------------------------------------------------------------------

    def projectCreate(self, _info, input: dict[str, Any]) -> ProjectView:  # pylint: disable=redefined-builtin
        principal = self.ctx.account()
        store = self.ctx.store
        workspace_id = input.get("workspaceId") or principal.workspace_id
        if workspace_id is None:
            # An account token names the workspace, unless its user belongs to one only: no workspace is picked for it.
            if len(store.data.workspaces) != 1:
                raise RailwayError("workspaceId is required: this account belongs to several workspaces")
            workspace_id = store.data.workspaces[0].id
        if principal.workspace_id is not None and workspace_id != principal.workspace_id:
            raise RailwayError(NOT_AUTHORIZED)
        if not any(w.id == workspace_id for w in store.data.workspaces):
            raise RailwayError("Workspace not found")
        now = self.ctx.now
        project = Project(id=store.new_id("project"), name=input.get("name") or f"project-{store.data.sequence}", workspace_id=workspace_id,
                          created_at=now, updated_at=now, description=input.get("description"))
        store.data.projects.append(project)
        store.data.environments.append(Environment(id=store.new_id("environment"), name=input.get("defaultEnvironmentName") or "production",
                                                   project_id=project.id, created_at=now, updated_at=now))
        return ProjectView(self.ctx, project)

    # -- services ----------------------------------------------------------------------------------------

    def serviceCreate(self, _info, input: dict[str, Any]) -> ServiceView:  # pylint: disable=redefined-builtin
        store, now, project = self._provisioning(input["projectId"])
        source = {key: value for key, value in (input.get("source") or {}).items() if value}
        if len(source) > 1:
            raise RailwayError("A service's source is either a repo or an image, not both")
        name = input.get("name") or (source.get("image") or source.get("repo") or "service").rsplit("/", 1)[-1].split(":")[0]
        if store.service_named(project.id, name) is not None:
            raise RailwayError(f'A service named "{name}" already exists in this project')
        variables = input.get("variables") or {}
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            raise RailwayError('variables must be an object of string values, e.g. {"NAME": "value"}')
        service = Service(id=store.new_id("service"), name=name, project_id=project.id, created_at=now, updated_at=now, icon=input.get("icon"))
        store.data.services.append(service)
        for environment in self._target_environments(project.id, input.get("environmentId")):
            instance = ServiceInstance(id=store.new_id("instance"), service_id=service.id, environment_id=environment.id, created_at=now,
                                       updated_at=now, settings={"source": dict(source)} if source else {},
                                       branch=(input.get("branch") or DEFAULT_BRANCH) if source.get("repo") else None)
            store.data.service_instances.append(instance)
            if variables:
                store.variables(environment.id, service.id, for_write=True).update(variables)
            if source:
                self._deploy(instance, reason="deploy", required=False)
        return ServiceView(self.ctx, service)

    def _target_environments(self, project_id: str, environment_id: str | None) -> list[Environment]:
        """Where a new service gets instances: a copied environment alone, else every environment that is no copy."""
        if environment_id is not None:
            environment = self.ctx.environment(environment_id, project_id)
            if environment.source_environment_id is not None:
                return [environment]
        return [e for e in self.ctx.store.environments_of(project_id) if e.source_environment_id is None]

    def serviceDelete(self, _info, id: str, environmentId: str | None = None) -> bool:  # pylint: disable=redefined-builtin
        self.ctx.account()
        store = self.ctx.store
        service = self.ctx.service(id)
        if environmentId is not None:
            environment = self.ctx.environment(environmentId, service.project_id)
            if environment.source_environment_id is not None:
                store.remove_where(environment_id=environment.id, service_id=service.id)
                return True
        store.remove_where(service_id=service.id)
        store.data.services.remove(service)
        return True

    # -- volumes -----------------------------------------------------------------------------------------

    def volumeCreate(self, _info, input: dict[str, Any]) -> VolumeView:  # pylint: disable=redefined-builtin
        store, now, project = self._provisioning(input["projectId"])
        mount_path = input["mountPath"]
        if not mount_path.startswith("/"):
            raise RailwayError(f"mountPath must be an absolute path, e.g. /data, not {mount_path!r}")
        service = self.ctx.service(input["serviceId"], project.id) if input.get("serviceId") else None
        # Absent: every environment; null: none (graphql-core passes only the fields the client sent).
        if "environmentId" not in input:
            environments = store.environments_of(project.id)
        elif input["environmentId"] is None:
            environments = []
        else:
            environments = [self.ctx.environment(input["environmentId"], project.id)]
        if service is not None:
            for environment in environments:
                if any(v.service_id == service.id for v in store.volume_instances_in(environment.id)):
                    raise RailwayError(f"Service {service.name} already has a volume in environment {environment.name}: a service can have one")
                replicated = store.instance(environment.id, service.id)
                if replicated is not None and scale.instances(replicated.settings) > 1:
                    raise RailwayError("Cannot attach a volume to a service with more than one replica")
        volume = Volume(id=store.new_id("volume"), name=f"{slug(service.name) if service else 'volume'}-volume", project_id=project.id, created_at=now)
        store.data.volumes.append(volume)
        for environment in environments:
            store.data.volume_instances.append(VolumeInstance(id=store.new_id("volume-instance"), volume_id=volume.id, environment_id=environment.id,
                                                              service_id=service.id if service else None, mount_path=mount_path, created_at=now))
            instance = store.instance(environment.id, service.id) if service else None
            # A running container gets the volume only when it starts again.
            if instance is not None and store.latest_deployment(environment.id, service.id) is not None:
                self._deploy(instance, reason="redeploy", required=False)
        return VolumeView(self.ctx, volume)

    # -- domains -----------------------------------------------------------------------------------------

    def serviceDomainCreate(self, _info, input: dict[str, Any]) -> DomainView:  # pylint: disable=redefined-builtin
        # Project tokens "can only perform deployment-related actions" (Railway's docs): a domain is provisioning.
        self.ctx.account()
        instance = self.ctx.instance(input["environmentId"], input["serviceId"])
        store = self.ctx.store
        if store.domains_of(instance.environment_id, instance.service_id):
            raise RailwayError("This service already has a Railway-provided domain in this environment: a service instance can have one")
        return DomainView(self.ctx, self._add_domain(instance, input.get("targetPort")))

    def _add_domain(self, instance: ServiceInstance, target_port: int | None) -> Domain:
        store = self.ctx.store
        service, environment = store.service(instance.service_id), store.environment(instance.environment_id)
        base = f"{slug(service.name)}-{slug(environment.name)}"
        name, counter = f"{base}.up.railway.app", 1
        while store.domain_named(name) is not None:
            counter += 1
            name = f"{base}-{counter}.up.railway.app"
        domain = Domain(id=store.new_id("domain"), domain=name, project_id=service.project_id, environment_id=environment.id, service_id=service.id,
                        created_at=self.ctx.now, updated_at=self.ctx.now, target_port=target_port)
        store.data.domains.append(domain)
        return domain

    # -- deployment triggers (a repository's branch) ------------------------------------------------------

    def deploymentTriggerCreate(self, _info, input: dict[str, Any]) -> Any:  # pylint: disable=redefined-builtin
        self._provisioning(input["projectId"])
        instance = self.ctx.instance(input["environmentId"], input["serviceId"])
        if has_trigger(instance):
            raise RailwayError("This service instance already has a deployment trigger: update it")
        # Connecting a repository this way deploys nothing: the next deployment builds the branch's latest commit.
        instance.settings["source"] = {"repo": input["repository"]}
        instance.branch = input["branch"]
        instance.updated_at = self.ctx.now
        return trigger_view(instance, self.ctx.store)

    def deploymentTriggerUpdate(self, _info, id: str, input: dict[str, Any]) -> Any:  # pylint: disable=redefined-builtin
        self.ctx.account()
        instance = next((i for i in self.ctx.store.data.service_instances if trigger_id(i) == id and has_trigger(i)), None)
        if instance is None:
            raise RailwayError("Deployment trigger not found")
        if input.get("branch"):
            instance.branch = input["branch"]
        if input.get("repository"):
            instance.settings["source"] = {"repo": input["repository"]}
        instance.updated_at = self.ctx.now
        return trigger_view(instance, self.ctx.store)

    # -- environments ------------------------------------------------------------------------------------

    def environmentCreate(self, _info, input: dict[str, Any]) -> EnvironmentView:  # pylint: disable=redefined-builtin
        store, now, project = self._provisioning(input["projectId"])
        name = input["name"].strip()
        if not name:
            raise RailwayError("Environment name must not be empty")
        if store.environment_named(project.id, name) is not None:
            raise RailwayError(f'An environment named "{name}" already exists in this project')
        source = self.ctx.environment(input["sourceEnvironmentId"], project.id) if input.get("sourceEnvironmentId") else None
        environment = Environment(id=store.new_id("environment"), name=name, project_id=project.id, created_at=now, updated_at=now,
                                  is_ephemeral=bool(input.get("ephemeral")), source_environment_id=source.id if source else None,
                                  copied_in_background=source is not None and input.get("applyChangesInBackground") is not False)
        store.data.environments.append(environment)
        if source is None:
            for service in store.services_of(project.id):
                store.data.service_instances.append(ServiceInstance(id=store.new_id("instance"), service_id=service.id, environment_id=environment.id,
                                                                    created_at=now, updated_at=now))
            return EnvironmentView(self.ctx, environment)
        self._copy_environment(source, environment)
        if not input.get("skipInitialDeploys"):
            for instance in store.instances_in(environment.id):
                if instance.setting("source"):
                    self._deploy(instance, reason="deploy", required=False)
        return EnvironmentView(self.ctx, environment)

    def _copy_environment(self, source: Environment, environment: Environment) -> None:
        store, now = self.ctx.store, self.ctx.now
        for original in store.instances_in(source.id):
            instance = ServiceInstance(id=store.new_id("instance"), service_id=original.service_id, environment_id=environment.id, created_at=now,
                                       updated_at=now, settings=copy.deepcopy(original.settings), branch=original.branch)
            store.data.service_instances.append(instance)
            for domain in store.domains_of(source.id, original.service_id):
                self._add_domain(instance, domain.target_port)
        for scope in [s for s in store.data.variables if s.environment_id == source.id]:
            # Railway copies no sealed variable into a duplicated environment (docs: variables, sealed variables).
            store.variables(environment.id, scope.service_id, for_write=True).update(
                (name, value) for name, value in scope.values.items() if name not in scope.sealed)
        for volume in store.volume_instances_in(source.id):
            # The copy mounts the same volume at the same path, with data of its own.
            store.data.volume_instances.append(VolumeInstance(id=store.new_id("volume-instance"), volume_id=volume.volume_id, environment_id=environment.id,
                                                              service_id=volume.service_id, mount_path=volume.mount_path, created_at=now))

    def environmentDelete(self, _info, id: str) -> bool:  # pylint: disable=redefined-builtin
        self.ctx.account()
        store = self.ctx.store
        environment = self.ctx.environment(id)
        store.remove_where(environment_id=environment.id)
        store.data.environments.remove(environment)
        return True


def simulate_push(ctx: Any, deploy: Any, repo: str, branch: str, commit_sha: str | None) -> list[str]:
    """A push to ``repo``'s ``branch``: every instance connected to that branch deploys the new commit (ids returned)."""
    store = ctx.store
    sha = (commit_sha or fake_commit(f"{repo}@{branch}@{store.data.sequence}")).lower()
    created = []
    for instance in list(store.data.service_instances):
        source = instance.setting("source") or {}
        if not has_trigger(instance) or source.get("repo") != repo or instance.branch != branch:
            continue
        meta = {"repo": repo, "branch": branch, "commitHash": sha, "commitMessage": f"Push {sha[:7]}", "reason": "deploy"}
        created.append(deploy(instance, meta).id)
    return created
