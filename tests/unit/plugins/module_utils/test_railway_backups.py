# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The database's backup before a migration, the lock and the record entry: the pure parts and the client calls."""

from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import guards
from ansible_collections.backendops.stack.plugins.module_utils.railway.backups import (
    BackupFailed,
    DatabaseVolume,
    backup_reason,
    ensure_backup_schedules,
    is_migrate_command,
    restore_command,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.client import RailwayTarget
from ansible_collections.backendops.stack.plugins.module_utils.railway.release import previous_successful, rollback_line
from tests.unit.plugins.module_utils.railway_fakes import data, make_client


def volumes():
    """A fresh answer each time (an answer is read once)."""
    return data(environment={"volumeInstances": {"edges": [
        {"node": {"id": "vi-1", "mountPath": "/data", "service": {"id": "s-r", "name": "Redis"},
                  "volume": {"id": "v-1", "name": "redis-volume"}}},
        {"node": {"id": "vi-2", "mountPath": "/var/lib/postgresql/data", "service": {"id": "s-p", "name": "Postgres"},
                  "volume": {"id": "v-2", "name": "postgres-volume"}}}]}})


def test_a_migrate_command_is_recognised_in_either_form():
    assert is_migrate_command(["npx prisma migrate deploy"])
    assert is_migrate_command("bin/rails db:migrate")
    assert not is_migrate_command(["node scripts/warm-cache.js"])
    assert not is_migrate_command(None)


def test_a_backup_only_when_the_release_migrates_with_pending_migrations():
    migrate = ["npx prisma migrate deploy"]
    assert backup_reason(migrate, True, "a" * 64, "a" * 64) is None
    assert backup_reason(migrate, False, "a" * 64, "b" * 64) is None
    assert backup_reason(["node start"], True, "a" * 64, "b" * 64) is None
    # Never deployed: its migrations never ran, so the database holds nothing of the app yet.
    assert backup_reason(migrate, True, "a" * 64, None, served=False) is None
    assert "digest bbbbbbbbbbbb -> aaaaaaaaaaaa" in backup_reason(migrate, True, "a" * 64, "b" * 64)
    assert "no successful release" in backup_reason(migrate, True, "a" * 64, None)
    assert "not on the controller" in backup_reason(migrate, True, None, "b" * 64)
    assert restore_command("x -e railway_restore_backup={backup}", "bk-1") == "x -e railway_restore_backup=bk-1"


def test_back_up_waits_for_the_workflow_and_finds_the_backup_by_name():
    client, adapter, _clock = make_client([
        volumes(), data(volumeInstanceBackupCreate={"workflowId": "w-1"}),
        data(workflowStatus={"status": "Running", "error": None}), data(workflowStatus={"status": "Complete", "error": None}),
        data(volumeInstanceBackupList=[{"id": "bk-2", "name": "before x", "createdAt": "t"}, {"id": "bk-1", "name": "old", "createdAt": "t"}]),
        data(volumeInstanceBackupRestore={"workflowId": "w-2"}), data(workflowStatus={"status": "Complete", "error": None}),
        data(environmentPatchCommitStaged="c-1")])
    database = DatabaseVolume(client, "e", "Postgres", timeout=60, interval=0.01, sleep=lambda seconds: None)
    assert database.find()["id"] == "vi-2"
    backup = database.back_up("before x")
    assert backup == {"id": "bk-2", "name": "before x", "workflow_id": "w-1", "volume_instance_id": "vi-2",
                      "volume": "volume postgres-volume of Postgres"}
    assert database.restore("bk-2", "restore")["backup_id"] == "bk-2"
    sent = [entry["json"]["operationName"] for entry in adapter.sent]
    assert sent == ["VolumeInstances", "VolumeInstanceBackupCreate", "WorkflowStatus", "WorkflowStatus", "VolumeInstanceBackupList",
                    "VolumeInstanceBackupRestore", "WorkflowStatus", "EnvironmentPatchCommitStaged"]
    assert adapter.sent[-1]["json"]["variables"] == {"environmentId": "e", "commitMessage": "restore", "skipDeploys": False}


def test_a_failed_backup_workflow_is_one_line():
    client, _adapter, _clock = make_client([volumes(), data(volumeInstanceBackupCreate={"workflowId": "w-1"}),
                                            data(workflowStatus={"status": "Error", "error": "disk full"})])
    database = DatabaseVolume(client, "e", "Postgres", timeout=60, interval=0.01, sleep=lambda seconds: None)
    database.find()
    with pytest.raises(BackupFailed, match="The backup of volume postgres-volume of Postgres ended Error: disk full"):
        database.back_up("before")


def test_a_foreign_deployment_is_named_with_who_started_it():
    deployment = {"id": "d-9", "status": "BUILDING", "createdAt": "2026-12-06T18:00:00Z",
                  "creator": {"name": "Ada", "email": "ada@example.com"}, "meta": {"reason": "deploy", "commitHash": "f" * 40}}
    line = guards.foreign_line("backend", deployment)
    assert line.startswith("Nothing was sent: deployment d-9 of service backend is BUILDING")
    assert "started by Ada <ada@example.com> (reason deploy, commit ffffffffffff)" in line
    assert "wait_for_foreign=true" in line
    assert guards.started_by({"meta": {"reason": "redeploy"}}) == "reason redeploy"
    assert guards.started_by({}) == "no creator Railway names (an automatic deployment)"


def test_the_record_entry_holds_ids_and_digests_only():
    target = RailwayTarget({"id": "p", "name": "shop"}, {"id": "e", "name": "production"}, {"id": "s", "name": "backend"}, [], [])
    entry = guards.record_entry({"backend": "d-1"}, "sha", None, "m" * 64, "bk-1", "restored", "step deploy")
    assert entry == {"kind": "railway", "deployments": {"backend": "d-1"}, "source_digest": "sha", "migrations_digest": "m" * 64,
                     "backup": "bk-1", "outcome": "restored", "detail": "step deploy"}
    assert guards.record_target(target) == "shop/production"


def test_a_record_that_cannot_be_written_is_a_warning_naming_the_file(tmp_path):
    target = RailwayTarget({"id": "p", "name": "shop"}, {"id": "e", "name": "production"}, {"id": "s", "name": "backend"}, [], [])
    warnings = []
    path = tmp_path / "releases.jsonl"
    assert guards.write_record(str(path), target, warnings.append, deployments={"backend": "d-1"}, outcome="rolled back")
    assert '"target": "shop/production"' in path.read_text() and warnings == []
    (tmp_path / "file").write_text("")
    blocked = str(tmp_path / "file" / "releases.jsonl")  # its directory is a file
    assert not guards.write_record(blocked, target, warnings.append, deployments={}, outcome="restored")
    assert len(warnings) == 1 and warnings[0].startswith("The release was not recorded in %s: " % blocked)


def test_backup_schedules_are_set_only_when_they_differ_and_planned_in_check_mode():
    client, adapter, _clock = make_client([
        volumes(), data(volumeInstanceBackupScheduleList=[{"kind": "WEEKLY"}, {"kind": "DAILY"}]),
        volumes(), data(volumeInstanceBackupScheduleList=[{"kind": "DAILY"}]), data(volumeInstanceBackupScheduleUpdate=True),
        volumes(), data(volumeInstanceBackupScheduleList=[{"kind": "DAILY"}])])
    assert ensure_backup_schedules(client, "e", "Postgres", ["DAILY", "WEEKLY"], False)["changed"] is False
    changed = ensure_backup_schedules(client, "e", "Postgres", ["MONTHLY", "DAILY"], False)
    assert changed["line"] == "backup schedules of Postgres: DAILY -> DAILY, MONTHLY"
    assert adapter.sent[4]["json"]["variables"] == {"volumeInstanceId": "vi-2", "kinds": ["DAILY", "MONTHLY"]}
    planned = ensure_backup_schedules(client, "e", "Postgres", [], True)
    assert (planned["changed"], planned["line"]) == (True, "backup schedules of Postgres: DAILY -> none")
    assert len(adapter.sent) == 7
    assert ensure_backup_schedules(client, None, "Postgres", ["DAILY"], True)["line"] == "backup schedules of Postgres: DAILY"


def test_rollback_goes_to_the_deployment_that_served_before_and_refuses_outside_retention():
    newest_first = [{"id": "d-3", "status": "SUCCESS"}, {"id": "d-2", "status": "FAILED"},
                    {"id": "d-1", "status": "REMOVED", "canRollback": True}, {"id": "d-0", "status": "REMOVED", "canRollback": False}]
    assert previous_successful(newest_first, "d-3")["id"] == "d-1"
    assert rollback_line("backend", "d-3", newest_first[2]) is None
    assert previous_successful(newest_first, "d-1")["id"] == "d-0"
    assert rollback_line("backend", "d-1", newest_first[3]) == (
        "deployment d-0 of service backend is outside Railway's rollback retention window (canRollback is false)")
    assert previous_successful(newest_first, "d-0") is None
    assert "no successful deployment before d-0" in rollback_line("backend", "d-0", None)


def test_waiting_for_a_foreign_deployment_polls_it_until_it_ends():
    client, adapter, _clock = make_client([data(deployment={"id": "d-9", "status": "BUILDING"}),
                                           data(deployment={"id": "d-9", "status": "SUCCESS"})])
    [ended] = guards.wait_for_foreign(client, [{"id": "d-9", "status": "BUILDING"}], timeout=60, interval=0.01)
    assert (ended["status"], ended["timed_out"]) == ("SUCCESS", False)
    assert [entry["json"]["operationName"] for entry in adapter.sent] == ["Deployment", "Deployment"]
