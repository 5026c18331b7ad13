# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docker_engine role against this machine's real engine: idempotence, check mode, restart by pidfile.

These tests stop the engine, so scripts/test runs them on their own (marker engine_restart) before the
tests that use the engine.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import DOCKER_PIDFILE as PIDFILE, PIDFILE_ENGINE, engine_has_pidfile, needs, needs_root

PLAYBOOK = "playbooks/docker_engine.yml"

pytestmark = [pytest.mark.engine_restart, needs_root]
needs_pidfile_engine = needs(engine_has_pidfile, PIDFILE_ENGINE)


def engine_version() -> str | None:
    proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


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
    first = playbook(PLAYBOOK)
    assert first.rc == 0, first.output
    assert engine_version(), "the role returned but docker info does not answer"

    second = playbook(PLAYBOOK)
    assert second.rc == 0, second.output
    assert second.recap()["changed"] == 0, second.output


@needs_pidfile_engine
def test_engine_stopped_by_pidfile_is_started_again(playbook):
    old_pid = stop_engine_by_pidfile()
    assert engine_version() is None

    plan = playbook(PLAYBOOK, "--check")
    assert plan.rc == 0, plan.output
    assert plan.recap()["changed"] >= 1, plan.output
    assert "Would start dockerd" in plan.stdout
    assert engine_version() is None, "check mode started the engine"

    start = playbook(PLAYBOOK)
    assert start.rc == 0, start.output
    assert start.recap()["changed"] >= 1
    assert engine_version(), "docker info does not answer after the role started the engine"
    assert int(PIDFILE.read_text().strip()) != old_pid

    again = playbook(PLAYBOOK)
    assert again.recap()["changed"] == 0, again.output


CONTAINERD_PIDFILE = Path("/var/run/docker/containerd/containerd.pid")


def ran(run, task: str) -> bool:
    """Whether the task reported a change (the default callback prints its header even when it is skipped)."""
    return re.search(re.escape(task) + r"\] \**\nchanged", run.stdout) is not None


@needs_pidfile_engine
def test_stale_containerd_pidfile_does_not_stop_the_start(playbook, tmp_path):
    """After a crash the pidfile of dockerd's containerd can name a live process that is not (or no longer) ours.

    Seen on this machine: dockerd then waits for that "containerd", gives up after about 15 s and exits.
    """
    stop_engine_by_pidfile()
    # A process of another name: the role forgets the pidfile before it starts dockerd.
    with subprocess.Popen(["sleep", "300"]) as other_process:
        try:
            CONTAINERD_PIDFILE.write_text(str(other_process.pid))
            start = playbook(PLAYBOOK)
            assert start.rc == 0, start.output
            assert ran(start, "Forget a containerd pidfile that names another process"), start.stdout
            assert not ran(start, "Start dockerd again"), start.stdout
            assert engine_version(), "the role returned but docker info does not answer"
            assert other_process.poll() is None, "the role killed a process it does not own"
        finally:
            other_process.kill()
            if engine_version() is None:
                playbook(PLAYBOOK)

    # A containerd that dockerd launched (its config under the exec root) but that does not answer: dockerd's
    # first start gives up, the role stops that containerd and starts dockerd once more.
    stop_engine_by_pidfile()
    hung = tmp_path / "containerd"
    hung.symlink_to(sys.executable)
    sleeper = "import signal, time; signal.signal(signal.SIGTERM, lambda *_: exit(0)); time.sleep(300)"
    with subprocess.Popen([str(hung), "-c", sleeper, "--config", "/var/run/docker/containerd/containerd.toml"]) as hung_containerd:
        try:
            time.sleep(0.5)  # until /proc shows the new name and arguments
            CONTAINERD_PIDFILE.write_text(str(hung_containerd.pid))
            retried = playbook(PLAYBOOK)
            assert retried.rc == 0, retried.output
            assert ran(retried, "Start dockerd again"), retried.stdout
            assert hung_containerd.poll() is not None, "the hung containerd was not stopped"
            assert engine_version(), "docker info does not answer after the second start"
        finally:
            hung_containerd.kill()
            if engine_version() is None:
                playbook(PLAYBOOK)


def test_unsupported_os_family_fails_with_one_clear_error(playbook):
    run = playbook(PLAYBOOK, "-e", json.dumps({"__docker_engine_supported_os_families": ["RedHat"]}))
    assert run.rc != 0
    assert "supports Debian-family hosts" in run.stdout
    assert "Traceback" not in run.output
    assert run.recap()["changed"] == 0
