# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local releases are safe (issue #23): one stack of the ts-api fixture app, a few runs of playbooks/local.yml.

A second migration that fails half-way (it deletes every row, commits, then fails) leaves the rows there, the
previous backend serving, a 0600 dump and a record saying "restored"; a run without a new migration takes no backup;
a second release waits for the first one's lock and then fails naming it; a rollback answers with the previous
release's images, healthy, and names the backup taken before the newer release's migration, which the documented
restore (`compose_stack_state=restored`) brings back.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.release_lock import ReleaseLock
from evidence.stack import LocalStack
from support import REPO_ROOT, docker, request_json, run_playbook

API_KEY = "fixture-api-key-0123456789"
MIGRATIONS = Path("prisma") / "migrations"
# Half-way: the delete is committed before the statement that fails, so only the backup brings the rows back.
BREAKS_HALF_WAY = 'DELETE FROM "notes";\nCOMMIT;\nSELECT 1 / 0;\n'
ADDS_A_COLUMN = 'ALTER TABLE "notes" ADD COLUMN "tag" TEXT;\n'


@pytest.fixture(name="stack", scope="module")
def stack_fixture(tmp_path_factory):
    stack = LocalStack("pytest-releases", tmp_path_factory.mktemp("releases"), env={"API_KEY": API_KEY},
                       app=REPO_ROOT / "tests" / "fixtures" / "apps" / "ts-api", health_path="/healthz")
    stack.copy_source()
    try:
        stack.local_yml()
        yield stack
    finally:
        stack.destroy()


def records(stack: LocalStack) -> list[dict]:
    return [json.loads(line) for line in (stack.project_dir / "releases.jsonl").read_text().splitlines()]


def backups(stack: LocalStack) -> list[Path]:
    directory = stack.project_dir / "backups"
    return sorted(directory.glob("*.dump")) if directory.is_dir() else []


def backend_image(stack: LocalStack) -> str:
    return docker("inspect", "--format", "{{.Config.Image}}", f"{stack.project}-backend-1").stdout.strip()


def add_migration(stack: LocalStack, name: str, sql: str) -> Path:
    directory = stack.source / MIGRATIONS / name
    directory.mkdir()
    (directory / "migration.sql").write_text(sql)
    return directory


def said(run) -> str:
    """The run's output with its lines joined: the yaml callback wraps long messages."""
    return " ".join(run.output.split())


def note_texts(stack: LocalStack, ids: list[int]) -> list[str]:
    return [request_json(f"{stack.url}/api/notes/{note_id}")[1]["text"] for note_id in ids]


def test_a_migration_failing_half_way_restores_the_rows_and_the_previous_backend_serves(stack):
    first = records(stack)[-1]
    assert first["outcome"] == "released" and first["backup"] is None  # a new database: nothing to back up
    ids = [request_json(f"{stack.url}/api/notes", "POST", {"text": f"row {n}"}, {"x-api-key": API_KEY})[1]["id"]
           for n in range(3)]
    stack.note_ids = ids  # read again after the hand restore
    broken = add_migration(stack, "20261202000000_breaks_half_way", BREAKS_HALF_WAY)
    try:
        planned = stack.local_yml("--check")
        assert "back up the database to backups/" in said(planned) and "before migrating" in said(planned)

        run = stack.local_yml(check=False)
        assert run.rc != 0
        assert "the migration failed" in said(run) and "previous containers keep serving" in said(run)
        assert "the database was restored from backups/" in said(run)
        assert note_texts(stack, ids) == ["row 0", "row 1", "row 2"]
        assert backend_image(stack) == first["images"]["backend"]
        assert request_json(f"{stack.url}/healthz")[0] == 200
        dumps = backups(stack)
        assert len(dumps) == 1 and dumps[0].stat().st_mode & 0o777 == 0o600
        failed = records(stack)[-1]
        assert failed["outcome"] == "restored" and failed["backup"] == dumps[0].name
        assert failed["images"]["backend"] != first["images"]["backend"]
        assert API_KEY not in (stack.project_dir / "releases.jsonl").read_text()
    finally:
        for path in broken.iterdir():
            path.unlink()
        broken.rmdir()


def test_a_release_without_a_new_migration_takes_no_backup(stack):
    before = backups(stack)
    stack.local_yml()
    assert backups(stack) == before
    last = records(stack)[-1]
    assert last["outcome"] == "released" and last["backup"] is None


def test_a_second_release_waits_for_the_lock_then_fails_naming_the_first(stack):
    holder = ReleaseLock(str(stack.project_dir), timeout=0)
    holder.acquire()
    try:
        run = stack.local_yml(check=False, compose_stack_lock_timeout=3)
    finally:
        holder.release()
    assert run.rc != 0
    assert f"Another release of stack {stack.name} is running (host " in said(run) and "held its lock" in said(run)
    assert f"PID {os.getpid()}," in said(run)
    assert backend_image(stack) == records(stack)[-1]["images"]["backend"]  # nothing changed meanwhile


def test_a_rollback_answers_with_the_previous_release_and_names_the_backup_of_the_newer_one(stack):
    previous = records(stack)[-1]
    add_migration(stack, "20261203000000_adds_a_tag", ADDS_A_COLUMN)
    stack.local_yml()
    newer = records(stack)[-1]
    assert newer["outcome"] == "released" and newer["backup"] and newer["migrations"] == ["20261203000000_adds_a_tag"]
    assert backend_image(stack) == newer["images"]["backend"] != previous["images"]["backend"]

    run = stack.local_yml(compose_stack_state="rolled_back")
    assert f"Rolled back to the release of {previous['time']}" in said(run) and "is healthy" in said(run)
    assert f"make restore BACKUP={newer['backup']}" in said(run)
    assert backend_image(stack) == previous["images"]["backend"]
    assert request_json(f"{stack.url}/healthz")[0] == 200
    assert records(stack)[-1]["outcome"] == "rolled back"

    # The restore by hand it offers: the database as it was before the newer release's migration.
    restored = stack.local_yml(compose_stack_state="restored", compose_stack_backup=newer["backup"])
    assert f"restored from backups/{newer['backup']}" in said(restored)
    columns = stack.compose("exec", "-T", "postgres", "psql", "-U", "app", "-d", "app", "-tAc",
                            "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes'").stdout.split()
    assert "tag" not in columns and "text" in columns
    assert note_texts(stack, stack.note_ids) == ["row 0", "row 1", "row 2"]
    assert records(stack)[-1]["outcome"] == "restored" and records(stack)[-1]["kind"] == "restore"
    listed = run_playbook("playbooks/releases.yml", "-e", json.dumps({"compose_stack_project_dir": str(stack.project_dir)}))
    assert listed.rc == 0 and all(outcome in listed.output for outcome in ("released", "restored", "rolled back"))
