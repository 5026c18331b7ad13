# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test support: import the working tree as backendops.stack, run Ansible like a user does, require what tests need."""
from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS_DIR = REPO_ROOT / ".collections"
VENV_BIN = Path(sys.executable).parent

# scripts/bootstrap links .collections/ansible_collections/backendops/stack to the checkout; the
# venv's site-packages holds community.docker & co. Both halves of the namespace merge on sys.path.
if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)",
    re.M,
)


@dataclass
class PlaybookRun:
    """Outcome of one ansible-playbook run."""

    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def recap(self, host: str = "localhost") -> dict[str, int]:
        for match in RECAP_RE.finditer(self.stdout):
            if match.group("host") == host:
                return {k: int(v) for k, v in match.groupdict().items() if k != "host"}
        raise AssertionError(f"no PLAY RECAP line for {host} in:\n{self.output[-3000:]}")


@functools.lru_cache(maxsize=None)
def _data_home() -> str:
    """A data directory of this test session (what modules remember, such as sealed digests), never the user's."""
    path = tempfile.mkdtemp(prefix="backendops-test-data-")
    atexit.register(shutil.rmtree, path, True)
    return path


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-* commands: the repo's ansible.cfg, the venv's interpreter, a data home of the tests."""
    env = dict(os.environ)
    env.update(
        XDG_DATA_HOME=_data_home(),
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


def run_playbook(playbook: str | Path, *args: str, env: dict[str, str] | None = None, timeout: int = 1800) -> PlaybookRun:
    """Run ansible-playbook from the repo root, as the README tells users to."""
    cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook), *args]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=ansible_env(env), capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Files (relative path: text) under root, with their directories; returns root."""
    for relpath, content in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


# -- What a test needs from the machine -----------------------------------------------------------------------------
# CI provides all of these, so there a missing one is a broken install step or a renamed file, not a reason to skip:
# require() fails the test under CI=true and skips it elsewhere, with the same text naming the missing thing.
# scripts/test also fails on any skip that tests/skip-allowlist.txt does not allow (see skip_gate.py).

DOCKER_PIDFILE = Path("/var/run/docker.pid")
ENGINE = "a Docker engine that answers `docker info`, with Compose v2 (start one with playbooks/docker_engine.yml)"
ROOT = "root (uid 0)"
PIDFILE_ENGINE = f"a dockerd started with the pidfile {DOCKER_PIDFILE} (the docker_engine role without systemd)"


def in_ci() -> bool:
    """CI=true (or 1/yes), as GitHub Actions, GitLab CI and .ci/run's callers set it."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(condition: bool, what: str) -> None:
    """Go on only when `condition` holds: otherwise fail under CI (which must provide `what`), skip elsewhere."""
    if condition:
        return
    import pytest  # pylint: disable=import-outside-toplevel  # the benchmarks use this module without pytest

    reason = f"needs {what}"
    if in_ci():
        pytest.fail(f"{reason}; CI=true, where it must be present, so this is a failure and not a skip", pytrace=False)
    pytest.skip(reason)


def needs(check: Callable[[], bool], what: str) -> pytest.MarkDecorator | None:
    """Mark form of require(): `check` runs when the test is set up (conftest.py), before its fixtures."""
    try:
        import pytest  # pylint: disable=import-outside-toplevel
    except ImportError:  # the benchmarks, on what make local installed: there is no test to mark
        return None
    return pytest.mark.needs(check, what)


def railway_schema() -> Path:
    """Railway's published schema: beside the checkout in ../shared/railway/, or where BACKENDOPS_RAILWAY_SCHEMA says."""
    return Path(os.environ.get("BACKENDOPS_RAILWAY_SCHEMA") or REPO_ROOT.parent / "shared" / "railway" / "schema.graphql")


def railway_schema_what() -> str:
    return (f"Railway's official schema at {railway_schema()} (../shared/railway/schema.graphql beside the checkout, "
            "or a path in BACKENDOPS_RAILWAY_SCHEMA)")


@functools.cache
def engine_answers() -> bool:
    """Whether a Docker engine answers and has Compose v2; asked once per session."""
    if shutil.which("docker") is None:
        return False
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=30, check=False)
        compose = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return False
    return info.returncode == 0 and compose.returncode == 0


def is_root() -> bool:
    return os.geteuid() == 0


def engine_has_pidfile() -> bool:
    return DOCKER_PIDFILE.exists()


needs_engine = needs(engine_answers, ENGINE)
needs_root = needs(is_root, ROOT)
