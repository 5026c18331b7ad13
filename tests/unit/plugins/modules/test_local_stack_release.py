# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backendops.stack.local_stack's release order, against a stand-in docker CLI: the backup, then the migrate step
with the new image, and only after it succeeded the backend; a failed migration restores the backup and swaps
nothing."""
from __future__ import annotations

import os

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import pg_backup
from ansible_collections.backendops.stack.plugins.modules import local_stack as module

from ansible_collections.backendops.stack.tests.unit.plugins.module_utils.test_compose_file import spec


class FakeModule:
    """Answers the docker CLI by its arguments; records every command."""

    check_mode = False
    _diff = False

    def __init__(self, project_dir, migrate_exit):
        self.params = dict(name="unit", project_dir=project_dir, bind_address="127.0.0.1", backend_port=3100,
                           profile=None, health_path="", db_user="app", db_name="app", backups_keep=5,
                           wait_timeout=30, log_lines=5, lock_timeout=0)
        self.migrate_exit = migrate_exit
        self.commands = []
        self.no_log_values = set()
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def get_bin_path(self, *_args, **_kwargs):
        return None

    def run_command(self, argv, environ_update=None, data=None, binary_data=False, encoding="utf-8"):
        args = argv[1:]
        self.commands.append(args)
        out = ""
        if args[:1] == ["compose"] and "ps" in args:
            out = "c-" + args[-1] + "\n"
        elif args[:1] == ["wait"]:
            out = "%d\n" % self.migrate_exit
        elif args[:1] == ["compose"] and "logs" in args:
            out = "Applying migration `2_more`\n" + ("" if self.migrate_exit == 0 else "Error: P3018 relation exists\n")
        elif "pg_dump" in args:
            out = b"PGDMP"
        if encoding is None:
            return 0, out if isinstance(out, bytes) else out.encode(), b""
        return 0, out, ""


def stack(tmp_path, migrate_exit):
    fake = FakeModule(str(tmp_path), migrate_exit)
    made = module.Stack(fake)
    made.spec = spec()
    made.profile = made.spec["profile"]
    return fake, made


def ups(fake):
    return [args for args in fake.commands if args[:1] == ["compose"] and "up" in args]


def test_a_failed_migration_restores_the_backup_and_never_touches_the_backend(tmp_path):
    fake, made = stack(tmp_path, migrate_exit=1)
    with pytest.raises(module.StackError) as error:
        made.start("20261206T183005Z.dump", serving=True)
    message = str(error.value)
    assert "the migration failed (exit code 1), so the new image was not swapped in and the previous containers keep serving" in message
    assert "the database was restored from backups/20261206T183005Z.dump" in message and "\n" not in message
    # Only PostgreSQL and the migrate service were brought up; the backend's containers were left as they were.
    assert [args[-1] for args in ups(fake)] == ["postgres", "migrate"]
    steps = [next((word for word in ("pg_dump", "wait", "psql", "pg_restore") if word in args), None) for args in fake.commands]
    steps = [step for step in steps if step]
    assert steps == ["pg_dump", "wait", "psql", "pg_restore"]
    assert made.release["restored"] and made.release["backup"] == "20261206T183005Z.dump"
    assert made.release["migrations"] == ["2_more"]
    dump = os.path.join(str(tmp_path), pg_backup.BACKUP_DIR, "20261206T183005Z.dump")
    assert os.stat(dump).st_mode & 0o777 == 0o600


def test_after_a_migration_that_succeeded_the_whole_project_comes_up(tmp_path):
    fake, made = stack(tmp_path, migrate_exit=0)
    made.start(None, serving=True)
    # Last the whole project (no service named): Compose hashes each service with its dependencies.
    assert [args[-1] for args in ups(fake)] == ["postgres", "migrate", "--no-build"]
    assert not any("--no-deps" in args for args in ups(fake))
    assert not any("pg_dump" in args for args in fake.commands)  # no backup asked: none taken
    assert made.release["migrations"] == ["2_more"] and made.release["backup"] is None


def test_a_first_start_that_fails_its_migration_says_nothing_was_started(tmp_path):
    _fake, made = stack(tmp_path, migrate_exit=3)
    with pytest.raises(module.StackError, match="the backend was not started. Process migrate's last log lines"):
        made.start(None, serving=False)


def test_the_lock_is_taken_in_the_stacks_directory_and_a_dead_holders_lock_is_taken_over_with_a_warning(tmp_path):
    fake = FakeModule(str(tmp_path / "stack"), 0)
    made = module.Stack(fake)
    made.lock()  # no directory, none created: a stack that is not there has nothing to protect
    assert made.held is None and not (tmp_path / "stack").exists()
    made.lock(create=True)
    assert made.held is not None and os.stat(tmp_path / "stack").st_mode & 0o777 == 0o700
    with pytest.raises(module.LockError, match="Another release of stack unit is running"):
        module.Stack(fake).lock()
    made.held.release()
    (tmp_path / "stack" / ".release.lock").write_text("host h, user u, PID 1, started 2026-12-06T18:00:00Z\n")
    module.Stack(fake).lock()
    assert fake.warnings == ["Took over the release lock of stack unit from a run that ended without releasing it "
                             "(host h, user u, PID 1, started 2026-12-06T18:00:00Z)"]
