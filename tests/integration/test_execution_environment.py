# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment: ansible-builder's build context for execution-environment.yml, and the EE metadata
(meta/execution-environment.yml) that ansible-builder reads from the installed collection.

The EE base image cannot be pulled here, so no image is built. Instead the galaxy and builder stages of the
generated Containerfile are replayed on this machine: the context's requirements.yml is installed (offline,
community.docker from this virtualenv) and the context's own introspect script computes what the image would get.
"""
from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest
import yaml
from bindep.depends import Depends
from packaging.requirements import Requirement

from support import REPO_ROOT, VENV_BIN, ansible_env, run

GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
EE_DEFINITION = yaml.safe_load((REPO_ROOT / "execution-environment.yml").read_text(encoding="utf-8"))
COMMUNITY_DOCKER = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "community" / "docker"


def requirement_names(text: str) -> set[str]:
    """Normalised distribution names of a pip requirements text (comments and blank lines skipped)."""
    names = set()
    for line in text.splitlines():
        line = re.sub(r"(^|\s+)#.*$", "", line).strip()
        if line:
            names.add(Requirement(line).name.lower().replace("_", "-"))
    return names


def rpm_packages(bindep_text: str) -> set[str]:
    """Packages bindep would install on an RPM-based EE (CentOS Stream)."""
    return {rule[0] for rule in Depends(bindep_text).active_rules(["platform:rpm", "platform:centos", "platform:redhat"])}


@pytest.fixture(name="context", scope="module")
def context_fixture(tmp_path_factory) -> Path:
    """The build context, made the way docs/execution-environment.md says: build the tarball, then create."""
    build = run(str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", "build")
    assert build.returncode == 0, build.stdout + build.stderr
    context = tmp_path_factory.mktemp("ee") / "context"
    create = run(str(VENV_BIN / "ansible-builder"), "create", "--file", "execution-environment.yml", "--context", str(context),
                 "--output-filename", "Containerfile")
    output = create.stdout + create.stderr
    assert create.returncode == 0, output
    # A missing additional_build_files source is only a warning for ansible-builder; here it is an error.
    assert "No matches" not in output and "does not exist" not in output, output
    return context


def test_context_installs_the_built_collection(context):
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    collections = {entry["name"]: entry for entry in requirements["collections"]}
    assert collections[f"collections/{TARBALL}"]["type"] == "file"
    assert "community.docker" in collections

    # The tarball in the context is this collection at galaxy.yml's version, with its EE metadata inside.
    with tarfile.open(context / "_build" / "collections" / TARBALL) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))["collection_info"]
        names = set(archive.getnames())
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (GALAXY["namespace"], GALAXY["name"], GALAXY["version"])
    assert {"meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt"} <= names


def test_context_lists_python_and_system_dependencies(context):
    collection_python = requirement_names((REPO_ROOT / "meta" / "ee-requirements.txt").read_text(encoding="utf-8"))
    assert collection_python == {"pyyaml", "requests", "urllib3", "websocket-client"}
    assert requirement_names((context / "_build" / "requirements.txt").read_text(encoding="utf-8")) == collection_python
    assert rpm_packages((context / "_build" / "bindep.txt").read_text(encoding="utf-8")) == {
        "docker-ce-cli", "docker-compose-plugin", "docker-buildx-plugin"}

    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert f'ARG EE_BASE_IMAGE="{EE_DEFINITION["images"]["base_image"]["name"]}"' in containerfile
    # The EE runs the ansible-core this collection is tested with (requirements.txt).
    (core_pin,) = re.findall(r"^ansible-core==\S+$", (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8"), re.M)
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"$', containerfile, re.M).group(1).split()
    assert core_pin in refs and any(ref.startswith("ansible-runner==") for ref in refs)
    # Docker's repository is configured in the base stage, before bindep installs from it in the final stage.
    assert containerfile.index("docker-ce.repo") < containerfile.index("FROM base AS final")


def test_build_stages_resolve_the_dependencies_of_the_installed_collections(context, tmp_path):
    build_dir = context / "_build"
    installed = tmp_path / "collections"
    (installed / "ansible_collections" / "community").mkdir(parents=True)
    # Galaxy is unreachable: community.docker (the other requirement) comes from this virtualenv.
    (installed / "ansible_collections" / "community" / "docker").symlink_to(COMMUNITY_DOCKER)
    env = ansible_env({"ANSIBLE_GALAXY_DISABLE_GPG_VERIFY": "1"})
    # Neither the repo's ansible.cfg nor pytest-ansible's ANSIBLE_COLLECTIONS_PATH: both map backendops.stack to the
    # working tree, and ansible-galaxy would find it "already installed".
    env.pop("ANSIBLE_CONFIG")
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)

    galaxy_stage = run(str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
                       "--collections-path", str(installed), cwd=build_dir, env=env)
    assert galaxy_stage.returncode == 0, galaxy_stage.stdout + galaxy_stage.stderr
    assert (installed / "ansible_collections" / "backendops" / "stack" / "meta" / "execution-environment.yml").is_file()

    builder_stage = run(sys.executable, str(build_dir / "scripts" / "introspect.py"), "introspect", "--user-pip=requirements.txt",
                        "--user-bindep=bindep.txt", str(installed), cwd=build_dir, env=env)
    assert builder_stage.returncode == 0, builder_stage.stdout + builder_stage.stderr
    data = yaml.safe_load(builder_stage.stdout)
    by_collection: dict[str, set[str]] = {}
    for line in data["python"]:
        requirement, origin = line.split("# from collection ")
        by_collection.setdefault(origin.strip(), set()).add(Requirement(requirement.strip()).name)
    assert by_collection["backendops.stack"] == {"requests", "urllib3", "websocket-client"}
    assert "requests" in by_collection["community.docker"]
    system_from_collection = {line.split()[0] for line in data["system"] if line.endswith("# from collection backendops.stack")}
    assert system_from_collection == {"docker-ce-cli", "docker-compose-plugin", "docker-buildx-plugin"}


def third_party_imports() -> dict[str, set[str]]:
    """Top-level modules imported by the shipped plugins that are neither stdlib nor Ansible, with the files importing them."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("ansible", "ansible_collections", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def test_ee_requirements_are_exactly_what_the_plugins_import():
    distributions = importlib.metadata.packages_distributions()
    imported = {distributions[module][0].lower().replace("_", "-") for module in third_party_imports()}
    listed = requirement_names((REPO_ROOT / "meta" / "ee-requirements.txt").read_text(encoding="utf-8"))
    assert imported == listed, f"plugins import {sorted(imported)}, meta/ee-requirements.txt lists {sorted(listed)}"
