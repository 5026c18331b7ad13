# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app profile: what is detected from an app's files, what overrides it, and the one-line pre-build checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.app_profile import (
    ProfileError, detect, dockerfile_stages, official_node_major)
from ansible_collections.backendops.stack.plugins.module_utils.node_versions import satisfies

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
        "path": "/api/health/details", "token": "HEALTH_TOKEN", "expect": {"database": "up", "redis": "up"},
        "deployment_field": "deploymentId"}}
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


def test_the_details_view_takes_a_deployment_field_and_refuses_unknown_keys(tmp_path):
    details = {"path": "/status", "token": "STATUS_KEY", "expect": {"db": "ok"}, "deployment_field": "servedBy"}
    profile = detect(str(ts_app(tmp_path / "app")), overrides={"health_details": details})
    assert profile["health"]["details"] == details
    message = one_line_error(ts_app(tmp_path / "other"), overrides={"health_details": dict(details, deployment="x")})
    assert "health details have unknown key(s) deployment: use path, token, expect, deployment_field" in message


def test_without_a_health_path_any_http_answer_counts_and_without_prisma_nothing_migrates(tmp_path):
    app = make_app(tmp_path / "app", {"name": "x", "main": "index.js", "dependencies": {"pg": "8", "bullmq": "5"}},
                   {"index.js": "", "lib/util.js": ""})
    profile = detect(str(app))
    assert profile["start_command"] == "node index.js"
    assert profile["dev_command"] == "node --watch index.js"
    assert profile["health"] == {"path": None, "probe": "http-any", "details": None}
    assert profile["migrate_command"] is None and profile["generate_command"] is None
    assert profile["services"] == {"postgres": True, "redis": True}
    assert profile["source_roots"] == ["lib"]


def test_npm_scripts_in_the_start_command_are_resolved_since_the_prod_image_has_no_npm(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"start": "npm run serve", "serve": "node server.js"}})
    assert detect(str(app))["start_command"] == "node server.js"
    app = make_app(tmp_path / "loop", {"scripts": {"start": "npm run start"}})
    assert "runs the script 'start', which package.json does not define" in one_line_error(app)


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
    assert "has no lockfile" in message and "npm install" in message


def test_no_start_command(tmp_path):
    message = one_line_error(make_app(tmp_path / "app", {"name": "x", "scripts": {}}))
    assert "no start command" in message and '"start" script' in message


def test_a_start_command_that_runs_a_missing_file(tmp_path):
    message = one_line_error(make_app(tmp_path / "app", {"scripts": {"start": "node src/missing.js"}}))
    assert "runs src/missing.js, which is not in" in message and "build_command" in message


def test_a_datasource_that_is_not_postgresql(tmp_path):
    app = make_app(tmp_path / "app", files={"prisma/schema.prisma": POSTGRES_SCHEMA.replace("postgresql", "mysql")})
    assert "declares a mysql datasource: only PostgreSQL is supported" in one_line_error(app)


@pytest.mark.parametrize("engines", ["^18.0.0", "21.x", ">=30"])
def test_an_engines_node_range_no_supported_line_satisfies(tmp_path, engines):
    app = make_app(tmp_path / "app", {"scripts": {"start": "node server.js"}, "engines": {"node": engines}})
    message = one_line_error(app)
    assert "package.json engines.node asks for Node.js %s, which no supported line" % engines in message
    assert "node_version" in message


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


# ---- Node.js lines: the app's pin, else the active LTS ----

@pytest.mark.parametrize("files, package, major", [
    ({}, {}, 24),
    ({}, {"engines": {"node": ">=20"}}, 24),
    ({}, {"engines": {"node": "^22.12"}}, 22),
    ({}, {"engines": {"node": "20.x"}}, 20),
    ({".nvmrc": "v22.3.0\n"}, {}, 22),
    ({".nvmrc": "lts/*\n"}, {}, 24),
    ({".node-version": "26\n"}, {}, 26),
    ({}, {"volta": {"node": "22.11.0"}}, 22),
])
def test_the_node_line_comes_from_the_apps_pin_else_the_active_lts(tmp_path, files, package, major):
    app = make_app(tmp_path / "app", {"scripts": {"start": "node server.js"}, **package}, files)
    profile = detect(str(app))
    assert profile["node_major"] == major and profile["node_majors"] == [major]


def test_node_version_override_names_a_line(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"start": "node server.js"}, "engines": {"node": ">=20"}})
    assert detect(str(app), overrides={"node_version": "22"})["node_major"] == 22
    assert 'node_version "19"' in one_line_error(app, overrides={"node_version": "19"})


# ---- package managers, as Railway's builder picks them ----

