# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Root query and mutation resolvers: one method per root field of ``schema.graphql``."""
# GraphQL argument names are camelCase; the resolvers take them as keyword arguments verbatim.
# pylint: disable=invalid-name
from __future__ import annotations

import re
from typing import Any

from tools.railway_emulator import backups, cron, scale
from tools.railway_emulator.clock import parse_time
from tools.railway_emulator.context import Context
from tools.railway_emulator.errors import NOT_AUTHORIZED, PROJECT_TOKEN_NOT_FOUND, RailwayError
from tools.railway_emulator.model import Deployment, ServiceInstance
from tools.railway_emulator.provisioning import DEFAULT_BRANCH, ProvisioningMutations
from tools.railway_emulator.seed import fake_commit
from tools.railway_emulator.state import newest_first
from tools.railway_emulator.variables import Renderer, referenced_shared_names
from tools.railway_emulator.views import (
    DeploymentView, EnvironmentView, EventView, InstanceView, ProjectTokenView, ProjectView, ServiceView, UserView, WorkspaceView,
    all_domains, connection, has_trigger, log_entries, trigger_view,
)

COMMIT_SHA = re.compile(r"[0-9a-fA-F]{40}")
PROJECT_ORDER = {"CREATED_AT_DESC": ("created_at", True), "NAME_ASC": ("name", False), "UPDATED_AT_DESC": ("updated_at", True)}


