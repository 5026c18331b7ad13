# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Volume backups, their workflows and restores, and what a migration does to a database's volume.

A backup copies the volume's data when it is asked for and is listed once its workflow completed (one phase of the
emulated clock later). A restore's workflow completes the same way and stages the restore on the environment;
``environmentPatchCommitStaged`` applies it: the volume gets the backup's data back and the backups newer than it are
removed ("restoring removes newer backups"), and the volume's service redeploys unless ``skipDeploys``.
"""
# GraphQL argument names are camelCase; the resolvers take them as keyword arguments verbatim.
# pylint: disable=invalid-name
from __future__ import annotations

import copy
import re
from typing import Any

from tools.railway_emulator.clock import to_iso
from tools.railway_emulator.errors import RailwayError
from tools.railway_emulator.model import Deployment, Environment, VolumeInstance, VolumeInstanceBackup, Workflow
from tools.railway_emulator.state import Store

SCHEDULE_KINDS = ("DAILY", "WEEKLY", "MONTHLY")
# A migration of the deployed source: a directory holding migration.sql under a migrations directory.
MIGRATION_FILE = re.compile(r"(?:^|/)migrations/([^/]+)/migration\.sql$")


def database_volume(store: Store, environment_id: str) -> VolumeInstance | None:
    """The volume of the environment's PostgreSQL service (the service whose variables hold PGDATABASE)."""
    for volume in store.volume_instances_in(environment_id):
        if volume.service_id and "PGDATABASE" in store.variables(environment_id, volume.service_id):
            return volume
    return None


def migrate(store: Store, deployment: Deployment, failed_migration: str | None) -> None:
    """The pre-deploy step's effect on the database: the source's migrations not yet applied are applied; a failing one
    leaves its first half applied (the database is between two schemas)."""
    volume = database_volume(store, deployment.environment_id)
    if volume is None:
        return
    applied = volume.data.setdefault("migrations", [])
    if failed_migration is not None:
        applied.append(f"{failed_migration} (half applied)")
        return
    files = (deployment.upload or {}).get("files") or []
    for name in sorted({m.group(1) for m in (MIGRATION_FILE.search(f) for f in files) if m}):
        if name not in applied:
            applied.append(name)


def settle_workflows(store: Store, now: float) -> None:
    """Finish the workflows due by ``now``: a backup becomes listed, a restore is staged on its environment."""
    for workflow in store.data.workflows:
        if workflow.settled or workflow.done_at > now:
            continue
        workflow.settled = True
        if workflow.error is not None:
            store.data.backups = [b for b in store.data.backups if b.id != workflow.backup_id or workflow.kind != "backup"]
            continue
        if workflow.kind == "restore":
            volume = _volume(store, workflow.volume_instance_id)
            environment = store.environment(volume.environment_id)
            environment.staged_restore = {"volumeInstanceId": volume.id, "backupId": workflow.backup_id}


def apply_staged_restore(store: Store, environment: Environment) -> VolumeInstance | None:
    """environmentPatchCommitStaged's part for a staged restore: the data back, newer backups gone; the volume."""
    staged, environment.staged_restore = environment.staged_restore, None
    if not staged:
        return None
    volume = _volume(store, staged["volumeInstanceId"])
    backup = next(b for b in store.data.backups if b.id == staged["backupId"])
    volume.data = copy.deepcopy(backup.data)
    store.data.backups = [b for b in store.data.backups
                          if b.volume_instance_id != volume.id or b.created_at <= backup.created_at]
    return volume


def _volume(store: Store, volume_instance_id: str) -> VolumeInstance:
    found = store.volume_instance(volume_instance_id)
    if found is None:
        raise RailwayError("Volume instance not found")
    return found


