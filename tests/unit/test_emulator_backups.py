# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator's volume backups: workflows, a migration's effect on the database, restores and their staging."""
from __future__ import annotations

from tests.unit.test_emulator_provisioning import CREATE_VOLUME, Client
from tools.railway_emulator.backups import migrate
from tools.railway_emulator.emulator import Emulator, EmulatorConfig
from tools.railway_emulator.model import Deployment

PHASE = 5.0
ENV = "env-production"
VOLUME_IDS = "query V($id: String!) { environment(id: $id) { volumeInstances { edges { node { id serviceId } } } } }"
CREATE = "mutation B($v: String!) { volumeInstanceBackupCreate(volumeInstanceId: $v, name: \"before\") { workflowId } }"
RESTORE = ("mutation R($b: String!, $v: String!) { volumeInstanceBackupRestore(volumeInstanceBackupId: $b, "
           "volumeInstanceId: $v) { workflowId } }")
STATUS = "query W($w: String!) { workflowStatus(workflowId: $w) { status error } }"
LIST = "query L($v: String!) { volumeInstanceBackupList(volumeInstanceId: $v) { id name createdAt } }"
COMMIT = "mutation C($e: String!) { environmentPatchCommitStaged(environmentId: $e, skipDeploys: true) }"
SCHEDULE = "mutation S($v: String!, $k: [VolumeInstanceBackupScheduleKind!]!) { volumeInstanceBackupScheduleUpdate(volumeInstanceId: $v, kinds: $k) }"
SCHEDULES = "query S($v: String!) { volumeInstanceBackupScheduleList(volumeInstanceId: $v) { kind cron } }"


def seeded() -> tuple[Client, str]:
    client = Client(Emulator(EmulatorConfig(clock_scale=0, phase_seconds=PHASE)))
    client.data(CREATE_VOLUME, {"input": {"projectId": "project-backendops-demo", "serviceId": "service-postgres",
                                          "environmentId": ENV, "mountPath": "/var/lib/postgresql/data"}})
    nodes = client.data(VOLUME_IDS, {"id": ENV})["environment"]["volumeInstances"]["edges"]
    return client, next(e["node"]["id"] for e in nodes if e["node"]["serviceId"] == "service-postgres")


def data_of(client: Client, volume_id: str) -> dict:
    return next(v for v in client.emulator.store.data.volume_instances if v.id == volume_id).data


def test_backup_workflow_then_restore_staged_and_committed_rolls_back_and_removes_newer_backups() -> None:
    client, volume = seeded()
    store = client.emulator.store
    deployment = Deployment(id="d", project_id="p", environment_id=ENV, service_id="service-backend", created_at=0,
                            updated_at=0, status="DEPLOYING", status_updated_at=0, stage_started_at=0, snapshot_id="s",
                            upload={"files": ["app/prisma/migrations/001_init/migration.sql", "app/package.json"]})
    migrate(store, deployment, None)
    assert data_of(client, volume) == {"migrations": ["001_init"]}
    workflow = client.data(CREATE, {"v": volume})["volumeInstanceBackupCreate"]["workflowId"]
    assert client.data(STATUS, {"w": workflow})["workflowStatus"] == {"status": "Running", "error": None}
    assert client.data(LIST, {"v": volume})["volumeInstanceBackupList"] == []
    client.settle(PHASE)
    assert client.data(STATUS, {"w": workflow})["workflowStatus"]["status"] == "Complete"
    [backup] = client.data(LIST, {"v": volume})["volumeInstanceBackupList"]
    assert backup["name"] == "before"
    migrate(store, deployment, "002_orders")
    assert data_of(client, volume)["migrations"] == ["001_init", "002_orders (half applied)"]
    client.settle(1)
    newer = client.data(CREATE, {"v": volume})["volumeInstanceBackupCreate"]["workflowId"]
    client.settle(PHASE)
    assert client.data(STATUS, {"w": newer})["workflowStatus"]["status"] == "Complete"
    assert len(client.data(LIST, {"v": volume})["volumeInstanceBackupList"]) == 2
    restore = client.data(RESTORE, {"b": backup["id"], "v": volume})["volumeInstanceBackupRestore"]["workflowId"]
    client.settle(PHASE)
    assert client.data(STATUS, {"w": restore})["workflowStatus"]["status"] == "Complete"
    # Staged, not applied, until the environment's staged changes are committed.
    assert data_of(client, volume)["migrations"][-1] == "002_orders (half applied)"
    client.data(COMMIT, {"e": ENV})
    assert data_of(client, volume) == {"migrations": ["001_init"]}
    assert [b["id"] for b in client.data(LIST, {"v": volume})["volumeInstanceBackupList"]] == [backup["id"]]


def test_backup_fault_ends_the_workflow_in_error_and_lists_nothing() -> None:
    client, volume = seeded()
    client.emulator.faults.arm({"kind": "backup_fail", "message": "disk full"})
    workflow = client.data(CREATE, {"v": volume})["volumeInstanceBackupCreate"]["workflowId"]
    client.settle(PHASE)
    assert client.data(STATUS, {"w": workflow})["workflowStatus"] == {"status": "Error", "error": "disk full"}
    assert client.data(LIST, {"v": volume})["volumeInstanceBackupList"] == []
    assert client.data(STATUS, {"w": "nope"})["workflowStatus"]["status"] == "NotFound"


def test_backup_schedules_are_stored_in_order() -> None:
    client, volume = seeded()
    assert client.data(SCHEDULE, {"v": volume, "k": ["WEEKLY", "DAILY"]})["volumeInstanceBackupScheduleUpdate"] is True
    assert [s["kind"] for s in client.data(SCHEDULES, {"v": volume})["volumeInstanceBackupScheduleList"]] == ["DAILY", "WEEKLY"]