class QueryRoot:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def me(self, _info) -> UserView:
        principal = self.ctx.user()
        user = self.ctx.store.data.user
        if principal.user_id != user.id:
            raise RailwayError("User not found")
        return UserView(self.ctx, user)

    def workspace(self, _info, workspaceId: str) -> WorkspaceView:
        principal = self.ctx.account()
        found = next((w for w in self.ctx.store.data.workspaces if w.id == workspaceId), None)
        if principal.workspace_id is not None and workspaceId != principal.workspace_id:
            raise RailwayError(NOT_AUTHORIZED)
        if found is None:
            raise RailwayError("Workspace not found")
        return WorkspaceView(self.ctx, found)

    def projects(self, _info, workspaceId: str | None = None, orderBy: str | None = None, **page) -> dict:
        principal = self.ctx.account()
        projects = [p for p in self.ctx.store.data.projects
                    if (workspaceId is None or p.workspace_id == workspaceId) and principal.can_see_project(p.id)]
        if orderBy is not None:
            attribute, descending = PROJECT_ORDER[orderBy]
            projects.sort(key=lambda p: getattr(p, attribute), reverse=descending)
        return connection([ProjectView(self.ctx, p) for p in projects], **page)

    def project(self, _info, id: str) -> ProjectView:  # pylint: disable=redefined-builtin
        return ProjectView(self.ctx, self.ctx.project(id))

    def projectToken(self, _info) -> ProjectTokenView:
        token = self.ctx.principal.project_token
        if token is None:
            raise RailwayError(PROJECT_TOKEN_NOT_FOUND)
        return ProjectTokenView(self.ctx, token)

    def environment(self, _info, id: str, projectId: str | None = None) -> EnvironmentView:  # pylint: disable=redefined-builtin
        return EnvironmentView(self.ctx, self.ctx.environment(id, projectId))

    def environments(self, _info, projectId: str, isEphemeral: bool | None = None, **page) -> dict:
        self.ctx.project(projectId)
        environments = [e for e in self.ctx.visible_environments(projectId) if isEphemeral is None or e.is_ephemeral == isEphemeral]
        return connection([EnvironmentView(self.ctx, e) for e in environments], **page)

    def service(self, _info, id: str) -> ServiceView:  # pylint: disable=redefined-builtin
        return ServiceView(self.ctx, self.ctx.service(id))

    def serviceInstance(self, _info, environmentId: str, serviceId: str) -> InstanceView:
        return InstanceView(self.ctx, self.ctx.instance(environmentId, serviceId))

    def serviceInstanceLimitOverride(self, _info, environmentId: str, serviceId: str) -> dict | None:
        return scale.limit_override(self.ctx.instance(environmentId, serviceId))

    def domains(self, _info, environmentId: str, projectId: str, serviceId: str) -> dict:
        self._scope(projectId, environmentId, serviceId)
        return all_domains(self.ctx, environmentId, serviceId)

    def deploymentTriggers(self, _info, environmentId: str, projectId: str, serviceId: str, **page) -> dict:
        self._scope(projectId, environmentId, serviceId)
        instance = self.ctx.instance(environmentId, serviceId)
        found = [trigger_view(instance, self.ctx.store)] if has_trigger(instance) else []
        return connection(found, **page)

    def variables(self, _info, environmentId: str, projectId: str, serviceId: str | None = None, unrendered: bool | None = None) -> dict[str, str]:
        self._scope(projectId, environmentId, serviceId)
        store = self.ctx.store
        values = store.variables(environmentId, serviceId) if unrendered else Renderer(store, environmentId).render_scope(serviceId)
        return store.readable_variables(environmentId, serviceId, values)

    def variablesForServiceDeployment(self, _info, environmentId: str, projectId: str, serviceId: str) -> dict[str, str]:
        self._scope(projectId, environmentId, serviceId)
        store = self.ctx.store
        return store.readable_variables(environmentId, serviceId, Renderer(store, environmentId).for_deployment(serviceId))

    def deployment(self, _info, id: str) -> DeploymentView:  # pylint: disable=redefined-builtin
        return DeploymentView(self.ctx, self.ctx.deployment(id))

    def deployments(self, _info, input: dict[str, Any], **page) -> dict:  # pylint: disable=redefined-builtin
        principal = self.ctx.principal
        environment_id = input.get("environmentId")
        if environment_id is not None:
            self.ctx.environment(environment_id)
        if input.get("projectId") is not None:
            self.ctx.project(input["projectId"])
        if input.get("serviceId") is not None:
            self.ctx.service(input["serviceId"])
        status = input.get("status") or {}
        wanted = {"project_id": input.get("projectId"), "environment_id": environment_id, "service_id": input.get("serviceId")}
        found = []
        for deployment in self.ctx.store.data.deployments:
            if any(value is not None and getattr(deployment, attribute) != value for attribute, value in wanted.items()):
                continue
            if not principal.can_see_environment(deployment.environment_id):
                continue
            if status.get("in") is not None and deployment.status not in status["in"]:
                continue
            if status.get("notIn") is not None and deployment.status in status["notIn"]:
                continue
            found.append(deployment)
        return connection([DeploymentView(self.ctx, d) for d in newest_first(found)], **page)

    def deploymentEvents(self, _info, id: str, **page) -> dict:  # pylint: disable=redefined-builtin
        deployment = self.ctx.deployment(id)
        return connection([EventView(self.ctx, e) for e in deployment.events], **page)

    def buildLogs(self, _info, deploymentId: str, **query) -> list[dict]:
        deployment = self.ctx.deployment(deploymentId)
        return self._logs(deployment, deployment.build_logs, **query)

    def deploymentLogs(self, _info, deploymentId: str, **query) -> list[dict]:
        deployment = self.ctx.deployment(deploymentId)
        return self._logs(deployment, deployment.deploy_logs, **query)

    def _logs(self, deployment: Deployment, lines, limit: int | None = None, filter: str | None = None,  # pylint: disable=redefined-builtin
              startDate: str | None = None, endDate: str | None = None) -> list[dict]:
        try:
            start = parse_time(startDate) if startDate else None
            end = parse_time(endDate) if endDate else None
        except ValueError:
            raise RailwayError("startDate and endDate must be RFC 3339 date-times") from None
        return log_entries(deployment, lines, limit, filter, start, end)

    def _scope(self, project_id: str, environment_id: str, service_id: str | None) -> None:
        """Check a (project, environment, service) triple the way Railway's variable/domain queries do."""
        self.ctx.project(project_id)
        self.ctx.environment(environment_id, project_id)
        if service_id is not None:
            self.ctx.instance(environment_id, service_id)


