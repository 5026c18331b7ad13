# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lookups and writes over the emulator's :class:`~tools.railway_emulator.model.State`.

Callers hold :attr:`Emulator.lock` around every use; the store itself is not thread-safe.
"""
from __future__ import annotations

import uuid
from typing import Any

from tools.railway_emulator.model import (
    Deployment, Domain, Environment, Project, Service, ServiceInstance, State, VariableScope, VolumeInstance, from_json, to_json,
)

# Fixed namespace: generated ids look like Railway's UUIDs yet repeat identically after a reset.
_ID_NAMESPACE = uuid.UUID("5f0c4d1e-8a47-4c49-9c43-7a1a1e0b7a11")


class Store:
    """The emulated Railway account: projects, environments, services, variables, deployments, domains."""

    def __init__(self, data: State) -> None:
        self.data = data

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Store:
        return cls(from_json(State, document))

    def to_json(self) -> dict[str, Any]:
        return to_json(self.data)

    def new_id(self, kind: str) -> str:
        self.data.sequence += 1
        return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}-{self.data.sequence}"))

    # -- lookups (None when missing) ------------------------------------------------------------

    def project(self, project_id: str) -> Project | None:
        return next((p for p in self.data.projects if p.id == project_id), None)

    def environment(self, environment_id: str) -> Environment | None:
        return next((e for e in self.data.environments if e.id == environment_id), None)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.data.services if s.id == service_id), None)

    def service_named(self, project_id: str, name: str) -> Service | None:
        return next((s for s in self.data.services if s.project_id == project_id and s.name == name), None)

    def instance(self, environment_id: str, service_id: str) -> ServiceInstance | None:
        return next((i for i in self.data.service_instances if i.environment_id == environment_id and i.service_id == service_id), None)

    def deployment(self, deployment_id: str) -> Deployment | None:
        return next((d for d in self.data.deployments if d.id == deployment_id), None)

    def volume_instance(self, volume_instance_id: str) -> VolumeInstance | None:
        return next((v for v in self.data.volume_instances if v.id == volume_instance_id), None)

    def domain_named(self, name: str) -> Domain | None:
        return next((d for d in self.data.domains if d.domain == name), None)

    # -- collections ------------------------------------------------------------------------------

    def environments_of(self, project_id: str) -> list[Environment]:
        return [e for e in self.data.environments if e.project_id == project_id]

    def services_of(self, project_id: str) -> list[Service]:
        return [s for s in self.data.services if s.project_id == project_id]

    def instances_in(self, environment_id: str) -> list[ServiceInstance]:
        return [i for i in self.data.service_instances if i.environment_id == environment_id]

    def instances_of(self, service_id: str) -> list[ServiceInstance]:
        return [i for i in self.data.service_instances if i.service_id == service_id]

    def domains_of(self, environment_id: str, service_id: str) -> list[Domain]:
        return [d for d in self.data.domains if d.environment_id == environment_id and d.service_id == service_id]

    def volume_instances_in(self, environment_id: str) -> list[VolumeInstance]:
        return [v for v in self.data.volume_instances if v.environment_id == environment_id]

    def environment_named(self, project_id: str, name: str) -> Environment | None:
        return next((e for e in self.data.environments if e.project_id == project_id and e.name == name), None)

    def deployments_of(self, environment_id: str, service_id: str) -> list[Deployment]:
        """Newest first, like Railway's deployment lists."""
        found = [d for d in self.data.deployments if d.environment_id == environment_id and d.service_id == service_id]
        return newest_first(found)

    def latest_deployment(self, environment_id: str, service_id: str) -> Deployment | None:
        return next(iter(self.deployments_of(environment_id, service_id)), None)

    def serving_deployment(self, environment_id: str, service_id: str) -> Deployment | None:
        """The deployment that answers traffic: the newest SUCCESS one."""
        return next((d for d in self.deployments_of(environment_id, service_id) if d.status == "SUCCESS"), None)

    # -- variables -----------------------------------------------------------------------------------

    def variables(self, environment_id: str, service_id: str | None, *, for_write: bool = False) -> dict[str, str]:
        """The live (unrendered) variables of one scope; with ``for_write`` a missing scope is created."""
        return self.variable_scope(environment_id, service_id, for_write=for_write).values

    def variable_scope(self, environment_id: str, service_id: str | None, *, for_write: bool = False) -> VariableScope:
        """One scope (values and sealed names); a missing one is empty, and with ``for_write`` created."""
        for scope in self.data.variables:
            if scope.environment_id == environment_id and scope.service_id == service_id:
                return scope
        scope = VariableScope(environment_id=environment_id, service_id=service_id)
        if for_write:
            self.data.variables.append(scope)
        return scope

    def readable_variables(self, environment_id: str, service_id: str | None, values: dict[str, str]) -> dict[str, str | None]:
        """``values`` of a scope as the API returns them: a sealed variable is listed without its value (null)."""
        sealed = set(self.variable_scope(environment_id, service_id).sealed)
        return {name: None if name in sealed else value for name, value in values.items()}

    # -- removal ------------------------------------------------------------------------------------

    def remove_where(self, **match: str) -> None:
        """Drop every instance, variable scope, domain, volume instance and deployment matching all of ``match``
        (``environment_id`` and/or ``service_id``), then the volumes no instance mounts any more."""

        def keep(item: object) -> bool:
            return not all(getattr(item, name, None) == value for name, value in match.items())
        data = self.data
        data.service_instances = [i for i in data.service_instances if keep(i)]
        data.variables = [v for v in data.variables if keep(v)]
        data.domains = [d for d in data.domains if keep(d)]
        data.volume_instances = [v for v in data.volume_instances if keep(v)]
        data.deployments = [d for d in data.deployments if keep(d)]
        mounted = {v.volume_id for v in data.volume_instances}
        data.volumes = [v for v in data.volumes if v.id in mounted]


def newest_first(deployments: list[Deployment]) -> list[Deployment]:
    # Creation order breaks ties between deployments created in the same instant (clock frozen).
    order = {id(d): position for position, d in enumerate(deployments)}
    return sorted(deployments, key=lambda d: (d.created_at, order[id(d)]), reverse=True)