@pytest.mark.parametrize("lockfile, field, expected", [
    ("package-lock.json", None, ("npm", None, "npm ci --include=dev --no-audit --no-fund")),
    ("pnpm-lock.yaml", None, ("pnpm", "10", "pnpm install --frozen-lockfile --prod=false")),
    ("pnpm-lock.yaml", "pnpm@9.15.4+sha512.abc", ("pnpm", "9.15.4", "pnpm install --frozen-lockfile --prod=false")),
    ("yarn.lock", None, ("yarn", "1.22.22", "yarn install --frozen-lockfile --production=false --non-interactive")),
    ("yarn.lock", "yarn@4.5.1", ("yarn", "4.5.1", "yarn install --immutable")),
])
def test_the_package_manager_comes_from_package_manager_then_the_lockfile(tmp_path, lockfile, field, expected):
    package = {"scripts": {"start": "node server.js"}, **({"packageManager": field} if field else {})}
    files = {".yarnrc.yml": "nodeLinker: node-modules\n"} if field == "yarn@4.5.1" else {}
    profile = detect(str(make_app(tmp_path / "app", package, files, lockfile=lockfile)))
    assert (profile["package_manager"], profile["package_manager_version"], profile["install_command"]) == expected
    assert profile["lockfile"] == lockfile and lockfile in profile["install_files"]


def test_two_lockfiles_take_the_one_package_manager_names_else_one_line_names_both(tmp_path):
    app = make_app(tmp_path / "app", files={"pnpm-lock.yaml": "lockfileVersion: '9.0'\n"})
    message = one_line_error(app)
    assert "lockfiles of npm and pnpm" in message and "packageManager" in message
    package = {"scripts": {"start": "node server.js"}, "packageManager": "pnpm@10.12.1"}
    app = make_app(tmp_path / "named", package, {"pnpm-lock.yaml": "lockfileVersion: '9.0'\n"})
    assert detect(str(app))["package_manager"] == "pnpm"


def test_yarn_plug_n_play_and_bun_are_refused_in_one_line(tmp_path):
    package = {"scripts": {"start": "node server.js"}, "packageManager": "yarn@4.5.1"}
    message = one_line_error(make_app(tmp_path / "pnp", package, lockfile="yarn.lock"))
    assert "Plug'n'Play" in message and "nodeLinker: node-modules" in message
    assert "bun" in one_line_error(make_app(tmp_path / "bun", lockfile="bun.lock"))


def test_scripts_that_call_the_package_manager_resolve_with_any_of_them(tmp_path):
    package = {"packageManager": "pnpm@10.12.1", "scripts": {"start": "pnpm run serve", "serve": "yarn boot",
                                                             "boot": "node server.js", "build": "pnpm build:types"}}
    profile = detect(str(make_app(tmp_path / "app", package, lockfile="pnpm-lock.yaml")))
    assert profile["start_command"] == "node server.js"
    assert profile["build_steps"] == [{"dir": ".", "command": "pnpm run build"}]
    assert profile["package_manager_setup"] == "npm install -g pnpm@10.12.1"


# ---- lifecycle scripts and builds ----

def test_a_build_in_postinstall_is_a_build_and_heroku_postbuild_wins_over_build(tmp_path):
    package = {"scripts": {"postinstall": "prisma generate && tsc", "start": "node dist/server.js"}}
    profile = detect(str(make_app(tmp_path / "app", package)))
    assert profile["install_scripts"] == ["postinstall"] and profile["build_steps"] == []
    assert profile["start_command"] == "node dist/server.js"
    package = {"scripts": {"build": "tsc", "heroku-postbuild": "tsc -p prod.json", "start": "node dist/server.js"}}
    assert detect(str(make_app(tmp_path / "heroku", package)))["build_command"] == "npm run heroku-postbuild"


def test_a_start_program_only_in_dev_dependencies_takes_start_prod_else_is_refused(tmp_path):
    nest = {"scripts": {"build": "nest build", "start": "nest start", "start:prod": "node dist/main"},
            "dependencies": {"@nestjs/core": "11"}, "devDependencies": {"@nestjs/cli": "11"}}
    profile = detect(str(make_app(tmp_path / "nest", nest)))
    assert profile["start_command"] == "node dist/main"
    assert profile["detected_from"]["start_command"] == "package.json scripts.start:prod"
    tsx = {"scripts": {"start": "tsx src/server.ts"}, "devDependencies": {"tsx": "4"}}
    message = one_line_error(make_app(tmp_path / "tsx", tsx))
    assert "runs tsx from devDependencies (tsx)" in message and "prune_dev_dependencies" in message
    profile = detect(str(make_app(tmp_path / "kept", tsx)), overrides={"prune_dev_dependencies": False})
    assert profile["start_command"] == "tsx src/server.ts" and profile["prune_command"] is None