class Root(backups.BackupResolvers, ProvisioningMutations, QueryRoot):
    """Root value for both operation types: graphql-core resolves mutation fields on the same root object."""

    # -- variables ---------------------------------------------------------------------------------------

    def variableUpsert(self, _info, input: dict[str, Any]) -> bool:  # pylint: disable=redefined-builtin
        return self._upsert_variables(input, {input["name"]: input["value"]}, replace=False)

    def variableCollectionUpsert(self, _info, input: dict[str, Any]) -> bool:  # pylint: disable=redefined-builtin
        values = input["variables"]
        if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise RailwayError('variables must be an object of string values, e.g. {"NAME": "value"}')
        return self._upsert_variables(input, values, replace=bool(input.get("replace")))

    def variableDelete(self, _info, input: dict[str, Any]) -> bool:  # pylint: disable=redefined-builtin
        environment_id, service_id = input["environmentId"], input.get("serviceId")
        self._scope(input["projectId"], environment_id, service_id)
        scope = self.ctx.store.variable_scope(environment_id, service_id, for_write=True)
        if input["name"] not in scope.values:
            raise RailwayError(f'Variable "{input["name"]}" not found')
        del scope.values[input["name"]]
        scope.sealed = [name for name in scope.sealed if name != input["name"]]
        return True

    def _upsert_variables(self, request: dict[str, Any], new_values: dict[str, str], replace: bool) -> bool:
        environment_id, service_id = request["environmentId"], request.get("serviceId")
        self._scope(request["projectId"], environment_id, service_id)
        scope = self.ctx.store.variable_scope(environment_id, service_id, for_write=True)
        values = scope.values
        changed = set(new_values) | (set(values) if replace else set())
        if replace:
            values.clear()
            scope.sealed = [name for name in scope.sealed if name in new_values]
        # A sealed variable stays sealed when a new value is upserted (Railway: sealed variables cannot be un-sealed).
        values.update(new_values)
        if not request.get("skipDeploys"):
            for instance in self._instances_affected(environment_id, service_id, changed):
                self._deploy(instance, reason="variableChange", required=False)
        return True

    # -- staged changes (environment patches); the emulator applies only their variables --------------------------

    def environmentStageChanges(self, _info, environmentId: str, input: Any, merge: bool | None = None) -> dict[str, Any]:  # pylint: disable=redefined-builtin
        environment = self.ctx.environment(environmentId)
        if not isinstance(input, dict):
            raise RailwayError("input must be an environment config object")
        staged = staged_variables(input)
        if merge and environment.staged_patch:
            staged = merge_staged(environment.staged_patch, staged)
        environment.staged_patch = staged
        return {"id": f"patch-{environment.id}", "environmentId": environment.id, "status": "STAGED"}

    def environmentPatchCommitStaged(self, _info, environmentId: str, commitMessage: str | None = None,  # pylint: disable=unused-argument
                                     skipDeploys: bool | None = None) -> str:
        environment = self.ctx.environment(environmentId)
        backups.settle_workflows(self.ctx.store, self.ctx.now)
        restored = backups.apply_staged_restore(self.ctx.store, environment)
        if restored is not None and restored.service_id and not skipDeploys:
            self._deploy(self.ctx.store.instance(environment.id, restored.service_id), reason="volumeRestore", required=False)
        patch, environment.staged_patch = environment.staged_patch or {}, None
        scopes = [(service_id, entry.get("variables") or {}) for service_id, entry in (patch.get("services") or {}).items()]
        scopes.append((None, patch.get("sharedVariables") or {}))
        for service_id, variables in scopes:
            if not variables:
                continue
            if service_id is not None:
                self.ctx.instance(environment.id, service_id)
            apply_variable_patch(self.ctx.store.variable_scope(environment.id, service_id, for_write=True), variables)
            if not skipDeploys:
                for instance in self._instances_affected(environment.id, service_id, set(variables)):
                    self._deploy(instance, reason="variableChange", required=False)
        return f"commit-{self.ctx.store.new_id('patch')}"

    def _instances_affected(self, environment_id: str, service_id: str | None, names: set[str]) -> list[ServiceInstance]:
        """A service's own change redeploys it; a shared change redeploys the services referencing those names."""
        store = self.ctx.store
        if service_id is not None:
            return [store.instance(environment_id, service_id)]
        return [
            instance for instance in store.instances_in(environment_id)
            if any(referenced_shared_names(value) & names for value in store.variables(environment_id, instance.service_id).values())
        ]

    # -- service instances ------------------------------------------------------------------------------

    def serviceInstanceUpdate(self, _info, serviceId: str, input: dict[str, Any],  # pylint: disable=redefined-builtin
                              environmentId: str | None = None) -> bool:
        self.ctx.service(serviceId)
        principal = self.ctx.principal
        if environmentId is None and principal.project_token is not None:
            environmentId = principal.project_token.environment_id
        instances = [self.ctx.instance(environmentId, serviceId)] if environmentId else self.ctx.store.instances_of(serviceId)
        for name, value in input.items():
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise RailwayError(f"{name} must be >= 0")
        if input.get("cronSchedule"):
            cron.checked(input["cronSchedule"])
        for instance in instances:
            scale.check_replicas(self.ctx.store, instance, input)
        for instance in instances:
            for name, value in input.items():
                # graphql-core passes only the fields the client sent: null (or an empty schedule) unsets, absent leaves alone.
                if value is None or (name == "cronSchedule" and not value):
                    instance.settings.pop(name, None)
                else:
                    instance.settings[name] = dict(value) if isinstance(value, dict) else value
            instance.updated_at = self.ctx.now
        return True

    def serviceInstanceLimitsUpdate(self, _info, input: dict[str, Any]) -> bool:  # pylint: disable=redefined-builtin
        instance = self.ctx.instance(input["environmentId"], input["serviceId"])
        scale.update_limits(instance, input)
        instance.updated_at = self.ctx.now
        return True

    def serviceInstanceDeployV2(self, _info, environmentId: str, serviceId: str, commitSha: str | None = None) -> str:
        return self._deploy(self.ctx.instance(environmentId, serviceId), reason="deploy", commit_sha=commitSha).id

    def serviceInstanceDeploy(self, _info, environmentId: str, serviceId: str, commitSha: str | None = None, latestCommit: bool | None = None) -> bool:
        instance = self.ctx.instance(environmentId, serviceId)
        self._deploy(instance, reason="deploy", commit_sha=commitSha, latest_commit=bool(latestCommit))
        return True

    def serviceInstanceRedeploy(self, _info, environmentId: str, serviceId: str) -> bool:
        instance = self.ctx.instance(environmentId, serviceId)
        if self.ctx.store.latest_deployment(environmentId, serviceId) is None:
            raise RailwayError("No deployment found for this service instance")
        self._deploy(instance, reason="redeploy")
        return True

    def _deploy(self, instance: ServiceInstance, *, reason: str, commit_sha: str | None = None, latest_commit: bool = False,
                required: bool = True) -> Deployment | None:
        """Deploy what the instance runs: a given commit, else the latest deployment's source, else the connected source."""
        engine, now, creator = self.ctx.engine, self.ctx.now, self.ctx.principal.user_id
        source = instance.setting("source") or {}
        latest = self.ctx.store.latest_deployment(instance.environment_id, instance.service_id)
        if commit_sha is not None:
            if not source.get("repo") or not COMMIT_SHA.fullmatch(commit_sha):
                raise RailwayError("Commit not found")
            meta = {"repo": source["repo"], "branch": instance.branch or DEFAULT_BRANCH, "commitHash": commit_sha.lower(),
                    "commitMessage": f"Commit {commit_sha[:7].lower()}"}
            return engine.create(instance, at=now, meta={**meta, "reason": reason}, creator_id=creator)
        # A repository connected (or a branch changed) since the latest deployment: deploying builds the branch's head.
        moved = bool(source.get("repo")) and latest is not None and (
            (latest.meta.get("repo"), latest.meta.get("branch")) != (source["repo"], instance.branch or DEFAULT_BRANCH))
        if latest is not None and not latest_commit and not moved:
            return engine.redeploy(latest, now, reason=reason, creator_id=creator)
        if source.get("repo") or source.get("image"):
            meta = {**source, "reason": reason}
            if source.get("repo"):
                branch = instance.branch or DEFAULT_BRANCH
                meta.update(branch=branch, commitHash=fake_commit(f"{source['repo']}@{branch}@latest"), commitMessage="Latest commit")
            return engine.create(instance, at=now, meta=meta, creator_id=creator)
        if required:
            raise RailwayError("Service has no source to deploy: connect a repo or image, or upload code with railway up")
        return None

    # -- deployments ---------------------------------------------------------------------------------------

    def deploymentRedeploy(self, _info, id: str, usePreviousImageTag: bool | None = None) -> DeploymentView:  # pylint: disable=redefined-builtin
        deployment = self.ctx.deployment(id)
        if deployment.in_progress:
            raise RailwayError("Deployment cannot be redeployed while it is in progress")
        created = self.ctx.engine.redeploy(deployment, self.ctx.now, use_previous_image=bool(usePreviousImageTag), creator_id=self.ctx.principal.user_id)
        return DeploymentView(self.ctx, created)

    def deploymentRollback(self, _info, id: str) -> bool:  # pylint: disable=redefined-builtin
        self.ctx.engine.rollback(self.ctx.deployment(id), self.ctx.now, creator_id=self.ctx.principal.user_id)
        return True

    def deploymentApprove(self, _info, id: str) -> bool:  # pylint: disable=redefined-builtin
        self.ctx.engine.approve(self.ctx.deployment(id), self.ctx.now)
        return True

    def deploymentCancel(self, _info, id: str) -> bool:  # pylint: disable=redefined-builtin
        self.ctx.engine.cancel(self.ctx.deployment(id), self.ctx.now)
        return True

    def deploymentRestart(self, _info, id: str) -> bool:  # pylint: disable=redefined-builtin
        self.ctx.engine.restart(self.ctx.deployment(id), self.ctx.now)
        return True


