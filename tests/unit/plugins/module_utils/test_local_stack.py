# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The local stack's environment from the app profile, and the hints of a failed start."""
from __future__ import annotations

from ansible_collections.backendops.stack.plugins.module_utils import local_stack

PROFILE = {"port": 3000, "services": {"postgres": True, "redis": False}, "generated_secrets": ["JWT_SECRET"],
           "local_env": {"LOG_LEVEL": "info", "RATE_LIMIT_MAX": 300}}


def test_previous_secrets_are_the_prefixed_keys_of_the_stacks_env_file(tmp_path):
    assert local_stack.read_previous_secrets(str(tmp_path)) == {}  # before the first run
    (tmp_path / ".env").write_text("BACKEND__JWT_SECRET=kept\nPOSTGRES__POSTGRES_PASSWORD=pw\nOTHER=x\n")
    assert local_stack.read_previous_secrets(str(tmp_path)) == {"JWT_SECRET": "kept", "POSTGRES_PASSWORD": "pw"}


def test_the_environment_layers_local_env_computed_values_and_the_users():
    result = local_stack.stack_environment(PROFILE, {"POSTGRES_PASSWORD": "p@ss/word"}, {"LOG_LEVEL": "debug", "X": True}, "prod")
    env = result["backend_env"]
    assert env["DATABASE_URL"] == "postgresql://app:p%40ss%2Fword@postgres:5432/app"
    assert "REDIS_URL" not in env  # the app does not use Redis
    assert env["NODE_ENV"] == "production" and env["PORT"] == "3000"
    assert env["LOG_LEVEL"] == "debug" and env["RATE_LIMIT_MAX"] == "300" and env["X"] == "true"
    assert result["secrets"]["POSTGRES_PASSWORD"] == "p@ss/word"
    assert len(result["secrets"]["JWT_SECRET"]) == 48 and env["JWT_SECRET"] == result["secrets"]["JWT_SECRET"]


def test_generated_secrets_are_kept_across_runs_and_new_ones_differ():
    first = local_stack.stack_environment(PROFILE, {}, {}, "dev")["secrets"]
    again = local_stack.stack_environment(PROFILE, first, {}, "dev")["secrets"]
    other = local_stack.stack_environment(PROFILE, {}, {}, "dev")["secrets"]
    assert again == first and other["JWT_SECRET"] != first["JWT_SECRET"]


def test_a_process_that_died_for_a_pruned_dev_dependency_gets_the_switch_named():
    profile = {"dev_only_dependencies": ["@nestjs/cli", "tsx"]}
    logs = "node:internal/modules/cjs/loader\nError: Cannot find module 'tsx/esm'\nRequire stack: ..."
    hint = local_stack.pruned_module_hint(logs, profile)
    assert "tsx is a devDependency" in hint and "prune_dev_dependencies" in hint
    assert "@nestjs/cli is" in local_stack.pruned_module_hint("Cannot find module '@nestjs/cli/bin'", profile)
    assert local_stack.pruned_module_hint("Cannot find module 'express'", profile) == ""


def test_the_migrate_steps_own_report_says_whether_migrations_are_pending():
    assert local_stack.migrations_pending("prisma migrate deploy", "2 migrations found\nAll migrations have been successfully applied.") is None
    assert local_stack.migrations_pending("prisma migrate deploy", "No pending migrations to apply.") is None
    assert "did not report" in local_stack.migrations_pending("prisma migrate deploy", "Error: P1001: Can't reach database")
    assert local_stack.migrations_pending("prisma db push --skip-generate", "Your database is now in sync with your Prisma schema") is None
    assert local_stack.migrations_pending("node scripts/migrate.js", "") is None  # not Prisma's: its exit code says it


def test_the_migrations_digest_changes_with_a_new_migration_and_is_none_without_prisma(tmp_path):
    (tmp_path / "prisma" / "migrations" / "1_init").mkdir(parents=True)
    (tmp_path / "prisma" / "schema.prisma").write_text("model A {}")
    (tmp_path / "prisma" / "migrations" / "1_init" / "migration.sql").write_text("CREATE TABLE a (id int);")
    profile = {"source_dir": str(tmp_path), "prisma_schema": "prisma/schema.prisma"}
    first = local_stack.migrations_digest(profile)
    assert first.startswith("sha256:") and local_stack.migrations_digest(profile) == first
    (tmp_path / "prisma" / "migrations" / "2_more").mkdir()
    (tmp_path / "prisma" / "migrations" / "2_more" / "migration.sql").write_text("ALTER TABLE a ADD b int;")
    assert local_stack.migrations_digest(profile) != first
    assert local_stack.migrations_digest({"source_dir": str(tmp_path), "prisma_schema": None}) is None


def test_the_schema_may_change_unless_the_serving_release_had_the_same_migrations():
    released = {"outcome": "released", "migrations_digest": "sha256:a"}
    assert local_stack.schema_may_change("sha256:a", [released]) is False
    assert local_stack.schema_may_change("sha256:b", [released]) is True
    # A failed or restored run did not change what serves.
    assert local_stack.schema_may_change("sha256:a", [released, {"outcome": "restored", "migrations_digest": "sha256:b"}]) is False
    assert local_stack.schema_may_change("sha256:a", []) is True  # no release recorded
    assert local_stack.schema_may_change(None, [released]) is True  # an own migrate command: not known


def test_the_applied_migrations_are_read_from_prismas_log():
    log = "2 migrations found\nApplying migration `20261201_create_notes`\nApplying migration `20261202_add_tag`\n"
    assert local_stack.applied_migrations(log) == ["20261201_create_notes", "20261202_add_tag"]
    assert local_stack.applied_migrations("No pending migrations to apply.") == []
    prisma_6 = ("1 migration found in prisma/migrations\n\nThe following migration(s) have been applied:\n\nmigrations/\n"
                "  \u2514\u2500 20261203000000_adds_a_tag/\n    \u2514\u2500 migration.sql\n\nAll migrations have been successfully applied.")
    assert local_stack.applied_migrations(prisma_6) == ["20261203000000_adds_a_tag"]


def test_a_rollback_brings_back_the_last_release_before_the_serving_one_with_other_images():
    one = {"outcome": "released", "images": {"backend": "app:1"}, "time": "t1"}
    failed = {"outcome": "restored", "images": {"backend": "app:3"}}
    rerun = {"outcome": "released", "images": {"backend": "app:1"}}
    two = {"outcome": "released", "images": {"backend": "app:2"}, "backup": "b.dump"}
    assert local_stack.rollback_target([one, failed, rerun, two]) == (two, rerun, None)
    assert local_stack.rollback_target([one, rerun])[1:] == (None, "no earlier release with other images is recorded")
    assert local_stack.rollback_target([failed])[1:] == (None, "no release of this stack is recorded")
    # After a rollback the rolled-back-to release serves; a second rollback goes back from it.
    # Only the app's images make a version: a release that changed PostgreSQL's image alone is not one.
    postgres = {"outcome": "released", "images": {"backend": "app:2", "postgres": "postgres:15.9"}}
    assert local_stack.rollback_target([one, two, postgres]) == (postgres, one, None)
    back = {"outcome": "rolled back", "images": {"backend": "app:1"}}
    assert local_stack.rollback_target([one, two, back]) == (back, two, None)
