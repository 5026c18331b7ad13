# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the local stack keeps its secrets: files in /run/secrets from the 0600 .env, never container Env.

The leak scan (test_secret_leaks.py) proves that no secret shows up anywhere else; these tests cover what a user
sees: a stack set up with the earlier layout (backend.env and postgres.env passed as env_file) keeps its database
password when it moves to the new one, and nothing of it is left in the containers' environment.
"""
from __future__ import annotations

import json
import stat

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import parse, render
from evidence.stack import LocalStack
from support import docker

SECRET_NAMES = {"DATABASE_URL", "REDIS_URL", "SUPABASE_ANON_KEY", "JWT_SECRET", "HEALTH_TOKEN"}


@pytest.fixture(name="stack")
def stack_fixture(tmp_path):
    stack = LocalStack("secrets-layout", tmp_path)
    stack.copy_source()
    yield stack
    stack.destroy()


def container_env(stack: LocalStack, service: str) -> dict[str, str]:
    config = json.loads(docker("inspect", "--format", "{{json .Config.Env}}", f"{stack.project}-{service}-1").stdout)
    return dict(entry.split("=", 1) for entry in config)


def write_earlier_layout(stack: LocalStack) -> dict[str, str]:
    """Give the project directory what the role wrote before: every variable in env files (.env stays for Compose)."""
    secrets = stack.secrets()
    backend = container_env(stack, "backend")
    settings = {name: backend[name] for name in ("NODE_ENV", "PORT", "SUPABASE_URL", "LOG_LEVEL", "ALLOWED_ORIGINS",
                                                 "RATE_LIMIT_MAX")}
    backend_env = settings | {name: secrets[name] for name in SECRET_NAMES}
    postgres_env = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": secrets["POSTGRES_PASSWORD"], "POSTGRES_DB": "app"}
    for name, values in (("backend.env", backend_env), ("postgres.env", postgres_env)):
        (stack.project_dir / name).write_text(render(values), encoding="utf-8")
        (stack.project_dir / name).chmod(0o600)
    return secrets


def test_secrets_are_files_and_an_earlier_stack_keeps_its_database(stack):
    stack.local_yml()
    assert stat.S_IMODE(stack.secrets_file.stat().st_mode) == 0o600
    secrets = stack.secrets()
    assert {"POSTGRES_PASSWORD", *SECRET_NAMES} <= set(secrets)
    for name in SECRET_NAMES:
        assert stack.secret_in_container("backend", name) == secrets[name]
    assert stack.secret_in_container("postgres", "POSTGRES_PASSWORD") == secrets["POSTGRES_PASSWORD"]
    assert not SECRET_NAMES & set(container_env(stack, "backend")), "a secret is container environment"
    assert "POSTGRES_PASSWORD" not in container_env(stack, "postgres")

    # New containers, the database volume kept: the backend only gets healthy with the volume's own password.
    earlier = write_earlier_layout(stack)
    stack.compose("down")
    stack.secrets_file.unlink()
    upgrade = stack.local_yml()
    assert stack.secrets() == earlier, "the upgrade generated new secrets instead of keeping the stack's own"
    assert not (stack.project_dir / "backend.env").exists() and not (stack.project_dir / "postgres.env").exists()
    assert "healthy" in upgrade.stdout, upgrade.output[-3000:]
    assert not SECRET_NAMES & set(container_env(stack, "backend"))
    assert parse(stack.secrets_file.read_text(encoding="utf-8"))["POSTGRES__POSTGRES_PASSWORD"] == earlier["POSTGRES_PASSWORD"]

    again = stack.local_yml()
    assert again.recap()["changed"] == 0, again.output[-3000:]
