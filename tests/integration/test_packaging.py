# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as users get it: built with ansible-galaxy, installed into an empty path, documented.

What must ship is read from the tree (roles/*/, plugins/modules/*.py, playbooks/*.yml) and meta/runtime.yml, not
listed here by hand: a role or module lost on the way into the tarball, or one still named where it is gone, fails.
"""
from __future__ import annotations

import json
import re
import tarfile
import urllib.request
from pathlib import Path

import pytest
import yaml

from support import RECAP_RE, REPO_ROOT, VENV_BIN, ansible_env, docker, free_port, needs_engine, run

NAMESPACE = "backendops.stack."
ROLES = sorted(path.name for path in (REPO_ROOT / "roles").iterdir() if path.is_dir())
MODULES = sorted(path.stem for path in (REPO_ROOT / "plugins/modules").glob("*.py") if path.stem != "__init__")
# A filter plugin file documents each of its filters in <name>.yml beside it.
FILTERS = sorted(path.stem for path in (REPO_ROOT / "plugins/filter").glob("*.yml"))
SHIPPED_PLAYBOOKS = sorted(path.stem for path in (REPO_ROOT / "playbooks").glob("*.yml"))


def action_groups(runtime: Path) -> dict[str, set[str]]:
    """meta/runtime.yml's action groups: group -> module names (an extend_group metadata entry is not a module)."""
    groups = yaml.safe_load(runtime.read_text(encoding="utf-8")).get("action_groups") or {}
    return {group: {member.removeprefix(NAMESPACE) for member in members if isinstance(member, str)}
            for group, members in groups.items()}


ACTION_GROUPS = action_groups(REPO_ROOT / "meta/runtime.yml")
# backendops.stack.NAME, not followed by more of a dotted name (a Python import path such as ...plugins.module_utils).
REFERENCE_RE = re.compile(re.escape(NAMESPACE) + r"([a-z_][a-z0-9_]*)(?![\w.])")


def test_tree_has_everything_it_names():
    """Each module runtime.yml groups, and each backendops.stack.NAME the YAML uses, is in the tree."""
    assert ROLES and MODULES and SHIPPED_PLAYBOOKS
    assert all((REPO_ROOT / "roles" / role / "tasks/main.yml").is_file() for role in ROLES), ROLES
    grouped = set().union(*ACTION_GROUPS.values())
    assert grouped - set(MODULES) == set(), "meta/runtime.yml groups modules that plugins/modules/ lacks"
    known = set(ROLES) | set(MODULES) | set(FILTERS) | set(SHIPPED_PLAYBOOKS) | set(ACTION_GROUPS)
    unknown = sorted(
        f"{path.relative_to(REPO_ROOT)}: {NAMESPACE}{name}"
        for top in ("roles", "playbooks", "molecule", "extensions", "meta") for path in (REPO_ROOT / top).rglob("*.yml")
        for name in REFERENCE_RE.findall(path.read_text(encoding="utf-8")) if name not in known
    )
    assert unknown == []


@pytest.fixture(name="built", scope="module")
def built_fixture(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    proc = run(str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (tarball,) = out.glob("backendops-stack-*.tar.gz")
    return tarball


def test_tarball_ships_no_local_state(built):
    with tarfile.open(built) as archive:
        names = archive.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    forbidden = [
        name for name in names
        if any(part in (".venv", ".collections", "node_modules", "output", ".git", "__pycache__") for part in Path(name).parts)
        or Path(name).name == ".env" or (Path(name).name.startswith(".env.") and Path(name).name != ".env.example")
    ]
    assert forbidden == []
    assert "examples/backend/package-lock.json" in names


# Development tools, kept out by galaxy.yml's build_ignore: users get no emulator and no benchmark scripts, and no
# tests or molecule scenarios, which need the emulator (tools.railway_emulator) and would not run from the tarball.
DEVELOPMENT_ONLY = ("tools", "benchmarks", "molecule", "tests")
# A shipped script that names one of them would fail in an installed copy.
DEVELOPMENT_PATH = rb"(?:\btools[./]|\btests/|\bmolecule\b|\bbenchmarks/)"


def test_tarball_leaves_out_the_development_tools(built):
    assert all((REPO_ROOT / top).is_dir() for top in DEVELOPMENT_ONLY), "the tree should have them, or this proves nothing"
    with tarfile.open(built) as archive:
        names = archive.getnames()
    assert sorted(name for name in names if Path(name).parts[0] in DEVELOPMENT_ONLY) == []
    # Nor does anything shipped need them.
    with tarfile.open(built) as archive:
        needing = sorted(member.name for member in archive.getmembers() if member.isfile() and member.name.endswith(".py")
                         and re.search(rb"^\s*(?:from|import) (?:tools|tests|benchmarks)\b",
                                       archive.extractfile(member).read(), re.MULTILINE))
    assert needing == []
    with tarfile.open(built) as archive:
        scripts = {member.name: archive.extractfile(member).read() for member in archive.getmembers()
                   if member.isfile() and member.name.startswith("scripts/")}
    assert scripts, "the tarball should ship scripts/local and scripts/bootstrap, or this proves nothing"
    assert sorted(name for name, text in scripts.items()
                  if re.search(DEVELOPMENT_PATH, b"\n".join(line for line in text.splitlines()
                                                            if not line.lstrip().startswith(b"#")))) == []


def test_tarball_ships_every_role_module_and_playbook(built):
    with tarfile.open(built) as archive:
        names = set(archive.getnames())
    expected = {"meta/runtime.yml"}
    expected |= {f"roles/{role}/{part}" for role in ROLES for part in ("tasks/main.yml", "meta/argument_specs.yml")}
    expected |= {f"plugins/modules/{module}.py" for module in MODULES}
    expected |= {f"playbooks/{playbook}.yml" for playbook in SHIPPED_PLAYBOOKS}
    assert sorted(expected - names) == []


def test_installed_collection_lists_its_modules_and_roles(built, tmp_path):
    dest = tmp_path / "collections"
    # Outside the checkout, so that its ansible.cfg (mapping the collection to the working tree) is not read.
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(dest)})
    env.pop("ANSIBLE_CONFIG")
    # --no-deps: Galaxy is unreachable here; community.docker comes from the venv.
    proc = run(str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(dest), str(built), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (dest / "ansible_collections" / "backendops" / "stack" / "MANIFEST.json").is_file(), proc.stdout

    modules = run(str(VENV_BIN / "ansible-doc"), "-l", "backendops.stack", env=env, cwd=tmp_path)
    assert modules.returncode == 0, modules.stderr
    listed = {line.split()[0].rsplit(".", 1)[-1] for line in modules.stdout.splitlines() if line.strip()}
    assert listed == set(MODULES)

    roles = run(str(VENV_BIN / "ansible-doc"), "-t", "role", "-l", "backendops.stack", env=env, cwd=tmp_path)
    assert roles.returncode == 0, roles.stderr
    listed_roles = {line.rstrip(":").rsplit(".", 1)[-1] for line in roles.stdout.splitlines() if line.startswith("backendops.stack.")}
    assert listed_roles == set(ROLES)
    assert action_groups(dest / "ansible_collections/backendops/stack/meta/runtime.yml") == ACTION_GROUPS

    # The installed copy, not the working tree, answers.
    doc = run(str(VENV_BIN / "ansible-doc"), "--json", "backendops.stack.env_file", env=env, cwd=tmp_path)
    assert doc.returncode == 0, doc.stderr
    assert str(dest) in doc.stdout, "ansible-doc did not read the installed copy"


# -- The shipped playbooks, run from the installed copy ------------------------------------------------------------------

# The one-liner docs/README give for an installed collection without an inventory: this machine as the Docker host.
LOCALHOST = ("-i", "localhost,", "-c", "local")


@pytest.fixture(name="installed", scope="module")
def installed_fixture(built, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The tarball installed into an empty collections path; the environment of a user outside the checkout."""
    dest = tmp_path_factory.mktemp("installed") / "collections"
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(dest)})
    env.pop("ANSIBLE_CONFIG")
    proc = run(str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(dest), str(built), env=env, cwd=dest.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest, env


@pytest.mark.parametrize("name", SHIPPED_PLAYBOOKS)
def test_shipped_playbook_passes_syntax_check_from_the_installed_copy(installed, built, name):
    with tarfile.open(built) as archive:
        assert f"playbooks/{name}.yml" in archive.getnames()
    dest, env = installed
    proc = run(str(VENV_BIN / "ansible-playbook"), f"backendops.stack.{name}", "--syntax-check", env=env, cwd=dest.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"playbook: {dest}/ansible_collections/backendops/stack/playbooks/{name}.yml" in proc.stdout


@needs_engine
def test_installed_docker_engine_playbook_changes_nothing_on_a_running_engine(installed):
    dest, env = installed
    proc = run(str(VENV_BIN / "ansible-playbook"), "backendops.stack.docker_engine", *LOCALHOST, "-e", "docker_engine_hosts=localhost",
               env=env, cwd=dest.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recap = RECAP_RE.search(proc.stdout)
    assert recap and int(recap["ok"]) > 0 and int(recap["changed"]) == 0 and int(recap["failed"]) == 0, proc.stdout[-3000:]


@needs_engine
def test_installed_local_playbook_runs_a_stack_and_removes_it(installed, tmp_path):
    """The whole local stack from the installed copy (its own sample backend), as a separate stack on a free port."""
    dest, env = installed
    stack, port, project_dir = "pytest-installed", free_port(), tmp_path / "stack"
    settings = ["-e", f"local_hosts=localhost compose_stack_name={stack} compose_stack_backend_port={port} compose_stack_project_dir={project_dir}"]
    try:
        up = run(str(VENV_BIN / "ansible-playbook"), "backendops.stack.local", *LOCALHOST, *settings, env=env, cwd=dest.parent)
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as answer:
            assert json.load(answer) == {"status": "ok"}

        down = run(str(VENV_BIN / "ansible-playbook"), "backendops.stack.local", *LOCALHOST, *settings,
                   "-e", "compose_stack_state=absent compose_stack_remove_volumes=true", env=env, cwd=dest.parent)
        assert down.returncode == 0, down.stdout[-4000:] + down.stderr
        left = docker("ps", "-a", "--quiet", "--filter", f"label=com.docker.compose.project=backendops-{stack}").stdout.split()
        assert left == []
    finally:
        if (project_dir / "compose.yaml").exists():
            docker("compose", "--project-directory", str(project_dir), "down", "--volumes", check=False)
