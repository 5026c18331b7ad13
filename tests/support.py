"""Test support: import the working tree as backendops.stack, run Ansible like a user does."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-* commands: the repo's ansible.cfg, the venv's interpreter."""
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