class BackupResolvers:
    """Root fields of volume backups and workflows (mixed into the resolvers' Root, which provides ``ctx``)."""

    ctx: Any

    def _settled_volume(self, volume_instance_id: str) -> VolumeInstance:
        settle_workflows(self.ctx.store, self.ctx.now)
        volume = _volume(self.ctx.store, volume_instance_id)
        self.ctx.environment(volume.environment_id)
        return volume

    def _workflow(self, kind: str, volume: VolumeInstance, backup_id: str, error: str | None = None) -> dict[str, Any]:
        store = self.ctx.store
        workflow = Workflow(id=store.new_id("workflow"), kind=kind, volume_instance_id=volume.id, backup_id=backup_id,
                            done_at=self.ctx.now + self.ctx.engine.phase_seconds, error=error)
        store.data.workflows.append(workflow)
        return {"workflowId": workflow.id}

    def volumeInstanceBackupList(self, _info, volumeInstanceId: str) -> list[dict[str, Any]]:
        volume = self._settled_volume(volumeInstanceId)
        done = {w.backup_id for w in self.ctx.store.data.workflows if w.kind == "backup" and w.settled}
        backups = [b for b in self.ctx.store.data.backups if b.volume_instance_id == volume.id and b.id in done]
        return [{"id": b.id, "name": b.name, "createdAt": to_iso(b.created_at), "creatorId": b.creator_id,
                 "externalId": b.id, "expiresAt": None, "usedMB": 1} for b in sorted(backups, key=lambda b: -b.created_at)]

    def volumeInstanceBackupCreate(self, _info, volumeInstanceId: str, name: str | None = None) -> dict[str, Any]:
        volume = self._settled_volume(volumeInstanceId)
        store = self.ctx.store
        fault = self.ctx.engine.faults.take_backup_fault()
        backup = VolumeInstanceBackup(id=store.new_id("backup"), volume_instance_id=volume.id, name=name or "Manual",
                                      created_at=self.ctx.now, data=copy.deepcopy(volume.data),
                                      creator_id=self.ctx.principal.user_id)
        store.data.backups.append(backup)
        error = (fault.params.get("message") or "Backup failed: the volume could not be snapshotted") if fault else None
        return self._workflow("backup", volume, backup.id, error)

    def volumeInstanceBackupRestore(self, _info, volumeInstanceBackupId: str, volumeInstanceId: str,
                                    replicaServiceIds: list[str] | None = None,  # pylint: disable=unused-argument
                                    wipeServiceIds: list[str] | None = None) -> dict[str, Any]:  # pylint: disable=unused-argument
        volume = self._settled_volume(volumeInstanceId)
        if not any(b.id == volumeInstanceBackupId and b.volume_instance_id == volume.id for b in self.ctx.store.data.backups):
            raise RailwayError("Backup not found")
        return self._workflow("restore", volume, volumeInstanceBackupId)

    def workflowStatus(self, _info, workflowId: str) -> dict[str, Any]:
        settle_workflows(self.ctx.store, self.ctx.now)
        workflow = next((w for w in self.ctx.store.data.workflows if w.id == workflowId), None)
        if workflow is None:
            return {"status": "NotFound", "error": None}
        if not workflow.settled:
            return {"status": "Running", "error": None}
        return {"status": "Error" if workflow.error else "Complete", "error": workflow.error}

    def volumeInstanceBackupScheduleUpdate(self, _info, kinds: list[str], volumeInstanceId: str) -> bool:
        volume = self._settled_volume(volumeInstanceId)
        volume.backup_schedules = [kind for kind in SCHEDULE_KINDS if kind in kinds]
        return True

    def volumeInstanceBackupScheduleList(self, _info, volumeInstanceId: str) -> list[dict[str, Any]]:
        volume = self._settled_volume(volumeInstanceId)
        crons = {"DAILY": "0 3 * * *", "WEEKLY": "0 3 * * 0", "MONTHLY": "0 3 1 * *"}
        return [{"id": f"schedule-{volume.id}-{kind.lower()}", "kind": kind, "name": kind.capitalize(), "cron": crons[kind],
                 "createdAt": to_iso(volume.created_at), "retentionSeconds": None} for kind in volume.backup_schedules]
