# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/local.yml refuses an app it cannot deploy with one line, before anything changes."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support import docker, stack_containers, stacks_dir

PLAYBOOK = "playbooks/local.yml"
SCHEMA = 'datasource db {\n  provider = "%s"\n  url = env("DATABASE_URL")\n}\n'


def write_app(root: Path, package: dict | None, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    if package is not None:
        (root / "package.json").write_text(json.dumps(package))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


START = {"name": "checked-app", "scripts": {"start": "node server.js"}}
LOCK = {"package-lock.json": "{}", "server.js": ""}

CLIENT = {**START, "dependencies": {"@prisma/client": "6.19.3"}}

# Each refusal of the profile, with the override or edit its one line names.
CASES = {
    "no-package-json": (None, {"server.js": ""}, r"has no package\.json: point the source directory at the root"),
    "no-lockfile": (START, {"server.js": ""}, r"has no lockfile: run `npm install`"),
    "two-lockfiles": (START, {"yarn.lock": "", **LOCK}, r"has lockfiles of npm and yarn .*packageManager"),
    "plug-n-play": ({**START, "packageManager": "yarn@4.5.1"}, {"yarn.lock": "", "server.js": ""},
                    r"uses Yarn Plug'+n'+Play.*nodeLinker: node-modules"),
    "no-start": ({"name": "x", "scripts": {}}, LOCK, r"has no start command: add a \"start\" script"),
    "start-missing": ({"name": "x", "scripts": {"start": "node dist/index.js"}}, LOCK,
                      r"runs dist/index\.js, which is not in .* no build or install script makes it.*build_command"),
    "dev-start": ({"name": "x", "scripts": {"start": "tsx src/server.ts"}, "devDependencies": {"tsx": "4"}}, LOCK,
                  r"runs tsx from devDependencies \(tsx\).*prune_dev_dependencies"),
    "prisma-no-schema": (CLIENT, LOCK, r"depends on @prisma/client but no Prisma schema was found.*prisma_schema"),
    "no-migrations": (CLIENT, {**LOCK, "prisma/schema.prisma": SCHEMA % "postgresql"}, r"has no migrations.*schema_sync"),
    "mysql": (START, {**LOCK, "prisma/schema.prisma": SCHEMA % "mysql"}, r"declares a mysql datasource: only PostgreSQL is supported"),
    "engines": ({**START, "engines": {"node": "^18"}}, LOCK,
                r"engines\.node asks for Node\.js \^18, which no supported line .*node_version"),
    "bad-process": (START, {**LOCK, "backendops.yml": "processes:\n  report: {command: node r.js, schedule: hourly}\n"},
                    r"schedule '+hourly'+ must be a five-field cron expression"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_pre_build_check_fails_in_one_line_and_changes_nothing(playbook, tmp_path, case):
    package, files, expected = CASES[case]
    app = write_app(tmp_path / "app", package, files)
    stack = "pytest-check-" + case
    before = set(docker("image", "ls", "--quiet", "--no-trunc").stdout.split())
    run = playbook(PLAYBOOK, "-e", json.dumps({"app_image_source_dir": str(app), "compose_stack_name": stack}))
    assert run.rc != 0
    assert run.stdout.count("fatal: ") == 1, run.stdout[-2000:]
    # The callback wraps long values; the message itself is one line.
    message = " ".join(re.search(r"^    msg: (.*?)\n(?! {8})", run.stdout, re.M | re.S).group(1).split()).strip("'")
    assert message.startswith("App profile: "), message
    assert re.search(expected, message), message
    assert "Traceback" not in run.output
    # It fails in the first play, before the engine, images and stack.
    assert "Make sure a Docker engine" not in run.stdout
    assert not (stacks_dir() / stack).exists()
    after = set(docker("image", "ls", "--quiet", "--no-trunc").stdout.split())
    assert after <= before


def test_check_mode_plans_a_new_stack_without_writing_anything(playbook):
    stack = "pytest-check-new"
    run = playbook(PLAYBOOK, "--check", "--diff", "-e", json.dumps({"compose_stack_name": stack, "compose_stack_backend_port": 3999}))
    assert run.rc == 0, run.stdout[-3000:]
    assert f"Would create stack {stack}" in run.stdout
    assert not (stacks_dir() / stack).exists()
    assert stack_containers(stack) == []
