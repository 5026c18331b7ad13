# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GraphQL object views over the model.

graphql-core's default resolver reads ``getattr(view, fieldName)`` and calls it with the field arguments
when it is a method, so each view only spells out relations and computed fields; plain fields fall
through :meth:`View.__getattr__` to the model (camelCase -> snake_case, times -> RFC 3339).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from tools.railway_emulator import cron, scale
from tools.railway_emulator.clock import to_iso, to_rfc3339_nano
from tools.railway_emulator.context import Context
from tools.railway_emulator.deployments import can_rollback
from tools.railway_emulator.errors import RailwayError
from tools.railway_emulator.model import INSTANCE_DEFAULTS, Deployment, LogLine, ServiceInstance

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def connection(nodes: list[Any], first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
               **_ignored: Any) -> dict[str, Any]:
    """A Relay connection over ``nodes`` (which have ``.id``); cursors are node ids."""
    ids = [node.id for node in nodes]
    for cursor in (after, before):
        if cursor is not None and cursor not in ids:
            raise RailwayError(f"Invalid cursor {cursor!r}")
    if (first is not None and first < 0) or (last is not None and last < 0):
        raise RailwayError("first and last must be >= 0")
    start = ids.index(after) + 1 if after is not None else 0
    end = ids.index(before) if before is not None else len(nodes)
    window = nodes[start:end]
    has_next, has_previous = end < len(nodes), start > 0
    if first is not None:
        has_next = has_next or len(window) > first
        window = window[:first]
    if last is not None:
        has_previous = has_previous or len(window) > last
        window = window[len(window) - last:] if last else []
    edges = [{"cursor": node.id, "node": node} for node in window]
    return {
        "edges": edges,
        "pageInfo": {
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
        },
    }


class View:
    """Exposes a model object's fields under their GraphQL (camelCase) names."""

    deletedAt = None

    def __init__(self, ctx: Context, model: Any) -> None:
        self.ctx = ctx
        self.model = model

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("ctx", "model"):
            raise AttributeError(name)
        attribute = _CAMEL_BOUNDARY.sub("_", name).lower()
        value = getattr(self.model, attribute)
        return to_iso(value) if attribute.endswith("_at") and value is not None else value


class UserView(View):
    def workspaces(self, _info) -> list[WorkspaceView]:
        return [WorkspaceView(self.ctx, w) for w in self.ctx.store.data.workspaces]


class WorkspaceView(View):
    def projects(self, _info, **page) -> dict:
        projects = [p for p in self.ctx.store.data.projects if p.workspace_id == self.model.id]
        return connection([ProjectView(self.ctx, p) for p in projects], **page)


class ProjectTokenView(View):
    @property
    def displayToken(self) -> str:  # pylint: disable=invalid-name
        # Railway shows only a hint of the secret; the emulator never echoes a token in full.
        return f"{self.model.token[:4]}…"

    def project(self, _info) -> ProjectView:
        return ProjectView(self.ctx, self.ctx.store.project(self.model.project_id))

    def environment(self, _info) -> EnvironmentView:
        return EnvironmentView(self.ctx, self.ctx.store.environment(self.model.environment_id))


class ProjectView(View):
    def workspace(self, _info) -> WorkspaceView | None:
        found = next((w for w in self.ctx.store.data.workspaces if w.id == self.model.workspace_id), None)
        return WorkspaceView(self.ctx, found) if found else None

    def environments(self, _info, isEphemeral: bool | None = None, sort: str | None = None, **page) -> dict:  # pylint: disable=invalid-name
        environments = [e for e in self.ctx.visible_environments(self.model.id) if isEphemeral is None or e.is_ephemeral == isEphemeral]
        if sort is not None:
            environments.sort(key=lambda e: e.created_at, reverse=sort == "desc")
        return connection([EnvironmentView(self.ctx, e) for e in environments], **page)

    def services(self, _info, **page) -> dict:
        return connection([ServiceView(self.ctx, s) for s in self.ctx.store.services_of(self.model.id)], **page)

    def volumes(self, _info, **page) -> dict:
        volumes = [v for v in self.ctx.store.data.volumes if v.project_id == self.model.id]
        return connection([VolumeView(self.ctx, v) for v in volumes], **page)