# ---- workspaces ----

def workspace(root: Path, manager: str = "npm") -> Path:
    lockfile = {"npm": "package-lock.json", "pnpm": "pnpm-lock.yaml", "yarn": "yarn.lock"}[manager]
    package = {"name": "mono", "private": True, "engines": {"node": ">=22"}, "devDependencies": {"typescript": "5"}}
    files = {}
    if manager == "pnpm":
        files["pnpm-workspace.yaml"] = "packages:\n  - apps/*\n  - packages/*\n"
    else:
        package["workspaces"] = ["apps/*", "packages/*"]
    make_app(root, package, files, lockfile=lockfile)
    (root / "server.js").unlink()
    make_app(root / "apps" / "api", {"name": "@mono/api", "scripts": {"build": "tsc", "start": "node dist/server.js"},
                                     "dependencies": {"@mono/db": "workspace:*", "fastify": "5"}},
             {"src/server.ts": ""}, lockfile=None)
    make_app(root / "packages" / "db", {"name": "@mono/db", "scripts": {"build": "tsc"},
                                        "dependencies": {"@prisma/client": "6.19.3"}, "devDependencies": {"prisma": "6"}},
             {"src/index.ts": "", "prisma/schema.prisma": POSTGRES_SCHEMA, "prisma/migrations/1_init/migration.sql": ""},
             lockfile=None)
    make_app(root / "packages" / "unused", {"name": "@mono/unused"}, lockfile=None)
    return root


@pytest.mark.parametrize("manager", ["npm", "pnpm"])
def test_a_workspace_app_is_built_from_the_root_with_prisma_in_a_sibling_package(tmp_path, manager):
    root = workspace(tmp_path / "mono", manager)
    by_path = detect(str(root), overrides={"app_dir": "apps/api"})
    by_name = detect(str(root), overrides={"app_dir": "@mono/api"})
    inside = detect(str(root / "apps" / "api"))
    for profile in (by_path, by_name, inside):
        assert profile["source_dir"] == str(root) and profile["app_dir"] == "apps/api"
        assert profile["workdir"] == "/app/apps/api"
        assert profile["workspace_packages"] == ["packages/db"]
        assert profile["build_steps"] == [{"dir": "packages/db", "command": "%s run build" % manager},
                                          {"dir": "apps/api", "command": "%s run build" % manager}]
        assert profile["prisma_schema"] == "packages/db/prisma/schema.prisma" and profile["prisma_dir"] == "packages/db"
        assert profile["migrate_command"] == "prisma migrate deploy" and profile["generate_command"] == "prisma generate"
        assert profile["services"]["postgres"] is True
        assert profile["node_major"] == 24
        assert profile["source_roots"] == ["apps/api/src", "packages/db/src"]
        assert "apps/api/package.json" in profile["install_files"] and "packages/unused/package.json" in profile["install_files"]


def test_a_workspace_app_dir_that_is_no_package_names_the_packages(tmp_path):
    root = workspace(tmp_path / "mono")
    message = one_line_error(root, overrides={"app_dir": "apps/web"})
    assert "app_dir apps/web has no package.json" in message and "@mono/api" in message


# ---- "healthy" only when the app can serve: Prisma without schema or without migrations ----

def test_a_prisma_client_without_a_schema_is_refused_naming_prisma_schema(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"start": "node server.js"}, "dependencies": {"@prisma/client": "6"}})
    message = one_line_error(app)
    assert "depends on @prisma/client but no Prisma schema was found" in message and "prisma_schema" in message
    make_app(app, {"scripts": {"start": "node server.js"}, "dependencies": {"@prisma/client": "6"}},
             {"db/app.prisma": POSTGRES_SCHEMA, "db/migrations/1/migration.sql": ""})
    profile = detect(str(app), overrides={"prisma_schema": "db/app.prisma"})
    assert profile["prisma_schema"] == "db/app.prisma" and profile["migrate_command"] == "prisma migrate deploy"


def test_a_schema_without_migrations_is_refused_unless_schema_sync_is_push(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"start": "node server.js"}, "dependencies": {"@prisma/client": "6"}},
                   {"prisma/schema.prisma": POSTGRES_SCHEMA})
    message = one_line_error(app)
    assert "has no migrations" in message and "schema_sync" in message and "prisma migrate dev" in message
    profile = detect(str(app), overrides={"schema_sync": "push"})
    assert profile["migrate_command"] == "prisma db push --skip-generate"


# ---- processes ----

