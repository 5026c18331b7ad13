# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The built-in seed: a deterministic Railway account (ids, names, tokens, variables) with live deployments."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tools.railway_emulator.deployments import DeploymentEngine
from tools.railway_emulator.faults import FaultBoard
from tools.railway_emulator.model import (
    AccountToken, Domain, Environment, Project, ProjectToken, Service, ServiceInstance, State, User, VariableScope, Workspace,
)
from tools.railway_emulator.state import Store

ACCOUNT_TOKEN = "emu-account-token"
PROJECT_TOKEN = "emu-project-token"
# A workspace token of "Acme": it sees backendops-demo but not other-project (in the user's "Personal" workspace).
WORKSPACE_TOKEN = "emu-workspace-token"
HEALTH_TOKEN = "emu-health-token"

_POSTGRES_VARIABLES = {
    "PGUSER": "postgres",
    "PGPASSWORD": "emu-postgres-password",
    "PGDATABASE": "railway",
    "PGHOST": "${{RAILWAY_PRIVATE_DOMAIN}}",
    "PGPORT": "5432",
    "DATABASE_URL": "postgresql://${{PGUSER}}:${{PGPASSWORD}}@${{RAILWAY_PRIVATE_DOMAIN}}:5432/${{PGDATABASE}}",
}
_REDIS_VARIABLES = {
    "REDISUSER": "default",
    "REDISPASSWORD": "emu-redis-password",
    "REDISHOST": "${{RAILWAY_PRIVATE_DOMAIN}}",
    "REDISPORT": "6379",
    "REDIS_URL": "redis://${{REDISUSER}}:${{REDISPASSWORD}}@${{REDISHOST}}:${{REDISPORT}}",
}
_BACKEND_VARIABLES = {
    "DATABASE_URL": "${{Postgres.DATABASE_URL}}",
    "REDIS_URL": "${{Redis.REDIS_URL}}",
    "NODE_ENV": "${{shared.NODE_ENV}}",
    "PORT": "8080",
}


def fake_commit(label: str) -> str:
    """A stable 40-hex commit sha for seeded deployments."""
    return hashlib.sha1(label.encode()).hexdigest()


def load_seed(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _account(created: float) -> State:
    user = User(id="user-emu", name="Emu Developer", email="emu@example.com", created_at=created)
    return State(
        user=user,
        workspaces=[Workspace(id="workspace-acme", name="Acme", created_at=created),
                    Workspace(id="workspace-personal", name="Personal", created_at=created)],
        account_tokens=[AccountToken(token=ACCOUNT_TOKEN, user_id=user.id), AccountToken(token=WORKSPACE_TOKEN, workspace_id="workspace-acme")],
        project_tokens=[],
    )


def empty_store(now: float, _phase_seconds: float) -> Store:
    """The same account and workspaces as the default seed, without any project: where a new user starts."""
    return Store(_account(now - 7 * 86400))


def default_store(now: float, phase_seconds: float) -> Store:
    """The seed the contract describes, with its deployments played through the real lifecycle an hour ago."""
    created = now - 7 * 86400
    state = _account(created)
    user = state.user
    state.project_tokens.append(ProjectToken(id="project-token-backendops-demo", name="emulator", token=PROJECT_TOKEN,
                                             project_id="project-backendops-demo", environment_id="env-production", created_at=created))
    store = Store(state)
    _add_project(store, "project-backendops-demo", "backendops-demo", {"production": "env-production", "staging": "env-staging"}, created)
    _add_project(store, "project-other-project", "other-project", {"production": "env-other-production"}, created, "workspace-personal")
    sources = {
        "service-backend": ("backend", {"repo": "acme/backend"}),
        "service-postgres": ("Postgres", {"image": "ghcr.io/railwayapp-templates/postgres-ssl:17"}),
        "service-redis": ("Redis", {"image": "redis:8.2.1"}),
    }
    for service_id, (name, source) in sources.items():
        _add_service(store, "project-backendops-demo", service_id, name, source, created)
    _add_service(store, "project-other-project", "service-web", "web", {"repo": "acme/web"}, created)

    for env_id, env_name in (("env-production", "production"), ("env-staging", "staging")):
        state.variables += [
            VariableScope(env_id, None, {"NODE_ENV": env_name, "LOG_LEVEL": "info"}),
            VariableScope(env_id, "service-postgres", dict(_POSTGRES_VARIABLES, PGPASSWORD=f"emu-postgres-password-{env_name}")),
            VariableScope(env_id, "service-redis", dict(_REDIS_VARIABLES, REDISPASSWORD=f"emu-redis-password-{env_name}")),
            VariableScope(env_id, "service-backend", dict(_BACKEND_VARIABLES)),
        ]
    # Only production's backend has the token the deployed app's /api/health/details checks.
    store.variables("env-production", "service-backend")["HEALTH_TOKEN"] = HEALTH_TOKEN
    state.variables.append(VariableScope("env-other-production", "service-web", {"PORT": "3000"}))
    state.domains.append(Domain(id="domain-backend-production", domain="backend-production.up.railway.app", project_id="project-backendops-demo",
                                environment_id="env-production", service_id="service-backend", created_at=created, updated_at=created,
                                target_port=8080))

    engine = DeploymentEngine(store, FaultBoard(), phase_seconds)
    deployed_at = now - 3600
    live = [("env-production", "service-postgres"), ("env-production", "service-redis"), ("env-production", "service-backend"),
            ("env-staging", "service-postgres"), ("env-staging", "service-redis"), ("env-other-production", "service-web")]
    for env_id, service_id in live:
        instance = store.instance(env_id, service_id)
        source = instance.setting("source")
        meta: dict[str, Any] = {"reason": "deploy", **source}
        if "repo" in source:
            meta.update(branch="main", commitHash=fake_commit(f"{service_id}-v1"), commitMessage="Initial release")
        engine.create(instance, at=deployed_at, meta=meta, creator_id=user.id)
    engine.settle(now)
    return store


def _add_project(store: Store, project_id: str, name: str, environments: dict[str, str], at: float,
                 workspace_id: str = "workspace-acme") -> None:
    store.data.projects.append(Project(id=project_id, name=name, workspace_id=workspace_id, created_at=at, updated_at=at))
    for env_name, env_id in environments.items():
        store.data.environments.append(Environment(id=env_id, name=env_name, project_id=project_id, created_at=at, updated_at=at))


def _add_service(store: Store, project_id: str, service_id: str, name: str, source: dict[str, str], at: float) -> None:
    store.data.services.append(Service(id=service_id, name=name, project_id=project_id, created_at=at, updated_at=at))
    for env in store.environments_of(project_id):
        instance_id = f"instance-{service_id.removeprefix('service-')}-{env.id.removeprefix('env-')}"
        store.data.service_instances.append(ServiceInstance(id=instance_id, service_id=service_id, environment_id=env.id, created_at=at,
                                                            updated_at=at, settings={"source": dict(source), "region": "us-west2"},
                                                            branch="main" if source.get("repo") else None))