class EnvironmentView(View):
    canAccess = True
    unmergedChangesCount = 0

    def serviceInstances(self, _info, **page) -> dict:  # pylint: disable=invalid-name
        return connection([InstanceView(self.ctx, i) for i in self.ctx.store.instances_in(self.model.id)], **page)

    def config(self, _info, decryptVariables: bool | None = None) -> dict:  # pylint: disable=invalid-name,unused-argument
        return scale.environment_config(self.ctx.store, self.model.id)

    def volumeInstances(self, _info, **page) -> dict:  # pylint: disable=invalid-name
        return connection([VolumeInstanceView(self.ctx, v) for v in self.ctx.store.volume_instances_in(self.model.id)], **page)

    def deploymentTriggers(self, _info, **page) -> dict:  # pylint: disable=invalid-name
        return connection([trigger_view(i, self.ctx.store) for i in self.ctx.store.instances_in(self.model.id) if has_trigger(i)], **page)

    def variables(self, _info, **page) -> dict:
        # Railway lists a variable's name and scope here, never its value.
        environment = self.model
        nodes = [View(self.ctx, VariableNode(
            id=f"variable-{environment.id}-{scope.service_id or 'shared'}-{name}", name=name, service_id=scope.service_id,
            environment_id=environment.id, created_at=environment.created_at, updated_at=environment.updated_at,
            is_sealed=name in scope.sealed))
            for scope in self.ctx.store.data.variables if scope.environment_id == environment.id for name in sorted(scope.values)]
        return connection(nodes, **page)

    def sourceEnvironment(self, _info) -> EnvironmentView | None:  # pylint: disable=invalid-name
        source = self.ctx.store.environment(self.model.source_environment_id) if self.model.source_environment_id else None
        return EnvironmentView(self.ctx, source) if source else None


def has_trigger(instance: ServiceInstance) -> bool:
    """Whether the instance deploys a repository's branch on every push (connected with a branch)."""
    return bool((instance.setting("source") or {}).get("repo")) and instance.branch is not None


def trigger_id(instance: ServiceInstance) -> str:
    return f"trigger-{instance.id}"


def trigger_view(instance: ServiceInstance, store: Any) -> SimpleNamespace:
    """The deployment trigger of a repository-connected instance, as Railway shows it."""
    return SimpleNamespace(id=trigger_id(instance), branch=instance.branch, checkSuites=False, environmentId=instance.environment_id,
                           projectId=store.service(instance.service_id).project_id, provider="github",
                           repository=instance.setting("source")["repo"], serviceId=instance.service_id)


@dataclass
class VariableNode:
    id: str
    name: str
    service_id: str | None
    environment_id: str
    created_at: float
    updated_at: float
    is_sealed: bool = False


class VolumeView(View):
    def project(self, _info) -> ProjectView:
        return ProjectView(self.ctx, self.ctx.store.project(self.model.project_id))


class VolumeInstanceView(View):
    currentSizeMB = 0.0
    externalId = None
    isPendingDeletion = False
    region = None
    state = "READY"

    @property
    def sizeMB(self) -> int:  # pylint: disable=invalid-name
        return self.model.size_mb

    def volume(self, _info) -> VolumeView:
        return VolumeView(self.ctx, next(v for v in self.ctx.store.data.volumes if v.id == self.model.volume_id))

    def environment(self, _info) -> EnvironmentView:
        return EnvironmentView(self.ctx, self.ctx.store.environment(self.model.environment_id))

    def service(self, _info) -> ServiceView | None:
        found = self.ctx.store.service(self.model.service_id) if self.model.service_id else None
        return ServiceView(self.ctx, found) if found else None


class ServiceView(View):
    def project(self, _info) -> ProjectView:
        return ProjectView(self.ctx, self.ctx.store.project(self.model.project_id))


