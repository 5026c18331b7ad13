# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docker CLI of a Docker host, for the local stack's modules: run, JSON, compose, and one "no engine" line."""

from __future__ import annotations

import json
import platform
import re

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class DockerError(Exception):
    """A docker command failed in an expected way; the message is one line."""


def without_escapes(text: str | None) -> str:
    # Compose's progress output and logs carry terminal escapes even with --no-color.
    return _ANSI_RE.sub("", text or "")


def last_lines(text: str | None, count: int = 3) -> str:
    lines = [line.strip() for line in without_escapes(text).splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "no output"


def no_engine(error: str) -> str:
    return ("No Docker engine answers on %s: %s. Start one (the role backendops.stack.docker_engine does, as "
            "`make local` runs it) or point DOCKER_HOST at one." % (platform.node(), last_lines(error, 1)))


class DockerCli:
    """The docker CLI through module.run_command; the first call that cannot reach an engine says so in one line."""

    def __init__(self, module, project_dir: str | None = None):
        self.module = module
        self.project_dir = project_dir

    def run(self, *args, check: bool = True, env: dict[str, str] | None = None, timeout: int = 0,
            data: bytes | None = None, binary: bool = False):
        """(rc, stdout, stderr) of `docker args...`; env is added to the environment, timeout (s) > 0 bounds the run.

        data goes to the command's standard input as it is; with binary, stdout is bytes (a database dump).
        """
        argv = ["docker"] + list(args)
        limiter = self.module.get_bin_path("timeout", required=False) if timeout > 0 else None
        if limiter:
            argv = [limiter, str(timeout)] + argv
        try:
            if data is None and not binary:
                rc, out, err = self.module.run_command(argv, environ_update=env)
            else:
                rc, out, err = self.module.run_command(argv, environ_update=env, data=data, binary_data=True,
                                                       encoding=None if binary else "utf-8")
        except OSError as exc:
            raise DockerError(no_engine(str(exc))) from None
        if binary:
            err = err.decode("utf-8", "replace")
        if check and rc != 0:
            raise self.failure(args, rc, out.decode("utf-8", "replace") if binary else out, err)
        return rc, out, err

    @staticmethod
    def failure(args, rc: int, out: str, err: str) -> DockerError:
        """The one-line error of a docker command that failed (the "no engine" line when none answered)."""
        if "Cannot connect to the Docker daemon" in err or "error during connect" in err:
            return DockerError(no_engine(err))
        if rc == 124 and not (err or out).strip():
            return DockerError("docker %s timed out" % " ".join(args[:3]))
        return DockerError("docker %s failed: %s" % (" ".join(args[:3]), last_lines(err or out)))

    def compose(self, *args, check: bool = True):
        return self.run("compose", "--project-directory", self.project_dir, *args, check=check)

    def containers(self, project: str | None = None) -> list[dict]:
        """The inspected containers of a compose project, stopped ones too.

        Without a project, the one the compose file in project_dir names (compose reads its name there).
        """
        if project is None:
            ids = self.compose("ps", "--all", "--quiet")[1].split()
        else:
            ids = self.run("ps", "--all", "--quiet", "--no-trunc", "--filter",
                           "label=com.docker.compose.project=" + project)[1].split()
        return json.loads(self.run("inspect", *ids)[1]) if ids else []

    def compose_logs(self, *services: str, tail: int | None = None, prefix: bool = True,
                     check: bool = False) -> tuple[bool, str]:
        """(True, the services' logs) or (False, why compose could not read them); terminal escapes removed.

        No services: every service of the project. Without check a failure is returned, not raised, as logs that
        explain another failure must not hide it.
        """
        args = ["logs", "--no-color"] + ([] if prefix else ["--no-log-prefix"])
        args += ["--tail", str(tail)] if tail is not None else []
        rc, out, err = self.compose(*args, *services, check=check)
        return rc == 0, without_escapes(out if rc == 0 else err)

    def image_ids(self, images) -> dict[str, str]:
        """{image reference: ID}, missing images left out."""
        found = {}
        for ref in sorted(set(images)):
            rc, out, _err = self.run("image", "inspect", "--format", "{{.Id}}", ref, check=False)
            if rc == 0:
                found[ref] = out.strip()
        return found

    def image_config(self, ref: str) -> dict:
        """The image's Config (Entrypoint, Cmd, WorkingDir, ...) as `docker image inspect` has it."""
        return json.loads(self.run("image", "inspect", "--format", "{{json .Config}}", ref)[1]) or {}

    def volume_exists(self, name: str) -> bool:
        return self.run("volume", "inspect", name, check=False)[0] == 0
