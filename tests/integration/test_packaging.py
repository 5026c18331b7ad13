"""The collection as users get it: built with ansible-galaxy, installed into an empty path, documented."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest

from support import RECAP_RE, REPO_ROOT, VENV_BIN, ansible_env

MODULES = {
    "build_context_digest", "env_contract", "env_file",
    "railway_info", "railway_variables", "railway_service", "railway_deploy",
}
ROLES = {"docker_engine", "base_images", "app_image", "compose_stack"}


def run(*cmd: str, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env or ansible_env(), capture_output=True, text=True, check=False)


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
    assert "roles/docker_engine/meta/argument_specs.yml" in names
    assert "examples/backend/package-lock.json" in names


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
    assert MODULES <= listed

    roles = run(str(VENV_BIN / "ansible-doc"), "-t", "role", "-l", "backendops.stack", env=env, cwd=tmp_path)
    assert roles.returncode == 0, roles.stderr
    listed_roles = {line.rstrip(":").rsplit(".", 1)[-1] for line in roles.stdout.splitlines() if line.startswith("backendops.stack.")}
    assert ROLES <= listed_roles

    # The installed copy, not the working tree, answers.
    doc = run(str(VENV_BIN / "ansible-doc"), "--json", "backendops.stack.env_file", env=env, cwd=tmp_path)
    assert doc.returncode == 0, doc.stderr
    assert str(dest) in doc.stdout, "ansible-doc did not read the installed copy"


# -- The shipped playbooks, run from the installed copy ------------------------------------------------------------------

SHIPPED_PLAYBOOKS = sorted(path.stem for path in (REPO_ROOT / "playbooks").glob("*.yml"))
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


def engine_answers() -> bool:
    return shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("name", SHIPPED_PLAYBOOKS)
def test_shipped_playbook_passes_syntax_check_from_the_installed_copy(installed, built, name):
    with tarfile.open(built) as archive:
        assert f"playbooks/{name}.yml" in archive.getnames()
    dest, env = installed
    proc = run(str(VENV_BIN / "ansible-playbook"), f"backendops.stack.{name}", "--syntax-check", env=env, cwd=dest.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"playbook: {dest}/ansible_collections/backendops/stack/playbooks/{name}.yml" in proc.stdout


@pytest.mark.skipif(not engine_answers(), reason="no Docker engine answers here")
def test_installed_docker_engine_playbook_changes_nothing_on_a_running_engine(installed):
    dest, env = installed
    proc = run(str(VENV_BIN / "ansible-playbook"), "backendops.stack.docker_engine", *LOCALHOST, "-e", "docker_engine_hosts=localhost",
               env=env, cwd=dest.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recap = RECAP_RE.search(proc.stdout)
    assert recap and int(recap["ok"]) > 0 and int(recap["changed"]) == 0 and int(recap["failed"]) == 0, proc.stdout[-3000:]


@pytest.mark.skipif(not engine_answers(), reason="no Docker engine answers here")
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
        left = subprocess.run(["docker", "ps", "-a", "--quiet", "--filter", f"label=com.docker.compose.project=backendops-{stack}"],
                              capture_output=True, text=True, check=True).stdout.split()
        assert left == []
    finally:
        if (project_dir / "compose.yaml").exists():
            subprocess.run(["docker", "compose", "--project-directory", str(project_dir), "down", "--volumes"], capture_output=True, check=False)
