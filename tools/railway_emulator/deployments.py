# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Deployment lifecycle on the emulated clock.

Each deployment gets a plan of stages when it is created (from the instance settings and an armed fault).
Nothing runs in the background: :meth:`DeploymentEngine.settle` replays every stage transition due up to
"now", in time order, before each request reads or writes state. So a deployment moves only when the
clock moves, log timestamps are exact transition times, and a stage without a duration (approval, hang)
never ends by itself.
"""
from __future__ import annotations

import copy
from typing import Any

from tools.railway_emulator import backups, narration
from tools.railway_emulator.errors import RailwayError
from tools.railway_emulator.faults import FaultBoard
from tools.railway_emulator.model import INSTANCE_DEFAULTS, Deployment, ServiceInstance, Stage
from tools.railway_emulator.state import Store
from tools.railway_emulator.variables import Renderer

# Reported status while a stage runs: pre-deploy command and healthcheck are part of DEPLOYING on Railway.
STAGE_STATUS = {
    "WAITING": "WAITING",
    "NEEDS_APPROVAL": "NEEDS_APPROVAL",
    "QUEUED": "QUEUED",
    "INITIALIZING": "INITIALIZING",
    "BUILDING": "BUILDING",
    "PRE_DEPLOY": "DEPLOYING",
    "DEPLOYING": "DEPLOYING",
    "HEALTHCHECK": "DEPLOYING",
}
# Meta keys that describe what is deployed; redeploys and rollbacks carry them over.
SOURCE_META_KEYS = ("repo", "branch", "commitHash", "commitMessage", "commitAuthor", "image", "message")
RESTARTABLE = frozenset({"SUCCESS", "CRASHED", "SLEEPING"})


def source_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: meta[key] for key in SOURCE_META_KEYS if key in meta}


def can_rollback(deployment: Deployment) -> bool:
    """Railway offers rollback to deployments that were replaced and still have their image."""
    return deployment.image_built and deployment.status == "REMOVED"


class DeploymentEngine:
    """Creates deployments and moves them through their stages."""

    def __init__(self, store: Store, faults: FaultBoard, phase_seconds: float) -> None:
        self.store = store
        self.faults = faults
        self.phase_seconds = phase_seconds

    # -- creation --------------------------------------------------------------------------------

    def create(self, instance: ServiceInstance, *, at: float, meta: dict[str, Any], upload: dict[str, Any] | None = None,
               rebuild: bool = True, frozen_from: Deployment | None = None, creator_id: str | None = None) -> Deployment:
        """A new deployment of ``instance``; ``frozen_from`` reuses that deployment's settings and variables (rollback)."""
        service = self.store.service(instance.service_id)
        fault = self.faults.take_deployment_fault(service.id, service.name)
        if frozen_from is not None:
            settings, variables = copy.deepcopy(frozen_from.settings), dict(frozen_from.variables)
        else:
            settings = {name: copy.deepcopy(instance.setting(name)) for name in INSTANCE_DEFAULTS}
            variables = Renderer(self.store, instance.environment_id).for_deployment(service.id)
        volume = next((v.mount_path for v in self.store.volume_instances_in(instance.environment_id) if v.service_id == service.id), None)
        deployment = Deployment(
            id=self.store.new_id("deployment"),
            project_id=service.project_id,
            environment_id=instance.environment_id,
            service_id=service.id,
            created_at=at,
            updated_at=at,
            status="QUEUED",
            status_updated_at=at,
            stage_started_at=at,
            snapshot_id=self.store.new_id("snapshot"),
            meta=meta,
            fault=fault.to_json() if fault else None,
            settings=settings,
            variables=variables,
            volume=volume,
            upload=upload,
            # Reusing a built image means there is nothing to build.
            image_built=not rebuild,
            app_unhealthy=bool(fault and fault.kind == "app_unhealthy"),
            creator_id=creator_id,
        )
        deployment.stages = self._plan(deployment, rebuild)
        self.store.data.deployments.append(deployment)
        self._enter_stage(deployment, at)
        return deployment

    def _plan(self, deployment: Deployment, rebuild: bool) -> list[Stage]:
        phase = self.phase_seconds
        fault = deployment.fault or {}
        kind, params = fault.get("kind"), fault.get("params", {})
        stages: list[Stage] = []
        if kind == "deploy_waiting":
            stages.append(Stage("WAITING", float(params.get("seconds", phase))))
        if kind == "deploy_needs_approval":
            stages.append(Stage("NEEDS_APPROVAL", None))
        stages.append(Stage("QUEUED", phase))
        stages.append(Stage("INITIALIZING", phase, "SKIPPED" if kind == "deploy_skip" else "ok"))
        # Build faults apply even to image reuse, so that every fault kind works for every trigger.
        if rebuild or kind in ("deploy_fail", "deploy_hang"):
            stages.append(Stage("BUILDING", None if kind == "deploy_hang" else phase, "FAILED" if kind == "deploy_fail" else "ok"))
        if deployment.settings.get("preDeployCommand") or kind == "predeploy_fail":
            stages.append(Stage("PRE_DEPLOY", phase, "FAILED" if kind == "predeploy_fail" else "ok"))
        stages.append(Stage("DEPLOYING", phase, "CRASHED" if kind == "deploy_crash" else "ok"))
        if deployment.settings.get("healthcheckPath") or kind == "healthcheck_fail":
            stages.append(Stage("HEALTHCHECK", phase, "FAILED" if kind == "healthcheck_fail" else "ok"))
        # A failing stage ends the deployment; later stages would never run.
        ending = next((i for i, stage in enumerate(stages) if stage.outcome != "ok"), len(stages) - 1)
        return stages[:ending + 1]

    # -- time ------------------------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Apply every stage transition due at or before ``now``, earliest first."""
        while True:
            due = [
                (d.stage_started_at + d.current_stage.seconds, position, d)
                for position, d in enumerate(self.store.data.deployments)
                if d.current_stage is not None and d.current_stage.seconds is not None
            ]
            if not due:
                return
            at, _position, deployment = min(due, key=lambda item: item[:2])
            if at > now:
                return
            self._finish_stage(deployment, at)

    def _enter_stage(self, deployment: Deployment, at: float) -> None:
        stage = deployment.stages[deployment.stage_index]
        self._set_status(deployment, STAGE_STATUS[stage.name], at)
        deployment.stage_started_at = at
        narration.stage_started(deployment, stage, at, self.store.new_id)

    def _finish_stage(self, deployment: Deployment, at: float) -> None:
        stage = deployment.current_stage
        narration.stage_finished(deployment, stage, at)
        if stage.name == "PRE_DEPLOY":
            failed = (deployment.fault or {}).get("params", {}).get("migration", narration.DEFAULT_MIGRATION)
            backups.migrate(self.store, deployment, failed if stage.outcome != "ok" else None)
        if stage.outcome != "ok":
            self._stop(deployment, stage.outcome, at)
            return
        if stage.name == "BUILDING":
            deployment.image_built = True
        deployment.stage_index += 1
        if deployment.stage_index < len(deployment.stages):
            self._enter_stage(deployment, at)
        else:
            self._activate(deployment, at)

    def _activate(self, deployment: Deployment, at: float) -> None:
        """SUCCESS: the deployment serves traffic and replaces the one that did (only one stays active)."""
        self._set_status(deployment, "SUCCESS", at)
        deployment.stopped = False
        order = self.store.data.deployments.index
        for other in self.store.deployments_of(deployment.environment_id, deployment.service_id):
            if other is deployment or other.status != "SUCCESS":
                continue
            # A deployment that finishes after a newer one already went live is retired straight away.
            retired = other if order(other) < order(deployment) else deployment
            self._retire(retired, at)
            if retired is deployment:
                return

    def _retire(self, deployment: Deployment, at: float) -> None:
        narration.write(deployment, "deploy", ["Stopping Container"], at)
        self._stop(deployment, "REMOVED", at)

    def _stop(self, deployment: Deployment, status: str, at: float) -> None:
        self._set_status(deployment, status, at)
        deployment.stopped = True

    @staticmethod
    def _set_status(deployment: Deployment, status: str, at: float) -> None:
        if deployment.status != status:
            deployment.status = status
            deployment.status_updated_at = at
        deployment.updated_at = at

    # -- actions -------------------------------------------------------------------------------------

    def approve(self, deployment: Deployment, now: float) -> None:
        stage = deployment.current_stage
        if stage is None or stage.name != "NEEDS_APPROVAL":
            raise RailwayError("Deployment does not need approval")
        self._finish_stage(deployment, now)

    def cancel(self, deployment: Deployment, now: float) -> None:
        if not deployment.in_progress:
            raise RailwayError("Deployment is not in progress and cannot be cancelled")
        narration.stage_aborted(deployment, now, "Deployment cancelled")
        self._stop(deployment, "REMOVED", now)

    def restart(self, deployment: Deployment, now: float) -> None:
        if deployment.status not in RESTARTABLE:
            raise RailwayError(f"Deployment cannot be restarted while {deployment.status}")
        narration.write(deployment, "deploy", ["Restarting container", "Starting Container"], now)
        if deployment.status != "SUCCESS":
            self._activate(deployment, now)

    def redeploy(self, deployment: Deployment, now: float, *, use_previous_image: bool = False, reason: str = "redeploy",
                 creator_id: str | None = None) -> Deployment:
        instance = self.store.instance(deployment.environment_id, deployment.service_id)
        meta = {**source_meta(deployment.meta), "reason": reason}
        return self.create(instance, at=now, meta=meta, upload=deployment.upload, rebuild=not (use_previous_image and deployment.image_built),
                           creator_id=creator_id)

    def rollback(self, deployment: Deployment, now: float, creator_id: str | None = None) -> Deployment:
        if not can_rollback(deployment):
            raise RailwayError(f"Deployment cannot be rolled back: only a removed deployment with a built image can (this one is {deployment.status})")
        instance = self.store.instance(deployment.environment_id, deployment.service_id)
        meta = {**source_meta(deployment.meta), "reason": "rollback", "rollbackDeploymentId": deployment.id}
        return self.create(instance, at=now, meta=meta, upload=deployment.upload, rebuild=False, frozen_from=deployment, creator_id=creator_id)