class InstanceView(View):
    isUpdatable = True
    upstreamUrl = None

    @property
    def nextCronRunAt(self) -> str | None:  # pylint: disable=invalid-name
        """When Railway next runs the start command of a cron service (on the emulated clock), else null."""
        schedule = self.model.setting("cronSchedule")
        return to_iso(cron.Schedule(schedule).next_run(self.ctx.now)) if schedule else None

    def __getattr__(self, name: str) -> Any:
        if name in INSTANCE_DEFAULTS:
            return self.model.setting(name)
        return super().__getattr__(name)

    @property
    def serviceName(self) -> str:  # pylint: disable=invalid-name
        return self.ctx.store.service(self.model.service_id).name

    def service(self, _info) -> ServiceView:
        return ServiceView(self.ctx, self.ctx.store.service(self.model.service_id))

    def latestDeployment(self, _info) -> DeploymentView | None:  # pylint: disable=invalid-name
        latest = self.ctx.store.latest_deployment(self.model.environment_id, self.model.service_id)
        return DeploymentView(self.ctx, latest) if latest else None

    def activeDeployments(self, _info) -> list[DeploymentView]:  # pylint: disable=invalid-name
        serving = self.ctx.store.serving_deployment(self.model.environment_id, self.model.service_id)
        return [DeploymentView(self.ctx, serving)] if serving else []

    def domains(self, _info) -> dict:
        return all_domains(self.ctx, self.model.environment_id, self.model.service_id)


class DomainView(View):
    syncStatus = "ACTIVE"


def all_domains(ctx: Context, environment_id: str, service_id: str) -> dict:
    return {"serviceDomains": [DomainView(ctx, d) for d in ctx.store.domains_of(environment_id, service_id)], "customDomains": []}


class DeploymentView(View):
    suggestAddServiceDomain = False

    @property
    def canRedeploy(self) -> bool:  # pylint: disable=invalid-name
        return not self.model.in_progress

    @property
    def canRollback(self) -> bool:  # pylint: disable=invalid-name
        return can_rollback(self.model)

    @property
    def deploymentStopped(self) -> bool:  # pylint: disable=invalid-name
        return self.model.stopped

    @property
    def meta(self) -> dict:
        return dict(self.model.meta)

    def creator(self, _info) -> dict | None:
        user = self.ctx.store.data.user
        if self.model.creator_id != user.id:
            return None
        return {"id": user.id, "email": user.email, "name": user.name, "avatar": user.avatar}

    def environment(self, _info) -> EnvironmentView:
        return EnvironmentView(self.ctx, self.ctx.store.environment(self.model.environment_id))

    def service(self, _info) -> ServiceView:
        return ServiceView(self.ctx, self.ctx.store.service(self.model.service_id))

    def instances(self, _info) -> list[dict]:
        status = {"SUCCESS": "RUNNING", "DEPLOYING": "INITIALIZING", "CRASHED": "CRASHED", "SLEEPING": "STOPPED"}.get(self.model.status)
        if status is None:
            return []
        replicas = self.model.settings.get("numReplicas") or 1
        return [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.model.id}/{n}")), "status": status} for n in range(replicas)]

    def _domain(self) -> str | None:
        if self.model.status != "SUCCESS":
            return None
        domains = self.ctx.store.domains_of(self.model.environment_id, self.model.service_id)
        return domains[0].domain if domains else None

    @property
    def staticUrl(self) -> str | None:  # pylint: disable=invalid-name
        return self._domain()

    @property
    def url(self) -> str | None:
        domain = self._domain()
        return f"https://{domain}" if domain else None


class EventView(View):
    pass


def log_entries(deployment: Deployment, lines: list[LogLine], limit: int | None, text_filter: str | None,
                start: float | None, end: float | None) -> list[dict]:
    """Log lines as Railway's ``Log`` objects: filtered, then the newest ``limit`` of them in time order."""
    chosen = [line for line in lines if (start is None or line.timestamp >= start) and (end is None or line.timestamp <= end)]
    if text_filter:
        chosen = [line for line in chosen if _matches(line, text_filter)]
    if limit is not None:
        chosen = chosen[-limit:] if limit > 0 else []
    tags = {
        "deploymentId": deployment.id, "deploymentInstanceId": None, "environmentId": deployment.environment_id,
        "projectId": deployment.project_id, "serviceId": deployment.service_id, "snapshotId": deployment.snapshot_id,
    }
    return [
        {"timestamp": to_rfc3339_nano(line.timestamp), "message": line.message, "severity": line.severity,
         "attributes": [{"key": "level", "value": line.severity}], "tags": tags}
        for line in chosen
    ]


def _matches(line: LogLine, text_filter: str) -> bool:
    """Railway's filter syntax, reduced: terms joined by AND (implicit), ``@level:x`` or plain substrings."""
    for term in text_filter.split():
        if term.upper() == "AND":
            continue
        if term.lower().startswith("@level:"):
            if line.severity != term.split(":", 1)[1].lower():
                return False
        elif term.lower() not in line.message.lower():
            return False
    return True
