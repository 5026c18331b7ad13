# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the local stack keeps its secrets: files in /run/secrets from the 0600 .env, never container Env.

The leak scan (test_secret_leaks.py) proves that no secret shows up anywhere else; these tests cover what a user
sees: new containers of a stack keep its secrets (and so its database password), and none is in the containers'
environment.
"""
from __future__ import annotations

import json
import stat

import pytest

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


def test_secrets_are_files_and_new_containers_keep_the_database(stack):
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
    stack.compose("down")
    recreated = stack.local_yml()
    assert stack.secrets() == secrets, "the new containers got new secrets instead of the stack's own"
    assert "healthy" in recreated.stdout, recreated.output[-3000:]
    assert not SECRET_NAMES & set(container_env(stack, "backend"))

    again = stack.local_yml()
    assert again.recap()["changed"] == 0, again.output[-3000:]
