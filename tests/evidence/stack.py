# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A local stack of its own (name, port, app image, scratch copy of the sample backend) for the evidence checks."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import parse
from support import REPO_ROOT, PlaybookRun, docker, free_port, run_playbook, stacks_dir

# The stack's secrets, as <SERVICE>__<NAME> (see plugins/module_utils/compose_file.py, secret_files).
SECRETS_FILE = ".env"


def copy_sample_backend(destination: Path, app: Path | None = None) -> Path:
    """The sample backend (or another app) without its local installs, build output and env files, as a fresh
    checkout has it."""
    shutil.copytree(app or REPO_ROOT / "examples/backend", destination,
                    ignore=shutil.ignore_patterns("node_modules", "dist", ".env", ".env.*"))
    return destination


class LocalStack:
    """playbooks/local.yml for one stack name and port, building its own app image from a scratch source copy."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str] | None = None, app: Path | None = None,
                 health_path: str = "/api/health"):
        # Unique per process, on a free port: a report and a test run on one host do not share a stack.
        self.name = f"{name}-{os.getpid()}"
        self.port = free_port()
        self.workdir = workdir
        self.source = workdir / "backend"
        self.app_image_name = f"backendops/backend-{self.name}"
        self.env = dict(env or {})
        self.project_dir = stacks_dir() / self.name
        # None: the sample backend, whose contract needs a Supabase URL.
        self.app = app
        self.health_path = health_path

    @property
    def project(self) -> str:
        return f"backendops-{self.name}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def copy_source(self) -> Path:
        return copy_sample_backend(self.source, self.app)

    def extra_vars(self, **more: Any) -> dict[str, Any]:
        values = {"compose_stack_name": self.name, "compose_stack_backend_port": self.port,
                  "app_image_name": self.app_image_name, "app_image_source_dir": str(self.source),
                  "app_image_work_dir": str(self.workdir / "app-image")}
        if self.env:
            values["compose_stack_env"] = dict(self.env) if self.app else {"SUPABASE_URL": "https://project-ref.supabase.co", **self.env}
        values.update(more)
        return values

    def local_yml(self, *args: str, check: bool = True, **more: Any) -> PlaybookRun:
        run = run_playbook("playbooks/local.yml", "-e", json.dumps(self.extra_vars(**more)), *args)
        if check and run.rc != 0:
            raise AssertionError(f"local.yml {' '.join(args)} failed for stack {self.name}:\n{run.output[-4000:]}")
        return run

    def compose(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        return docker("compose", "--project-directory", str(self.project_dir), *args, check=check, stdin=stdin)

    @property
    def secrets_file(self) -> Path:
        return self.project_dir / SECRETS_FILE

    def secrets(self) -> dict[str, str]:
        """The secrets (generated ones included) by their variable name, read from .env as Compose reads it."""
        return {key.split("__", 1)[1]: value for key, value in parse(self.secrets_file.read_text(encoding="utf-8")).items()}

    def secret_in_container(self, service: str, name: str) -> str:
        """What the service's container has in /run/secrets/<name>."""
        return docker("exec", f"{self.project}-{service}-1", "cat", f"/run/secrets/{name}").stdout

    def containers(self) -> list[str]:
        listing = docker("ps", "-a", "--format", "{{.Names}}", "--filter", f"label=com.docker.compose.project={self.project}")
        return sorted(listing.stdout.split())

    def app_images(self, check: bool = True) -> list[str]:
        listing = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={self.app_image_name}",
                         check=check)
        return sorted(listing.stdout.split())

    def wait_healthy(self, timeout: float = 300) -> None:
        """Until the health path answers 200 (after an engine restart the containers come back on their own)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}{self.health_path}", timeout=5) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(2)
        raise AssertionError(f"stack {self.name} not healthy within {timeout} s: {last}")

    def destroy(self) -> None:
        """Containers, network, volumes, files and app images of this stack; the scratch source goes with workdir."""
        if (self.project_dir / "compose.yaml").exists():
            self.compose("down", "--volumes", "--remove-orphans", check=False)
        # What compose could not take down (its compose.yaml invalid or gone), by the project's label.
        label = f"label=com.docker.compose.project={self.project}"
        for listing, removal in ((("container", "ls", "--all"), ("container", "rm", "--force", "--volumes")),
                                 (("network", "ls"), ("network", "rm")),
                                 (("volume", "ls"), ("volume", "rm", "--force"))):
            left = docker(*listing, "--quiet", "--filter", label, check=False).stdout.split()
            if left:
                docker(*removal, *left, check=False)
        shutil.rmtree(self.project_dir, ignore_errors=True)
        # Best effort: a cleanup error must not hide the error of the check itself.
        images = self.app_images(check=False)
        if images:
            docker("image", "rm", "--force", *images, check=False)