def test_processes_come_from_the_procfile_with_release_as_the_migrate_command(tmp_path):
    package = {"scripts": {"start": "node src/server.js", "start:worker": "node src/worker.js"},
               "dependencies": {"bullmq": "5"}}
    procfile = "web: npm start\nworker: npm run start:worker\nrelease: node scripts/migrate.js\n"
    profile = detect(str(make_app(tmp_path / "app", package, {"Procfile": procfile, "src/server.js": ""})))
    assert profile["start_command"] == "node src/server.js"
    assert profile["migrate_command"] == "node scripts/migrate.js"
    assert [(p["name"], p["command"], p["kind"], p["from"]) for p in profile["processes"]] == [
        ("worker", "node src/worker.js", "worker", "Procfile")]


def test_a_worker_script_is_a_process_unless_the_app_says_otherwise(tmp_path):
    package = {"scripts": {"start": "node server.js", "start:worker": "node worker.js"}}
    app = make_app(tmp_path / "app", package)
    assert [(p["name"], p["command"]) for p in detect(str(app))["processes"]] == [("worker", "node worker.js")]
    assert detect(str(app), overrides={"processes": {}})["processes"] == []
    report = {"command": "npm run start:worker", "schedule": "*/15 * * * *"}
    profile = detect(str(app), overrides={"processes": {"report": report}})
    assert profile["processes"][0]["kind"] == "cron" and profile["processes"][0]["command"] == "node worker.js"
    assert "five-field cron" in one_line_error(app, overrides={"processes": {"report": {"command": "x", "schedule": "hourly"}}})


def test_processes_for_railway_run_in_the_apps_folder_of_a_workspace_and_keep_their_schedule(tmp_path):
    fixture = detect(str(REPO_ROOT / "tests" / "fixtures" / "apps" / "bullmq-worker"))
    assert fixture["deploy_processes"] == [{"name": "worker", "start_command": "node src/worker.js", "cron_schedule": None}]
    processes = {"worker": "node dist/worker.js", "report": {"command": "node dist/report.js", "schedule": "0 3 * * *"}}
    root = workspace(tmp_path / "mono")
    in_workspace = detect(str(root), overrides={"app_dir": "apps/api", "processes": processes})
    assert in_workspace["deploy_processes"] == [
        {"name": "worker", "start_command": "cd apps/api && node dist/worker.js", "cron_schedule": None},
        {"name": "report", "start_command": "cd apps/api && node dist/report.js", "cron_schedule": "0 3 * * *"}]
    # An app alone in a folder of its repository is Railway's root directory: its commands run there as they are.
    repo = make_app(tmp_path / "repo", {"name": "repo", "private": True})
    make_app(repo / "services" / "api", {"scripts": {"start": "node server.js", "worker": "node worker.js"}}, lockfile=None)
    profile = detect(str(repo), overrides={"app_dir": "services/api"})
    assert profile["deploy"]["root_directory"] == "services/api"
    assert profile["deploy_processes"] == [{"name": "worker", "start_command": "node worker.js", "cron_schedule": None}]


# ---- an own Dockerfile's official node images ----

@pytest.mark.parametrize("ref, major", [
    ("node:22-slim", 22), ("node:20-bookworm-slim", 20), ("docker.io/library/node:24", 24), ("node:lts", 24),
    ("node:lts-bookworm-slim", 24), ("node:22.12.0-bookworm", 22), ("node:22-alpine", None), ("node:18", None),
    ("debian:bookworm", None), ("gcr.io/distroless/nodejs22", None),
])
def test_official_node_images_are_read_by_major(ref, major):
    assert official_node_major(ref) == major


def test_an_own_dockerfile_names_the_lines_it_needs(tmp_path):
    dockerfile = "FROM node:22-slim AS build\nRUN true\nFROM build AS dev\nFROM node:20-alpine AS prod\n"
    profile = detect(str(make_app(tmp_path / "app", files={"Dockerfile": dockerfile})))
    assert profile["dockerfile_images"] == {"node:22-slim": 22, "node:20-alpine": None}
    assert profile["node_majors"] == [24, 22]


def test_an_own_dockerfiles_images_are_read_through_its_build_arguments(tmp_path):
    dockerfile = ("# syntax=docker/dockerfile:1\nARG NODE_VERSION=22\nARG BACKENDOPS_NODE_IMAGE=node:24\n"
                  "FROM node:${NODE_VERSION}-bookworm-slim AS base\nFROM ${BACKENDOPS_NODE_IMAGE} AS other\n"
                  "FROM base AS runtime\nFROM ${UNKNOWN} AS odd\n")
    profile = detect(str(make_app(tmp_path / "app", files={"Dockerfile": dockerfile})))
    assert profile["dockerfile_images"] == {"node:${NODE_VERSION}-bookworm-slim": 22}
