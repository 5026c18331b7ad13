# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reference variables: ``${{Service.VAR}}``, ``${{shared.VAR}}`` and ``${{VAR}}`` rendered like Railway does."""
from __future__ import annotations

import re

from tools.railway_emulator.state import Store

REFERENCE = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
SHARED = "shared"
# References nest (DATABASE_URL -> PGPASSWORD); a cycle must end somewhere instead of recursing forever.
MAX_DEPTH = 10


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "service"


def private_domain(service_name: str) -> str:
    return f"{slug(service_name)}.railway.internal"


class Renderer:
    """Renders the variables of one environment; unresolvable references become empty, as on Railway."""

    def __init__(self, store: Store, environment_id: str) -> None:
        self.store = store
        self.environment = store.environment(environment_id)
        if self.environment is None:
            raise KeyError(environment_id)

    def provided(self, service_id: str | None) -> dict[str, str]:
        """Railway-provided variables (RAILWAY_*) of a service, or of the environment for shared scope."""
        env = self.environment
        project = self.store.project(env.project_id)
        values = {
            "RAILWAY_ENVIRONMENT": env.name,
            "RAILWAY_ENVIRONMENT_ID": env.id,
            "RAILWAY_ENVIRONMENT_NAME": env.name,
            "RAILWAY_PROJECT_ID": env.project_id,
            "RAILWAY_PROJECT_NAME": project.name if project else "",
        }
        service = self.store.service(service_id) if service_id else None
        if service is not None:
            values.update(RAILWAY_SERVICE_ID=service.id, RAILWAY_SERVICE_NAME=service.name, RAILWAY_PRIVATE_DOMAIN=private_domain(service.name))
            domains = self.store.domains_of(env.id, service.id)
            if domains:
                values.update(RAILWAY_PUBLIC_DOMAIN=domains[0].domain, RAILWAY_STATIC_URL=domains[0].domain)
        return values

    def render_scope(self, service_id: str | None) -> dict[str, str]:
        raw = self.store.variables(self.environment.id, service_id)
        return {name: self.render(value, service_id) for name, value in raw.items()}

    def for_deployment(self, service_id: str) -> dict[str, str]:
        """What a container of the service sees: its own variables rendered plus RAILWAY_* ones."""
        return {**self.provided(service_id), **self.render_scope(service_id)}

    def render(self, value: str, service_id: str | None, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            return ""
        return REFERENCE.sub(lambda match: self._resolve(match.group(1), service_id, depth + 1), value)

    def _resolve(self, reference: str, service_id: str | None, depth: int) -> str:
        owner, dot, name = reference.rpartition(".")
        if not dot:
            target: str | None = service_id
        elif owner == SHARED:
            target = None
        else:
            service = self.store.service_named(self.environment.project_id, owner)
            if service is None:
                return ""
            target = service.id
        raw = self.store.variables(self.environment.id, target)
        if name in raw:
            return self.render(raw[name], target, depth)
        return self.provided(target).get(name, "")


def referenced_shared_names(value: str) -> set[str]:
    """Shared variable names a raw value refers to (``${{shared.X}}``)."""
    return {ref.split(".", 1)[1] for ref in REFERENCE.findall(value) if ref.startswith(f"{SHARED}.")}
