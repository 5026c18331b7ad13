# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-request context: who is calling, and the lookups that enforce what that caller may see.

Lookups raise Railway's errors: "Not Authorized" outside a project token's project/environment (also for
ids that do not exist, so a token learns nothing about other projects), "<Thing> not found" otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.railway_emulator.auth import Credentials, Principal
from tools.railway_emulator.deployments import DeploymentEngine
from tools.railway_emulator.errors import NOT_AUTHORIZED, RailwayError
from tools.railway_emulator.model import Deployment, Environment, Project, Service, ServiceInstance
from tools.railway_emulator.state import Store


@dataclass
class Context:
    """Per-request context: the store, the caller and the request's instant on the emulated clock."""

    store: Store
    engine: DeploymentEngine
    credentials: Credentials
    now: float

    @property
    def principal(self) -> Principal:
        return self.credentials.require()

    def account(self) -> Principal:
        """An account or workspace token (not a project token)."""
        principal = self.principal
        if not principal.is_account:
            raise RailwayError(NOT_AUTHORIZED)
        return principal

    def user(self) -> Principal:
        """An account token: only those have a user (``me``)."""
        principal = self.account()
        if not principal.is_user:
            raise RailwayError(NOT_AUTHORIZED)
        return principal

    def project(self, project_id: str) -> Project:
        project = self.store.project(project_id)
        principal = self.principal
        if not principal.can_see_project(project_id) and (project is not None or not principal.is_account):
            raise RailwayError(NOT_AUTHORIZED)
        if project is None:
            raise RailwayError("Project not found")
        return project

    def environment(self, environment_id: str, project_id: str | None = None) -> Environment:
        environment = self.store.environment(environment_id)
        if environment is None:
            if not self.principal.is_account:
                raise RailwayError(NOT_AUTHORIZED)
            raise RailwayError("Environment not found")
        self.project(environment.project_id)
        if not self.principal.can_see_environment(environment_id):
            raise RailwayError(NOT_AUTHORIZED)
        if project_id is not None and environment.project_id != project_id:
            raise RailwayError("Environment not found")
        return environment

    def service(self, service_id: str, project_id: str | None = None) -> Service:
        service = self.store.service(service_id)
        if service is None:
            if not self.principal.is_account:
                raise RailwayError(NOT_AUTHORIZED)
            raise RailwayError("Service not found")
        self.project(service.project_id)
        if project_id is not None and service.project_id != project_id:
            raise RailwayError("Service not found")
        return service

    def instance(self, environment_id: str, service_id: str) -> ServiceInstance:
        environment = self.environment(environment_id)
        self.service(service_id, environment.project_id)
        instance = self.store.instance(environment_id, service_id)
        if instance is None:
            raise RailwayError("ServiceInstance not found")
        return instance

    def deployment(self, deployment_id: str) -> Deployment:
        deployment = self.store.deployment(deployment_id)
        if deployment is None:
            if not self.principal.is_account:
                raise RailwayError(NOT_AUTHORIZED)
            raise RailwayError("Deployment not found")
        self.environment(deployment.environment_id)
        return deployment

    def visible_environments(self, project_id: str) -> list[Environment]:
        return [e for e in self.store.environments_of(project_id) if self.principal.can_see_environment(e.id)]
