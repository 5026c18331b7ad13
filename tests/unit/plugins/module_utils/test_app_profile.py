# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app profile: what is detected from an app's files, what overrides it, and the one-line pre-build checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.app_profile import ProfileError, detect, dockerfile_stages, satisfies

REPO_ROOT = Path(__file__).resolve().parents[4]
POSTGRES_SCHEMA = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'


def make_app(root: Path, package: dict | None = None, files: dict[str, str] | None = None, lockfile="package-lock.json") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    base = {"name": "demo", "version": "1.0.0", "scripts": {"start": "node server.js"}}
    (root / "package.json").write_text(json.dumps(base if package is None else package))
    if lockfile:
        (root / lockfile).write_text("{}")
    for name, text in {"server.js": "", **(files or {})}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def ts_app(root: Path) -> Path:
    return make_app(root, {
        "name": "ts-api", "engines": {"node": ">=20"},
        "scripts": {"build": "tsc", "start": "node dist/server.js", "dev": "tsx watch src/server.ts"},
        "dependencies": {"@prisma/client": "6.19.3", "express": "5"}, "devDependencies": {"prisma": "6.19.3"},
    }, {"src/server.ts": "", "prisma/schema.prisma": POSTGRES_SCHEMA, "prisma/migrations/0001_init/migration.sql": "",
        "backendops.yml": "health:\n  path: /healthz\ncontract:\n  API_KEY: {required: true, secret: true, min_length: 16}\n"})


def one_line_error(source, **kwargs) -> str:
    with pytest.raises(ProfileError) as caught:
        detect(str(source), **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---- what is detected ----

def test_the_sample_backend_profile_is_what_the_stack_ran_before():
    profile = detect(str(REPO_ROOT / "examples" / "backend"))
    assert profile["start_command"] == "node src/server.js"
    assert profile["dev_command"] == "node src/dev.js"
    assert profile["build_command"] is None
    assert profile["migrate_command"] == "prisma migrate deploy"
    assert profile["generate_command"] == "prisma generate"
    assert profile["services"] == {"postgres": True, "redis": True}
    assert profile["health"] == {"path": "/api/health", "probe": "http", "details": {
        "path": "/api/health/details", "token": "HEALTH_TOKEN", "expect": {"database": "up", "redis": "up"}}}
    names = [variable["name"] for variable in profile["contract"]]
    assert names[:4] == ["NODE_ENV", "PORT", "DATABASE_URL", "REDIS_URL"]
    assert {"SUPABASE_URL", "SUPABASE_ANON_KEY", "JWT_SECRET", "HEALTH_TOKEN"} <= set(names)
    assert profile["generated_secrets"] == ["SUPABASE_ANON_KEY", "JWT_SECRET", "HEALTH_TOKEN"]
    assert profile["source_roots"] == ["src"]


def test_a_typescript_app_without_redis_gets_its_build_and_its_own_contract(tmp_path):
    profile = detect(str(ts_app(tmp_path / "app")))
    assert profile["build_command"] == "npm run build"
    assert profile["start_command"] == "node dist/server.js"  # built by the build step, so not checked on disk
    assert profile["dev_command"] == "tsx watch src/server.ts"
    assert profile["services"] == {"postgres": True, "redis": False}
    assert profile["health"]["path"] == "/healthz" and profile["health"]["details"] is None
    contract = {variable["name"]: variable for variable in profile["contract"]}
    assert set(contract) == {"NODE_ENV", "PORT", "DATABASE_URL", "API_KEY"}
    assert contract["API_KEY"]["secret"] and contract["API_KEY"]["required"]
    assert profile["source_roots"] == ["src"]


def test_without_a_health_path_the_port_is_probed_and_without_migrations_nothing_migrates(tmp_path):
    app = make_app(tmp_path / "app", {"name": "x", "main": "index.js", "dependencies": {"pg": "8", "bullmq": "5"}},
                   {"index.js": "", "lib/util.js": ""})
    profile = detect(str(app))
    assert profile["start_command"] == "node index.js"
    assert profile["dev_command"] == "node --watch index.js"
    assert profile["health"] == {"path": None, "probe": "tcp", "details": None}
    assert profile["migrate_command"] is None and profile["generate_command"] is None
    assert profile["services"] == {"postgres": True, "redis": True}
    assert profile["source_roots"] == ["lib"]


def test_npm_scripts_in_the_start_command_are_resolved_since_the_prod_image_has_no_npm(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"start": "npm run serve", "serve": "node server.js"}})
    assert detect(str(app))["start_command"] == "node server.js"
    app = make_app(tmp_path / "loop", {"scripts": {"start": "npm run start"}})
    assert "npm script 'start'" in one_line_error(app)


def test_the_prisma_schema_location_comes_from_package_json(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"start": "node server.js"}, "prisma": {"schema": "db/schema.prisma"},
                                      "dependencies": {"@prisma/client": "6"}},
                   {"db/schema.prisma": POSTGRES_SCHEMA, "db/migrations/1_init/migration.sql": ""})
    profile = detect(str(app))
    assert profile["prisma_schema"] == "db/schema.prisma"
    assert profile["migrate_command"] == "prisma migrate deploy"
    assert profile["detected_from"]["prisma_schema"] == "package.json prisma.schema"


