# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rendered Dockerfile follows the profile (package manager, workspace, lifecycle scripts, pruning), and an own
Dockerfile is served offline only where the collection's base can stand in for its images."""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.app_dockerfile import DockerfileError, render, serve_offline
from ansible_collections.backendops.stack.plugins.module_utils.app_profile import detect
from test_app_profile import make_app, workspace


def stage(text: str, name: str) -> str:
    """The lines of one stage of a rendered Dockerfile."""
    start = next(index for index, line in enumerate(text.splitlines()) if line.startswith("FROM") and line.endswith(" AS " + name))
    lines = text.splitlines()[start:]
    end = next((index for index, line in enumerate(lines[1:], 1) if line.startswith("FROM")), len(lines))
    return "\n".join(lines[:end])


def test_a_pnpm_workspace_installs_from_its_manifests_and_builds_its_packages_first(tmp_path):
    profile = detect(str(workspace(tmp_path / "mono", "pnpm")), overrides={"app_dir": "apps/api"})
    text = render(profile, "base:24", "runtime:24")
    deps = stage(text, "deps")
    assert "npm install -g pnpm@10" in deps
    # Manifests only: a code change keeps the dependency layer.
    assert "COPY apps/api/package.json apps/api/" in deps and "COPY . ." not in deps
    assert "pnpm install --frozen-lockfile" in deps and "--mount=type=cache,target=/root/.local/share/pnpm/store" in deps
    build = stage(text, "build")
    assert build.index("cd /app/packages/db && prisma generate".replace("&& ", "&& DATABASE_URL=postgresql://build:build@localhost:5432/build ")) \
        < build.index("cd /app/packages/db && pnpm run build") < build.index("cd /app/apps/api && pnpm run build")
    assert "pnpm prune --prod" in stage(text, "prod-deps")
    prod = stage(text, "prod")
    assert "WORKDIR /app/apps/api" in prod and "USER node" in prod
    assert 'CMD ["sh", "-c", "exec node dist/server.js"]' in prod


def test_own_install_scripts_copy_the_source_before_the_install(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"postinstall": "tsc", "start": "node dist/server.js"}},
                   lockfile="yarn.lock")
    deps = stage(render(detect(str(app)), "base", "runtime"), "deps")
    assert deps.index("COPY . .") < deps.index("yarn install --frozen-lockfile")


def test_without_pruning_the_prod_image_keeps_dev_dependencies(tmp_path):
    app = make_app(tmp_path / "app", {"scripts": {"start": "tsx server.ts"}, "devDependencies": {"tsx": "4"}})
    text = render(detect(str(app), overrides={"prune_dev_dependencies": False}), "base", "runtime")
    assert "prune" not in stage(text, "prod-deps")


def test_without_a_health_path_the_health_check_wants_any_http_answer(tmp_path):
    text = render(detect(str(make_app(tmp_path / "app"))), "base", "runtime")
    assert "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/').then(() => process.exit(0)" in text


def test_an_own_dockerfile_is_served_offline_by_major_and_the_rest_is_refused():
    text = "FROM node:22-slim AS build\nRUN apt-get install -y tini\nFROM build AS prod\nFROM --platform=$X node:lts\n"
    served = serve_offline(text, {"node:22-slim": 22, "node:lts": 24}, {"22": "backendops/node:22-a", 24: "backendops/node:24-b"})
    assert served.splitlines()[0] == "FROM backendops/node:22-a AS build"
    assert served.splitlines()[2] == "FROM build AS prod"
    assert served.splitlines()[3] == "FROM --platform=$X backendops/node:24-b"
    with pytest.raises(DockerfileError) as caught:
        serve_offline("FROM node:22-alpine\n", {"node:22-alpine": None}, {"22": "x"})
    assert "node:22-alpine" in str(caught.value) and "dockerfile to false" in str(caught.value)


def test_a_syntax_line_is_dropped_so_no_frontend_image_is_pulled():
    served = serve_offline("# syntax=docker/dockerfile:1\nFROM node:${V}-slim\n", {"node:${V}-slim": 22}, {"22": "b:22"})
    assert not served.startswith("# syntax") and "FROM b:22" in served
