# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator's data model and its JSON form (``/_emulator/state`` and ``--seed`` share that form).

Times are epoch floats in memory and RFC 3339 strings in JSON: every field named ``*_at`` or
``timestamp`` is a time. JSON keys are the camelCase of the field names, like Railway's own fields.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from tools.railway_emulator.clock import parse_time, to_iso

# Statuses in which a deployment is still moving (or blocked waiting for someone).
IN_PROGRESS_STATUSES = frozenset({"WAITING", "NEEDS_APPROVAL", "QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING"})

# Railway's documented API defaults for a service instance (docs: manage-services); ``None`` = unset.
INSTANCE_DEFAULTS: dict[str, Any] = {
    "buildCommand": None,
    "builder": "RAILPACK",
    "cronSchedule": None,
    "dockerfilePath": None,
    "drainingSeconds": None,
    "healthcheckPath": None,
    "healthcheckTimeout": None,
    "ipv6EgressEnabled": None,
    "multiRegionConfig": None,
    "nixpacksPlan": None,
    "numReplicas": 1,
    "overlapSeconds": None,
    "preDeployCommand": None,
    "railwayConfigFile": None,
    "region": None,
    "restartPolicyMaxRetries": 10,
    "restartPolicyType": "ON_FAILURE",
    "rootDirectory": None,
    "sleepApplication": False,
    "source": None,
    "startCommand": None,
    "watchPatterns": [],
}

# Railway applies this when healthcheckTimeout is unset (docs: deployments/healthchecks).
DEFAULT_HEALTHCHECK_TIMEOUT = 300


@dataclass
class User:
    id: str
    name: str
    email: str
    created_at: float
    avatar: str | None = None


@dataclass
class Workspace:
    id: str
    name: str
    created_at: float


@dataclass
class AccountToken:
    """An account token (``user_id``) or a workspace token (``workspace_id``, no user: it cannot query ``me``)."""

    token: str
    user_id: str | None = None
    workspace_id: str | None = None


@dataclass
class ProjectToken:
    id: str
    name: str
    token: str
    project_id: str
    environment_id: str
    created_at: float


@dataclass
class Project:
    id: str
    name: str
    workspace_id: str
    created_at: float
    updated_at: float
    description: str | None = None


@dataclass
class Environment:
    id: str
    name: str
    project_id: str
    created_at: float
    updated_at: float
    is_ephemeral: bool = False
    # The environment it was created as a copy of (environmentCreate's sourceEnvironmentId), if any.
    source_environment_id: str | None = None
    # Whether the copy was asked for in the background (applyChangesInBackground not false): Railway may then answer
    # before the copy exists. The emulator copies at once either way and records the request, for tests.
    copied_in_background: bool = False
    # The patch staged by environmentStageChanges, applied by environmentPatchCommitStaged.
    staged_patch: dict[str, Any] | None = None
    # A restored backup waiting to be applied ({"volumeInstanceId", "backupId"}): a completed restore workflow stages
    # it, environmentPatchCommitStaged applies it.
    staged_restore: dict[str, Any] | None = None


@dataclass
class Service:
    id: str
    name: str
    project_id: str
    created_at: float
    updated_at: float
    icon: str | None = None


@dataclass
class ServiceInstance:
    id: str
    service_id: str
    environment_id: str
    created_at: float
    updated_at: float
    settings: dict[str, Any] = field(default_factory=dict)
    # The branch a repository-connected instance deploys on every push (Railway's deployment trigger).
    branch: str | None = None

    def setting(self, name: str) -> Any:
        return self.settings.get(name, INSTANCE_DEFAULTS[name])


@dataclass
class VariableScope:
    """Variables of one service in one environment; ``service_id`` None = the environment's shared variables."""

    environment_id: str
    service_id: str | None
    values: dict[str, str] = field(default_factory=dict)
    # Sealed names: their values reach deployments but no read returns them (Railway's sealed variables).
    sealed: list[str] = field(default_factory=list)


@dataclass
class Domain:
    id: str
    domain: str
    project_id: str
    environment_id: str
    service_id: str
    created_at: float
    updated_at: float
    suffix: str = "up.railway.app"
    target_port: int | None = None


@dataclass
class Volume:
    """A persistent volume of a project; it is mounted per environment through its volume instances."""

    id: str
    name: str
    project_id: str
    created_at: float