def staged_variables(patch: dict[str, Any]) -> dict[str, Any]:
    """The variables of an environment patch; anything else is refused, as the emulator does not apply it."""
    services = patch.get("services") or {}
    other = sorted(set(patch) - {"services", "sharedVariables"})
    other += sorted(f"services.{service_id}.{key}" for service_id, entry in services.items() for key in (entry or {}) if key != "variables")
    if other:
        raise RailwayError(f"the emulator applies only variables from an environment patch, not {', '.join(other)}")
    for entries in [entry.get("variables") or {} for entry in services.values() if entry] + [patch.get("sharedVariables") or {}]:
        for name, entry in entries.items():
            if entry is not None and (not isinstance(entry, dict) or not isinstance(entry.get("value", ""), str)):
                raise RailwayError(f'variable {name} must be {{"value": "...", "isSealed": true}} or null')
    return patch


def merge_staged(staged: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The staged patch with ``patch`` merged in, variable by variable (environmentStageChanges with merge)."""
    shared = {**(staged.get("sharedVariables") or {}), **(patch.get("sharedVariables") or {})}
    merged = {"services": {**(staged.get("services") or {})}, "sharedVariables": shared}
    for service_id, entry in (patch.get("services") or {}).items():
        earlier = merged["services"].get(service_id) or {}
        merged["services"][service_id] = {"variables": {**(earlier.get("variables") or {}), **((entry or {}).get("variables") or {})}}
    return merged


def apply_variable_patch(scope: Any, variables: dict[str, Any]) -> None:
    """Set, seal (``isSealed``: a sealed variable is never un-sealed) or remove (null) variables of one scope."""
    for name, entry in variables.items():
        if entry is None:
            scope.values.pop(name, None)
            scope.sealed = [sealed for sealed in scope.sealed if sealed != name]
            continue
        if "value" not in entry and name not in scope.values:
            raise RailwayError(f'Variable "{name}" not found')
        scope.values[name] = entry.get("value", scope.values.get(name))
        if entry.get("isSealed") and name not in scope.sealed:
            scope.sealed.append(name)
