# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/local.yml on a Docker host reached over SSH, as a non-root user: the source is copied there, the images
are built and the stack runs there, its files and secrets live in that user's home, and a re-run changes nothing.

The host is an sshd on this machine (tests/sshhost.py), so the controller's source must be out of the SSH user's
reach to show that the build used a copy: it sits in pytest's tmp directory (mode 0700, root's).
"""
from __future__ import annotations

import json
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

from sshhost import USER
from support import run_playbook, stacks_dir

SAMPLE_GREETING = "Hello from the backendops.stack sample backend"  # examples/backend/src/greeting.js


def readable_by_ssh_user(path: Path) -> bool:
    return subprocess.run(["sudo", "-u", USER, "test", "-r", str(path)], capture_output=True, check=False).returncode == 0


# Put into the controller's source before the run, so that the check of the copy below can fail: the source is a
# copy of the sample backend without env files and node_modules, and the sample has no .git.
NEVER_COPIED = {".env": "JWT_SECRET=never-copied\n", "node_modules/x.js": "never copied\n", ".git/HEAD": "ref: refs/heads/main\n"}


def test_local_stack_runs_on_the_ssh_host_from_a_copy_of_the_source(ssh_stack):
    assert not readable_by_ssh_user(ssh_stack.source / "package.json"), "the SSH user can read the controller's source"
    for name, content in NEVER_COPIED.items():
        (ssh_stack.source / name).parent.mkdir(parents=True, exist_ok=True)
        (ssh_stack.source / name).write_text(content, encoding="utf-8")
    link = ssh_stack.source / "app.conf"  # a harmless name for the .env: its content must not be copied either
    if not link.is_symlink():
        link.symlink_to(".env")
    first = ssh_stack.local_yml()
    assert "healthy" in first.stdout, first.output[-3000:]
    with urllib.request.urlopen(ssh_stack.url + "/api/health", timeout=10) as response:
        assert response.status == 200

    # The stack's files and the copy are the SSH user's, in its home; the controller's own stack directory is not used.
    account = ssh_stack.host.home.stat()
    for path in (ssh_stack.project_dir / "compose.yaml", ssh_stack.secrets_file, ssh_stack.source_copy / "package.json"):
        assert path.stat().st_uid == account.st_uid, f"{path} is not owned by {USER}"
    assert stat.S_IMODE(ssh_stack.secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(ssh_stack.project_dir.stat().st_mode) == 0o700
    assert not (stacks_dir() / ssh_stack.name).exists()
    assert f"files in {ssh_stack.project_dir}" in first.stdout

    # The copy has the source's files and nothing that is never copied (env files, node_modules, .git).
    copied = {str(p.relative_to(ssh_stack.source_copy)) for p in ssh_stack.source_copy.rglob("*") if p.is_file()}
    assert {"package.json", "package-lock.json", "prisma/schema.prisma"} <= copied
    assert not {name for name in copied if name.startswith((".env", "node_modules/", ".git/")) or "/.env" in name}
    assert "app.conf" not in copied and (ssh_stack.source / "app.conf").read_text(encoding="utf-8") == NEVER_COPIED[".env"]
    assert "left out symbolic links" in " ".join(first.output.split()) and "never-copied" not in first.output
    image = ssh_stack.app_images()
    assert image, f"no image {ssh_stack.app_image_name} on the engine"

    # When the AWX job (test_awx_credential_type.py, same stack) set the stack up first, the run above already was the
    # re-run; otherwise one more run is.
    again = ssh_stack.local_yml() if first.recap("dockerhost")["changed"] else first
    assert again.recap("dockerhost")["changed"] == 0, again.output[-3000:]


def test_an_engine_that_refuses_the_ssh_user_fails_in_one_line(ssh_stack):
    """Without the docker group the running engine refuses the user: the role says so and starts no second engine."""
    subprocess.run(["gpasswd", "--delete", USER, "docker"], capture_output=True, check=True)
    try:
        # A new login, not a kept-open connection that still has the group.
        run = run_playbook("playbooks/docker_engine.yml", "-i", str(ssh_stack.inventory),
                           env={**ssh_stack.host.env, "ANSIBLE_SSH_ARGS": "-o ControlMaster=no"})
    finally:
        subprocess.run(["usermod", "--append", "--groups", "docker", USER], capture_output=True, check=True)
    assert run.rc == 2, run.output[-3000:]
    output = " ".join(run.output.split())
    assert f"refuses {USER}" in output and "permission denied" in output, run.output[-3000:]
    assert "sudo usermod -aG docker <user>" in output
    # The play ends there: nothing is installed or started.
    assert "Install the engine" not in run.stdout and "Start the engine" not in run.stdout


def version_greeting(url: str) -> str:
    with urllib.request.urlopen(url + "/api/version", timeout=10) as response:
        return json.load(response)["greeting"]


def test_dev_mode_on_the_ssh_host_serves_an_edit_made_on_the_controller(ssh_stack):
    """Dev mode bind-mounts the host's copy of the source: the next run brings a controller edit, node --watch reloads."""
    dev = ssh_stack.local_yml(compose_stack_mode="dev")
    assert f"Stack {ssh_stack.name} (dev) is healthy" in dev.stdout, dev.output[-3000:]
    assert version_greeting(ssh_stack.url) == SAMPLE_GREETING
    greeting = ssh_stack.source / "src" / "greeting.js"
    greeting.write_text(greeting.read_text(encoding="utf-8").replace(SAMPLE_GREETING, "Edited on the controller"),
                        encoding="utf-8")
    ssh_stack.local_yml(compose_stack_mode="dev")
    assert "Edited on the controller" in (ssh_stack.source_copy / "src" / "greeting.js").read_text(encoding="utf-8")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and version_greeting(ssh_stack.url) != "Edited on the controller":
        time.sleep(1)
    assert version_greeting(ssh_stack.url) == "Edited on the controller"
