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