def test_an_own_dockerfile_keeps_its_cmd_and_names_its_targets(tmp_path):
    app = make_app(tmp_path / "app", files={"Dockerfile": (
        "ARG BACKENDOPS_NODE_IMAGE=node:20\nFROM ${BACKENDOPS_NODE_IMAGE} AS builder\nRUN npm ci\n"
        "FROM builder as dev\nCMD [\"node\", \"--watch\", \"server.js\"]\nFROM ${BACKENDOPS_NODE_IMAGE} AS production\n")})
    profile = detect(str(app))
    assert profile["dockerfile"] == "Dockerfile"
    assert profile["start_command"] is None
    assert profile["targets"] == {"prod": "production", "dev": "dev", "build": "builder"}
    assert dockerfile_stages("FROM a AS One\nFROM --platform=x b AS two\nFROM c\n") == ["one", "two"]


def test_overrides_win_over_detection_and_over_backendops_yml(tmp_path):
    app = ts_app(tmp_path / "app")
    profile = detect(str(app), overrides={"start_command": "node dist/main.js", "build_command": "npm run compile", "port": 8080,
                                          "health_path": "/ready", "services": {"redis": True}, "migrate_command": False},
                     contract={"API_KEY": {"required": False}, "EXTRA": {"format": "boolean"}})
    assert profile["start_command"] == "node dist/main.js"
    assert profile["build_command"] == "npm run compile" and profile["migrate_command"] is None
    assert profile["port"] == 8080 and profile["health"]["path"] == "/ready"
    assert profile["services"] == {"postgres": True, "redis": True}
    contract = {variable["name"]: variable for variable in profile["contract"]}
    assert contract["API_KEY"]["required"] is False and contract["EXTRA"]["format"] == "boolean"
    assert "REDIS_URL" in contract


# ---- the checks before any build: one line, naming the thing and the fix ----

def test_no_package_json(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "has no package.json" in one_line_error(tmp_path / "empty")


def test_no_lockfile(tmp_path):
    message = one_line_error(make_app(tmp_path / "app", lockfile=None))
    assert "no package-lock.json" in message and "npm install" in message


@pytest.mark.parametrize("lockfile, manager", [("yarn.lock", "yarn"), ("pnpm-lock.yaml", "pnpm")])
def test_other_package_managers_are_named_with_what_is_supported(tmp_path, lockfile, manager):
    message = one_line_error(make_app(tmp_path / "app", lockfile=lockfile))
    assert "uses %s (%s)" % (manager, lockfile) in message and "only npm with package-lock.json is supported" in message


def test_no_start_command(tmp_path):
    message = one_line_error(make_app(tmp_path / "app", {"name": "x", "scripts": {}}))
    assert "no start command" in message and '"start" script' in message


def test_a_start_command_that_runs_a_missing_file(tmp_path):
    message = one_line_error(make_app(tmp_path / "app", {"scripts": {"start": "node src/missing.js"}}))
    assert "runs src/missing.js, which is not in" in message


def test_a_datasource_that_is_not_postgresql(tmp_path):
    app = make_app(tmp_path / "app", files={"prisma/schema.prisma": POSTGRES_SCHEMA.replace("postgresql", "mysql")})
    assert "declares a mysql datasource: only PostgreSQL is supported" in one_line_error(app)


@pytest.mark.parametrize("engines", [">=22", "^18.0.0", "21.x"])
def test_an_engines_node_range_the_base_image_does_not_satisfy(tmp_path, engines):
    app = make_app(tmp_path / "app", {"scripts": {"start": "node server.js"}, "engines": {"node": engines}})
    message = one_line_error(app)
    assert "package.json engines.node asks for Node.js %s, but the base image has Node.js 20.19.2" % engines in message


def test_nvmrc_is_read_when_engines_is_absent(tmp_path):
    app = make_app(tmp_path / "app", files={".nvmrc": "v22\n"})
    assert ".nvmrc asks for Node.js v22" in one_line_error(app)
    assert detect(str(app), base_node_version="22.3.0")["node_range"] == "v22"


def test_a_bad_entry_in_the_apps_contract_file(tmp_path):
    app = make_app(tmp_path / "app", files={"backendops.yml": "contract:\n  API_KEY: {secret: maybe}\n"})
    assert one_line_error(app) == "backendops.yml contract.API_KEY: secret must be true or false"
    app = make_app(tmp_path / "other", files={"backendops.yml": "contract: [API_KEY]\n"})
    assert "backendops.yml contract must map variable names" in one_line_error(app)
    app = make_app(tmp_path / "typo", files={"backendops.yml": "helth: {path: /x}\n"})
    assert "unknown key(s) helth" in one_line_error(app)


def test_unknown_overrides_are_refused(tmp_path):
    assert "unknown app profile override(s) start" in one_line_error(make_app(tmp_path / "app"), overrides={"start": "x"})


# ---- Node.js ranges ----

@pytest.mark.parametrize("text, expected", [
    (">=20", True), ("^20.19", True), ("^20.20", False), ("20.x", True), ("20", True), (">=18 <21", True),
    ("18 || 20", True), ("18 || 22", False), ("~20.19.0", True), ("~20.18", False), (">=22", False),
    ("20.19.2", True), (">= 20", True), ("16 - 20", True), ("lts/*", True), ("^18.0.0 || ^20.0.0", True),
    ("<20", False), ("*", True),
])
def test_node_ranges(text, expected):
    assert satisfies("20.19.2", text) is expected
