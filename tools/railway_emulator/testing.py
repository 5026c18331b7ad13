# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the emulator in a subprocess for tests, molecule and benchmarks (stdlib only).

    with EmulatorProcess(phase_seconds=1, clock_scale=30) as emulator:
        requests.post(emulator.url, headers={"Authorization": f"Bearer {emulator.account_token}"}, json=...)
        emulator.inject("deploy_fail")
        emulator.advance(10)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.utils import formatdate
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


class EmulatorError(RuntimeError):
    """The emulator did not start, or an admin call failed."""


class EmulatorProcess:
    """The emulator on a free port; keyword options map to CLI flags (``phase_seconds=1`` -> ``--phase-seconds 1``)."""

    def __init__(self, python: str = sys.executable, startup_timeout: float = 30.0, **cli_options: Any) -> None:
        self.python = python
        self.startup_timeout = startup_timeout
        self.cli_options = cli_options
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._process: subprocess.Popen | None = None
        self._log = None
        self.details: dict[str, Any] = {}
        self.returncode: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="railway-emulator-")  # pylint: disable=consider-using-with
        ready_file = Path(self._workdir.name) / "ready.json"
        command = [self.python, "-m", "tools.railway_emulator", "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready_file)]
        for name, value in self.cli_options.items():
            flag = f"--{name.replace('_', '-')}"
            # True is a switch (empty=True -> --empty); None and False leave the option out.
            if value is True:
                command.append(flag)
            elif value is not None and value is not False:
                command += [flag, str(value)]
        self._log = open(self.log_path, "w+", encoding="utf-8")  # pylint: disable=consider-using-with
        self._process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
        deadline = time.monotonic() + self.startup_timeout
        while not ready_file.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = self.logs()
                self.stop()
                raise EmulatorError(f"Railway emulator did not start ({' '.join(command)}):\n{output[-2000:]}")
            time.sleep(0.05)
        self.details = json.loads(ready_file.read_text(encoding="utf-8"))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # By PID, gracefully first: the emulator shuts down on SIGTERM.
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None:
            self.returncode = process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    @property
    def log_path(self) -> Path:
        return Path(self._workdir.name) / "emulator.log"

    def logs(self) -> str:
        """The emulator's stdout/stderr so far (one line per request)."""
        return self.log_path.read_text(encoding="utf-8") if self._workdir else ""

    # -- connection details ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.details["url"]

    @property
    def base_url(self) -> str:
        return self.details["base_url"]

    @property
    def admin_url(self) -> str:
        return self.details["admin_url"]

    @property
    def pid(self) -> int:
        return self.details["pid"]

    @property
    def account_token(self) -> str:
        return self.details["account_token"]

    @property
    def project_token(self) -> str:
        return self.details["project_token"]

    @property
    def workspace_token(self) -> str:
        return self.details["workspace_token"]

    def app_url(self, domain: str, path: str = "") -> str:
        """URL of the deployed app behind ``domain`` (stands in for https://<domain>/<path>)."""
        return f"{self.admin_url}/apps/{domain}/{path.lstrip('/')}"

    # -- admin API ---------------------------------------------------------------------------------------

    def admin(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.admin_url}/{path.lstrip('/')}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorError(f"{method} /_emulator/{path}: HTTP {exc.code}: {exc.read().decode(errors='replace')}") from None

    def counters(self) -> dict[str, Any]:
        return self.admin("GET", "counters")

    def reset_counters(self) -> dict[str, Any]:
        return self.admin("POST", "counters/reset")

    def reset(self) -> None:
        self.admin("POST", "reset")

    def state(self) -> dict[str, Any]:
        return self.admin("GET", "state")

    def inject(self, kind: str, **params: Any) -> dict[str, Any]:
        return self.admin("POST", "faults", {"kind": kind, **params})

    def faults(self) -> list[dict[str, Any]]:
        return self.admin("GET", "faults")

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def push(self, repo: str, branch: str = "main", commit_sha: str | None = None) -> list[str]:
        """A ``git push``: ids of the deployments it started (services connected to that repo and branch)."""
        payload = {"repo": repo, "branch": branch, **({"commitSha": commit_sha} if commit_sha else {})}
        return self.admin("POST", "push", payload)["deployments"]

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.admin("POST", "clock", {"advance": seconds})


def http_date(seconds_from_now: float) -> str:
    """An HTTP-date ``seconds_from_now`` ahead, e.g. for ``inject("http_429", retry_after=http_date(2))``."""
    return formatdate(time.time() + seconds_from_now, usegmt=True)
