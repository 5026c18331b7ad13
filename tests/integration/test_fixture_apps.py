# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Apps that are not the sample come up with one run of playbooks/local.yml, as their profile says.

Each fixture app (tests/fixtures/apps) is given only its source directory, a stack name, a port and its own
secrets: its API writes a row and reads it back, a re-run reports changed=0, the row survives the re-run and a
`restarted`, and ts-api in dev mode shows an edit without an image rebuild.
"""
from __future__ import annotations

import json
import time
import urllib.error
from pathlib import Path

import pytest

from evidence.stack import LocalStack
from support import REPO_ROOT, docker, request_json

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "apps"
API_KEY = "fixture-api-key-0123456789"


def greeting(url: str) -> str | None:
    """GET / of ts-api; None while the dev server restarts (the connection is refused or reset then)."""
    try:
        return request_json(url + "/")[1].get("greeting")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def deployed(name: str, workdir: Path, app: str, health: str, **env: str) -> LocalStack:
    stack = LocalStack(name, workdir, env=env, app=FIXTURES / app, health_path=health)
    stack.copy_source()
    return stack


@pytest.fixture(name="ts_api", scope="module")
def ts_api_fixture(tmp_path_factory):
    stack = deployed("pytest-tsapi", tmp_path_factory.mktemp("ts-api"), "ts-api", "/healthz", API_KEY=API_KEY)
    try:
        stack.first_run = stack.local_yml()
        yield stack
    finally:
        stack.destroy()


@pytest.fixture(name="own_dockerfile", scope="module")
def own_dockerfile_fixture(tmp_path_factory):
    # No backendops.yml: no health path, so the stack checks that the port accepts connections.
    stack = deployed("pytest-owndf", tmp_path_factory.mktemp("own-dockerfile"), "own-dockerfile", "/health")
    try:
        stack.first_run = stack.local_yml()
        yield stack
    finally:
        stack.destroy()


def services_of(stack: LocalStack) -> list[str]:
    return sorted(docker("compose", "--project-directory", str(stack.project_dir), "config", "--services").stdout.split())


def test_ts_api_comes_up_from_its_profile_without_redis(ts_api):
    assert "is healthy: %s/healthz" % ts_api.url in ts_api.first_run.stdout
    assert services_of(ts_api) == ["backend", "migrate", "postgres"]
    status, body = request_json(ts_api.url + "/healthz")
    assert status == 200 and body["status"] == "ok"
    # The contract is the app's own: API_KEY is a secret (a file in /run/secrets), there is no Supabase or JWT.
    assert ts_api.secret_in_container("backend", "API_KEY") == API_KEY
    assert set(ts_api.secrets()) == {"API_KEY", "DATABASE_URL", "POSTGRES_PASSWORD"}
    # The prod image runs the compiled app as a non-root user, and the migration ran before it.
    assert docker("exec", f"{ts_api.project}-backend-1", "id", "-u").stdout.strip() != "0"
    migrate = json.loads(docker("inspect", f"{ts_api.project}-migrate-1").stdout)[0]["State"]
    assert migrate["ExitCode"] == 0


def test_ts_api_writes_a_row_that_survives_a_rerun_and_a_restart(ts_api):
    status, note = request_json(ts_api.url + "/api/notes", "POST", {"text": "kept"}, {"x-api-key": API_KEY})
    assert status == 201, note
    assert request_json(ts_api.url + "/api/notes", "POST", {"text": "x"}, {"x-api-key": "wrong-key-wrong-key"})[0] == 401

    rerun = ts_api.local_yml()
    assert rerun.recap()["changed"] == 0, rerun.stdout[-3000:]
    assert request_json(f"{ts_api.url}/api/notes/{note['id']}") == (200, note)

    ts_api.local_yml(compose_stack_state="restarted")
    assert request_json(f"{ts_api.url}/api/notes/{note['id']}") == (200, note)


def test_own_dockerfile_keeps_its_cmd_and_gets_redis_because_it_uses_ioredis(own_dockerfile):
    assert "(answers HTTP)" in " ".join(own_dockerfile.first_run.stdout.split())
    assert services_of(own_dockerfile) == ["backend", "postgres", "redis"]
    config = json.loads(docker("inspect", f"{own_dockerfile.project}-backend-1").stdout)[0]["Config"]
    assert config["Cmd"] == ["node", "server.js"]
    assert config["User"] == "node"
    # Built on the collection's base images, passed as build arguments: no npm in the runtime image.
    assert docker("exec", f"{own_dockerfile.project}-backend-1", "sh", "-c", "command -v npm", check=False).returncode != 0
    status, body = request_json(own_dockerfile.url + "/health")
    assert status == 200, body


def test_own_dockerfile_writes_a_row_that_survives_a_rerun_and_a_restart(own_dockerfile):
    status, visit = request_json(own_dockerfile.url + "/visits", "POST", {"who": "fixture"})
    assert status == 201, visit
    rerun = own_dockerfile.local_yml()
    assert rerun.recap()["changed"] == 0, rerun.stdout[-3000:]
    own_dockerfile.local_yml(compose_stack_state="restarted")
    assert request_json(f"{own_dockerfile.url}/visits/{visit['id']}") == (200, visit)


# Last in the module: it turns the module's ts-api stack to dev mode (one stack less to bring up than a stack of its own).
def test_ts_api_in_dev_mode_shows_an_edit_without_a_rebuild(ts_api):
    ts_api.local_yml(compose_stack_mode="dev")
    image = docker("inspect", "--format", "{{.Image}}", f"{ts_api.project}-backend-1").stdout
    assert greeting(ts_api.url) == "Hello from the ts-api fixture"
    config = ts_api.source / "src" / "config.ts"
    edited = config.with_suffix(".edit")
    edited.write_text(config.read_text().replace("Hello from the ts-api fixture", "Edited while running"))
    edited.replace(config)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and greeting(ts_api.url) != "Edited while running":
        time.sleep(1)
    assert greeting(ts_api.url) == "Edited while running"
    assert docker("inspect", "--format", "{{.Image}}", f"{ts_api.project}-backend-1").stdout == image
