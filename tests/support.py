# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test support: import the working tree as backendops.stack, run Ansible like a user does, require what tests need."""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

if TYPE_CHECKING:
    import pytest

T = TypeVar("T")

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


# -- A home of the session's own ----------------------------------------------------------------------------------
# The roles keep their files under ~ (~/.cache/backendops: app image sources, the registry state; ~/.local/share/
# backendops: stacks, sealed digests). A test run must neither read a developer's nor leave files in them, so the
# session (and every process it starts) gets a HOME of its own whose .cache and .local are empty directories. The
# other entries of the real home (.docker, .gitconfig, .npmrc, ...) are linked in: tools keep their configuration.
# The slow things shared between runs are not under ~: the base images' work directory is /var/cache/backendops.
REAL_HOME_VAR = "BACKENDOPS_TEST_REAL_HOME"
SESSION_HOME_VAR = "BACKENDOPS_TEST_HOME"
OWN_DIRS = (".cache", ".local")


def real_home() -> Path:
    """The user's home, also inside a session whose HOME is its own."""
    return Path(os.environ.get(REAL_HOME_VAR) or Path.home())


def use_session_home() -> Path | None:
    """Point HOME, XDG_CACHE_HOME and XDG_DATA_HOME of this process at a home of the session; returns it when this
    call made it (the caller removes it), None when an outer process (pytest-xdist's controller) already did."""
    if os.environ.get(SESSION_HOME_VAR):
        return None
    real = Path.home()
    home = Path(tempfile.mkdtemp(prefix="backendops-test-home-"))
    for entry in real.iterdir() if real.is_dir() else ():
        if entry.name not in OWN_DIRS:
            (home / entry.name).symlink_to(entry)
    for name in OWN_DIRS:
        (home / name).mkdir()
    os.environ.update({REAL_HOME_VAR: str(real), SESSION_HOME_VAR: str(home), "HOME": str(home),
                       "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share")})
    return home


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-* commands: the repo's ansible.cfg, the venv's interpreter (and the session's home)."""
    env = dict(os.environ)
    env.update(
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


class Unsafe(str):
    """A playbook or extra-vars string that Ansible must not template (``!unsafe``), like Railway's ``${{...}}``."""


class _AnsibleDumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    pass


_AnsibleDumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def ansible_yaml(document: Any) -> str:
    """YAML for Ansible, with Unsafe strings tagged !unsafe."""
    return yaml.dump(document, Dumper=_AnsibleDumper, sort_keys=False, allow_unicode=True)


def write_play(path: Path, tasks: list[dict[str, Any]], module_defaults: dict[str, Any] | None = None,
               name: str = "test") -> Path:
    """A playbook of one play on localhost (local connection, no facts) running ``tasks``."""
    play: dict[str, Any] = {"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False}
    if module_defaults:
        play["module_defaults"] = module_defaults
    play["tasks"] = tasks
    path.write_text(ansible_yaml([play]), encoding="utf-8")
    return path


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Files (relative path: text) under root, with their directories; returns root."""
    for relpath, content in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def run(*cmd: str, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A command from the repo root (by default) with ansible_env(); its output captured, its exit code not checked."""
    return subprocess.run(cmd, cwd=cwd, env=env or ansible_env(), capture_output=True, text=True, check=False)


def docker(*args: str, check: bool = True, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """The Docker CLI; check=True turns a non-zero exit into an AssertionError with its stderr."""
    proc = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-2000:]}")
    return proc


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stacks_dir() -> Path:
    """Where compose_stack keeps each stack's files by default (in a test session, under the session's home)."""
    return Path.home() / ".local/share/backendops/stacks"


def stack_containers(name: str, check: bool = True) -> list[str]:
    """IDs of the containers, running or not, of the stack ``name`` (Compose project backendops-<name>); with
    check=False none when the engine does not answer."""
    # Compose turns the project name into lower case letters, digits, '-' and '_'.
    project = "".join(c for c in f"backendops-{name}".lower() if c.isalnum() or c in "-_")
    return docker("ps", "-a", "--quiet", "--filter", f"label=com.docker.compose.project={project}", check=check).stdout.split()


def request_json(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None,
                 timeout: float = 10) -> tuple[int, Any]:
    """An HTTP request with a JSON body; (status, decoded JSON answer), an error status with {}."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def wait_until(probe: Callable[[], T], what: str, timeout: float = 90.0, interval: float = 0.5) -> T:
    """probe()'s first truthy answer; an AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


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


def exit_without_the_test_toolchain(what: str) -> None:
    """For scripts that otherwise run on what `make local` installed (scripts/bootstrap's runtime set): stop with the
    one command to run first when the Railway emulator's packages (requirements-dev.txt) are missing."""
    if importlib.util.find_spec("graphql") is None:
        sys.exit(f"{what} needs the Railway emulator, which needs the test toolchain: run `scripts/bootstrap dev` first")


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