@dataclass
class VolumeInstance:
    id: str
    volume_id: str
    environment_id: str
    service_id: str | None
    mount_path: str
    created_at: float
    size_mb: int = 5000
    # What the database on the volume holds, as far as a test needs to see it: the migrations applied to it (a
    # pre-deploy step adds those of the deployed source; one failing half-way leaves its part applied).
    data: dict[str, Any] = field(default_factory=lambda: {"migrations": []})
    # volumeInstanceBackupScheduleUpdate's kinds (DAILY, WEEKLY, MONTHLY).
    backup_schedules: list[str] = field(default_factory=list)


@dataclass
class VolumeInstanceBackup:
    """A backup of a volume instance: a copy of its data when it was asked for, listed once its workflow completed."""

    id: str
    volume_instance_id: str
    name: str
    created_at: float
    data: dict[str, Any]
    creator_id: str | None = None


@dataclass
class Workflow:
    """A backup's or a restore's workflow: Running until ``done_at`` on the emulated clock, then Complete or Error."""

    id: str
    kind: str
    volume_instance_id: str
    backup_id: str
    done_at: float
    error: str | None = None
    settled: bool = False


@dataclass
class LogLine:
    timestamp: float
    message: str
    severity: str = "info"


@dataclass
class Event:
    id: str
    step: str
    created_at: float
    completed_at: float | None = None
    payload: dict[str, Any] | None = None


@dataclass
class Stage:
    """One step of a deployment's plan; ``seconds`` None waits for an action (approval) or forever (hang)."""

    name: str
    seconds: float | None
    outcome: str = "ok"


@dataclass
class Deployment:
    id: str
    project_id: str
    environment_id: str
    service_id: str
    created_at: float
    updated_at: float
    status: str
    status_updated_at: float
    stage_started_at: float
    snapshot_id: str
    meta: dict[str, Any] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)
    stage_index: int = 0
    fault: dict[str, Any] | None = None
    # What the deployment runs with, frozen at creation like a real container's environment.
    settings: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    # The mount path of the service's volume when the deployment started (None: it ran without one).
    volume: str | None = None
    upload: dict[str, Any] | None = None
    image_built: bool = False
    app_unhealthy: bool = False
    stopped: bool = False
    creator_id: str | None = None
    build_logs: list[LogLine] = field(default_factory=list)
    deploy_logs: list[LogLine] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS_STATUSES

    @property
    def current_stage(self) -> Stage | None:
        if self.in_progress and self.stage_index < len(self.stages):
            return self.stages[self.stage_index]
        return None


@dataclass
class State:
    user: User
    workspaces: list[Workspace]
    account_tokens: list[AccountToken]
    project_tokens: list[ProjectToken]
    projects: list[Project] = field(default_factory=list)
    environments: list[Environment] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    service_instances: list[ServiceInstance] = field(default_factory=list)
    variables: list[VariableScope] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    domains: list[Domain] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    volume_instances: list[VolumeInstance] = field(default_factory=list)
    backups: list[VolumeInstanceBackup] = field(default_factory=list)
    workflows: list[Workflow] = field(default_factory=list)
    # Feeds deterministic ids, so a reset replays the same ids for the same calls.
    sequence: int = 0


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _is_time(name: str) -> bool:
    return name.endswith("_at") or name == "timestamp"


def to_json(value: Any, *, is_time: bool = False) -> Any:
    """JSON-ready copy of a model object."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): to_json(getattr(value, f.name), is_time=_is_time(f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if is_time and isinstance(value, (int, float)):
        return to_iso(value)
    return value


def _model_class(hint: Any) -> type | None:
    """The dataclass inside ``X``, ``X | None`` or ``list[X]`` hints, else None."""
    if dataclasses.is_dataclass(hint):
        return hint
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) in (typing.Union, list):
        for arg in typing.get_args(hint):
            if dataclasses.is_dataclass(arg):
                return arg
    return None


def from_json(cls: type, data: dict[str, Any]) -> Any:
    """Model object of class ``cls`` from its JSON form; unknown keys are an error, so seed typos surface."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {_camel(f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {unknown}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        model_field = fields[key]
        nested = _model_class(hints[model_field.name])
        if value is None:
            kwargs[model_field.name] = None
        elif nested is not None and isinstance(value, list):
            kwargs[model_field.name] = [from_json(nested, item) for item in value]
        elif nested is not None:
            kwargs[model_field.name] = from_json(nested, value)
        elif _is_time(model_field.name):
            kwargs[model_field.name] = parse_time(value)
        else:
            kwargs[model_field.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{cls.__name__}: {exc}") from None
