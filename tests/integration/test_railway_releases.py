# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A release that keeps the database safe, against the emulator: the backup before a migration and the restore after a
failed one (in that order around the pre-deploy step), no backup without a pending migration, the lock against a
foreign deployment, the record of each run, the restore by hand and the rollback of the last recorded release."""
from __future__ import annotations

import json
import shutil

import pytest

from test_railway_playbook import SECRETS, RailwayPlaybook, assert_clean_failure, source_fixture  # noqa: F401  # pylint: disable=unused-import
from test_railway_settings_playbook import attach_volume, graphql
from tools.railway_emulator.clock import parse_time

BROKEN = "20990101000000_add_half"


@pytest.fixture(name="railway")
def railway_fixture(playbook, emulator, tmp_path) -> RailwayPlaybook:
    attach_volume(emulator, "service-postgres")
    return RailwayPlaybook(playbook, emulator, tmp_path)


def database(emulator) -> dict:
    return next(v for v in emulator.state()["volumeInstances"] if v["serviceId"] == "service-postgres"
                and v["environmentId"] == "env-production")


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def add_broken_migration(source):
    (source / "prisma" / "migrations" / BROKEN).mkdir()
    (source / "prisma" / "migrations" / BROKEN / "migration.sql").write_text("ALTER TABLE a ADD b int; SELECT 1/0;")


def test_backup_before_migrating_restore_after_a_failure_and_none_without_a_pending_migration(railway, emulator, source, tmp_path):
    record = tmp_path / "data" / "releases.jsonl"
    common = {"railway_source_path": str(source), "railway_record_file": str(record)}
    planned = railway.run("--check", **common)
    assert planned.rc == 0 and planned.counters["mutations"] == 0, planned.outcome.output[-3000:]
    assert any(line.startswith("backup: would back up volume postgres-volume of Postgres before migrating, because no "
                               "successful release") for line in planned.plan)
    assert not record.exists()
    first = railway.run(**common)
    assert first.rc == 0, first.outcome.output[-3000:]
    # No release recorded yet: the first migrating release backs up, names it in the plan, and records it.
    assert any(line.startswith("backup: back up volume postgres-volume of Postgres before migrating") for line in first.plan)
    assert first.counters["mutation_fields"]["volumeInstanceBackupCreate"] == 1
    applied = database(emulator)["data"]["migrations"]
    assert applied == ["20261127104203_create_bug_reports"]
    [released] = records(record)
    assert released["outcome"] == "released" and released["backup"] and len(released["migrations_digest"]) == 64
    assert released["deployments"] == {"backend": railway.deployments()[-1]["id"]}
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    assert "canary" not in record.read_text()

    # A new migration that fails half-way: backed up first, restored after, and the record says so.
    add_broken_migration(source)
    emulator.inject("predeploy_fail", migration=BROKEN)
    failed = railway.run(railway_restore_on_migration_failure=True, **common)
    assert_clean_failure(failed)
    assert failed.failure.startswith("The database migration step (pre-deploy command 'npx prisma migrate deploy') failed")
    state = emulator.state()
    backups = [b for b in state["backups"] if b["volumeInstanceId"] == database(emulator)["id"]]
    taken = backups[-1]
    assert "The database was restored from backup %s (taken before migrating)." % taken["id"] in failed.failure
    deployment = railway.deployments()[-1]
    assert deployment["status"] == "FAILED"
    pre_deploy = next(e for e in deployment["events"] if e["step"] == "PRE_DEPLOY_COMMAND")
    restore = next(w for w in state["workflows"] if w["kind"] == "restore")
    # In order: the backup before the deployment's pre-deploy step, the restore after it failed.
    assert parse_time(taken["createdAt"]) <= parse_time(deployment["createdAt"]) <= parse_time(pre_deploy["createdAt"])
    assert parse_time(restore["doneAt"]) >= parse_time(pre_deploy["completedAt"])
    assert database(emulator)["data"]["migrations"] == applied
    assert failed.counters["mutation_fields"]["volumeInstanceBackupRestore"] == 1
    assert failed.counters["mutation_fields"]["environmentPatchCommitStaged"] == 1
    last = records(record)[-1]
    assert (last["outcome"], last["backup"]) == ("restored", taken["id"])

    # The migration fixed by removing it: the migrations are those of the last successful release, so no backup.
    shutil.rmtree(source / "prisma" / "migrations" / BROKEN)
    again = railway.run(**common)
    assert again.rc == 0, again.outcome.output[-3000:]
    assert "volumeInstanceBackupCreate" not in again.counters["mutation_fields"]
    assert not any(line.startswith("backup:") for line in again.plan)

    # A backup that fails ends the release before anything changed.
    add_broken_migration(source)
    emulator.inject("backup_fail", message="snapshot quota reached")
    unsafe = railway.run(**common)
    assert_clean_failure(unsafe)
    assert unsafe.failure.startswith("Nothing was changed: step backup (backing up the database before migrating) failed: "
                                     "The backup of volume postgres-volume of Postgres ended Error: snapshot quota reached")
    assert unsafe.counters["mutation_fields"] == {"volumeInstanceBackupCreate": 1} and unsafe.counters["uploads"] == 0


def test_lock_restore_by_hand_and_rollback_of_the_last_release(railway, emulator, source, tmp_path):
    record = tmp_path / "releases.jsonl"
    common = {"railway_source_path": str(source), "railway_record_file": str(record)}
    # A deployment someone else started, still building: the release refuses, sending nothing, and names it.
    emulator.inject("deploy_hang", service="backend")
    foreign = graphql(emulator, "mutation { serviceInstanceDeployV2(environmentId: \"env-production\", serviceId: \"service-backend\") }",
                      {})["data"]["serviceInstanceDeployV2"]
    refused = railway.run(**common)
    assert_clean_failure(refused)
    assert refused.counters["mutations"] == 0
    assert refused.failure.startswith("Nothing was sent: deployment %s of service backend is BUILDING" % foreign)
    assert "started by Emu Developer" in refused.failure and "wait_for_foreign=true" in refused.failure
    assert not record.exists()
    graphql(emulator, "mutation($id: String!) { deploymentCancel(id: $id) }", {"id": foreign})

    released = railway.run(**common)
    assert released.rc == 0, released.outcome.output[-3000:]
    serving = railway.deployments()[-1]["id"]
    # Without restore_on_migration_failure the line gives the command that restores the backup; it does.
    add_broken_migration(source)
    emulator.inject("predeploy_fail", migration=BROKEN)
    failed = railway.run(**common)
    assert_clean_failure(failed)
    backup = records(record)[-1]["backup"]
    assert records(record)[-1]["outcome"] == "failed"
    assert "The database may be half migrated: restore backup %s (taken before migrating) with: ansible-playbook -i " % backup in failed.failure
    assert "-e railway_mode=restore -e railway_restore_backup=%s" % backup in failed.failure
    assert database(emulator)["data"]["migrations"][-1] == BROKEN + " (half applied)"
    restored = railway.run(railway_mode="restore", railway_restore_backup=backup, **common)
    assert restored.rc == 0, restored.outcome.output[-3000:]
    assert BROKEN + " (half applied)" not in database(emulator)["data"]["migrations"]
    assert records(record)[-1]["outcome"] == "restored"

    # Rollback of the last successful release: the deployment that served before it serves again.
    shutil.rmtree(source / "prisma" / "migrations" / BROKEN)
    (source / "README.rollback").write_text("a change of source\n")
    second = railway.run(**common)
    assert second.rc == 0, second.outcome.output[-3000:]
    assert railway.deployments()[-1]["status"] == "SUCCESS" and railway.deployments()[-1]["id"] != serving
    rollback = railway.run(railway_mode="rollback", **common)
    assert rollback.rc == 0, rollback.outcome.output[-3000:]
    assert rollback.counters["mutation_fields"] == {"deploymentRollback": 1}
    now = railway.deployments()[-1]
    assert now["status"] == "SUCCESS" and now["meta"]["rollbackDeploymentId"] == serving
    assert railway.app("api/health/details", SECRETS["HEALTH_TOKEN"]).json()["deploymentId"] == now["id"]
    assert records(record)[-1]["outcome"] == "rolled back"
