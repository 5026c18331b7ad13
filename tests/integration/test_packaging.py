"""The collection as users get it: built with ansible-galaxy, installed into an empty path, documented."""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from support import REPO_ROOT, VENV_BIN, ansible_env

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
