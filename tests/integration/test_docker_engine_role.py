# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docker_engine role (one call of the module backendops.stack.docker_engine) against this machine's real engine:
idempotence, check mode and diff, restart by pidfile, the containerd pidfile and the second start.

These tests stop the engine, so scripts/test runs them on their own (marker engine_restart) before the
tests that use the engine. They assert through the module's result, read with the JSON callback.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import DOCKER_PIDFILE as PIDFILE, PIDFILE_ENGINE, engine_has_pidfile, needs, needs_root

PLAYBOOK = "playbooks/docker_engine.yml"
ENGINE_TASK = "Make sure the engine runs, with Compose v2, buildx and python3-requests"
CONTAINERD_PIDFILE = Path("/var/run/docker/containerd/containerd.pid")

pytestmark = [pytest.mark.engine_restart, needs_root]
needs_pidfile_engine = needs(engine_has_pidfile, PIDFILE_ENGINE)


def engine_version() -> str | None:
    proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


class EngineRun:
    """One playbook run: its outcome, the changed count of its recap and the docker_engine module's result."""

    def __init__(self, run):
        self.run = run
        document = json.loads(run.stdout) if run.stdout.lstrip().startswith("{") else {"stats": {}, "plays": []}
        self.changed = document["stats"].get("localhost", {}).get("changed")
        results = [task["hosts"]["localhost"] for play in document["plays"] for task in play["tasks"]
                   if task["task"]["name"].endswith(ENGINE_TASK) and "localhost" in task["hosts"]]
        self.result = results[-1] if results else {}

    @property
    def rc(self) -> int:
        return self.run.rc

    def __getitem__(self, field):
        assert field in self.result, f"no {field} in the module's result: {self.run.output[-3000:]}"
        return self.result[field]


def run_role(playbook, *args: str, path: str = PLAYBOOK) -> EngineRun:
    return EngineRun(playbook(path, *args, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}))


def restart_if_stopped(playbook) -> None:
    """Whatever a test did, the next one (and every other test of the session) needs an engine that answers."""
    if engine_version() is None:
        again = playbook(PLAYBOOK)
        assert engine_version(), f"the engine does not answer after the test: {again.output[-3000:]}"


def stop_engine_by_pidfile() -> int:
    pid = int(PIDFILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"dockerd {pid} did not stop within 60 s")
        time.sleep(0.5)
    return pid


def test_second_run_changes_nothing(playbook):
    first = run_role(playbook)
    assert first.rc == 0, first.run.output
    assert engine_version(), "the role returned but docker info does not answer"

    second = run_role(playbook)
    assert second.rc == 0, second.run.output
    assert second.changed == 0, second.run.output
    assert second["actions"] == [] and second["engine_starts"] == 0 and second["start"] is None
    assert second["probe"]["engine_answers"] and second["probe"]["compose_ok"] and second["probe"]["buildx_ok"]


@needs_pidfile_engine
def test_engine_stopped_by_pidfile_is_started_again(playbook):
    old_pid = stop_engine_by_pidfile()
    try:
        assert engine_version() is None

        plan = run_role(playbook, "--check", "--diff")
        assert plan.rc == 0, plan.run.output
        assert plan.changed >= 1 and plan["start"] == "daemon" and plan["engine_starts"] == 0, plan.run.output
        assert plan["actions"] == [f"start dockerd in the background (pidfile {PIDFILE}, log /var/log/backendops-dockerd.log)"]
        assert plan["diff"]["before"]["engine"] == "installed" and plan["diff"]["after"]["engine"] == "answers"
        assert engine_version() is None, "check mode started the engine"

        start = run_role(playbook)
        assert start.rc == 0, start.run.output
        assert start.changed >= 1 and start["engine_starts"] == 1 and not start["forgot_containerd_pidfile"]
        assert start["server_version"] and engine_version(), "docker info does not answer after the role started the engine"
        assert int(PIDFILE.read_text().strip()) != old_pid
    finally:
        restart_if_stopped(playbook)

    again = run_role(playbook)
    assert again.changed == 0, again.run.output


@needs_pidfile_engine
def test_stale_containerd_pidfile_does_not_stop_the_start(playbook, tmp_path):
    """After a crash the pidfile of dockerd's containerd can name a live process that is not (or no longer) ours.

    Seen on this machine: dockerd then waits for that "containerd", gives up after about 15 s and exits.
    """
    stop_engine_by_pidfile()
    # A process of another name: the module forgets the pidfile before it starts dockerd.
    with subprocess.Popen(["sleep", "300"]) as other_process:
        try:
            CONTAINERD_PIDFILE.write_text(str(other_process.pid))
            start = run_role(playbook)
            assert start.rc == 0, start.run.output
            assert start["forgot_containerd_pidfile"], start.result
            assert start["engine_starts"] == 1 and not start["stopped_containerd"], start.result
            assert engine_version(), "the role returned but docker info does not answer"
            assert other_process.poll() is None, "the module killed a process it does not own"
        finally:
            other_process.kill()
            restart_if_stopped(playbook)

    # A containerd that dockerd launched (its config under the exec root) but that does not answer: dockerd's
    # first start gives up, the module stops that containerd and starts dockerd once more.
    stop_engine_by_pidfile()
    hung = tmp_path / "containerd"
    hung.symlink_to(sys.executable)
    sleeper = "import signal, time; signal.signal(signal.SIGTERM, lambda *_: exit(0)); time.sleep(300)"
    with subprocess.Popen([str(hung), "-c", sleeper, "--config", "/var/run/docker/containerd/containerd.toml"]) as hung_containerd:
        try:
            time.sleep(0.5)  # until /proc shows the new name and arguments
            CONTAINERD_PIDFILE.write_text(str(hung_containerd.pid))
            retried = run_role(playbook)
            assert retried.rc == 0, retried.run.output
            assert retried["stopped_containerd"] and retried["engine_starts"] == 2, retried.result
            assert "start dockerd again" in retried["actions"], retried.result
            assert hung_containerd.poll() is not None, "the hung containerd was not stopped"
            assert engine_version(), "docker info does not answer after the second start"
        finally:
            hung_containerd.kill()
            restart_if_stopped(playbook)


def test_unsupported_os_family_fails_with_one_clear_error(playbook, tmp_path):
    """The role passes the os_family fact on; the module refuses any family but Debian before it runs anything."""
    task = {"name": ENGINE_TASK, "backendops.stack.docker_engine": {
        "os_family": "RedHat", "distribution": "Fedora", "distribution_version": "40"}}
    path = tmp_path / "refuse.yml"
    path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    run = run_role(playbook, path=str(path))
    assert run.rc != 0
    assert run["msg"] == ("backendops.stack.docker_engine supports Debian-family hosts (Debian, Ubuntu); "
                          "this host runs Fedora 40 (os_family RedHat).")
    assert run["actions"] == [] and "Traceback" not in run.run.output
    assert run.changed == 0
