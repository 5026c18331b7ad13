# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests: the Railway emulator (tools/railway_emulator), a Docker host over SSH."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support import ENGINE, engine_answers, require
from tools.railway_emulator.testing import EmulatorProcess

if TYPE_CHECKING:
    from sshhost import RemoteStack

# Modules that build, start and wait for no container and need no SSH host: the Railway emulator (one per
# pytest-xdist worker, on a port of its own), the CPU and at most a `docker ps`. Under `-n 2 --dist loadgroup`
# (scripts/test) they run beside the tests that wait for the engine, which all share one group and so run one after
# the other in one worker, as without xdist. A module not named here joins that group: new tests start out serial.
ENGINE_FREE = {
    "test_bad_input", "test_emulator", "test_execution_environment", "test_fault_matrix", "test_railway_accounts",
    "test_railway_modules", "test_railway_playbook", "test_railway_playbook_processes", "test_railway_provisioning",
    "test_railway_sealed_variables", "test_railway_settings_playbook", "test_releases_playbook", "test_session_home",
    "test_source_sync_playbook",
}
ENGINE_GROUP = "engine"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    here = Path(__file__).parent
    engine = []
    for item in items:
        if item.path.parent == here:
            module = item.path.stem
            # An engine-free module stays whole in one worker: its module-scoped fixtures are made once.
            group = module if module in ENGINE_FREE else ENGINE_GROUP
            item.add_marker(pytest.mark.xdist_group(group))
            if group == ENGINE_GROUP:
                engine.append(item)
    if hasattr(config, "workerinput"):
        # In the workers (each sorts alike): the engine's group first, so that one worker starts on the longest chain
        # at once while the other takes everything else.
        first = set(engine)
        items[:] = engine + [item for item in items if item not in first]


# Fast clock: a phase lasts 2 emulated seconds = 0.1 real second, so a whole deployment takes well under a second.
FAST_CLOCK = {"phase_seconds": 2.0, "clock_scale": 20.0}


@pytest.fixture(name="railway_emulator", scope="session")
def railway_emulator_fixture() -> Iterator[EmulatorProcess]:
    """One emulator process for the whole session, with a fast clock."""
    with EmulatorProcess(**FAST_CLOCK) as emulator:
        yield emulator


@pytest.fixture(name="emulator")
def emulator_fixture(railway_emulator: EmulatorProcess) -> EmulatorProcess:
    """The session emulator, reset to its seed (state, clock, faults, counters) before the test."""
    railway_emulator.reset()
    return railway_emulator


@pytest.fixture(name="empty_emulator", scope="session")
def empty_emulator_fixture() -> Iterator[EmulatorProcess]:
    """A second emulator process for the session, started with an empty workspace (provisioning from nothing)."""
    with EmulatorProcess(empty=True, **FAST_CLOCK) as emulator:
        yield emulator


@pytest.fixture(name="empty")
def empty_fixture(empty_emulator: EmulatorProcess) -> EmulatorProcess:
    """The empty emulator, reset (state, clock, faults, counters) before the test."""
    empty_emulator.reset()
    return empty_emulator


@pytest.fixture(name="ssh_stack", scope="session")
def ssh_stack_fixture(tmp_path_factory) -> Iterator[RemoteStack]:
    """One stack of the sample backend on an SSH host for the session (the scenario test and the AWX job share it).
    Its source is a copy in pytest's tmp directory, which the SSH user cannot read: the host only has what the
    collection copied there."""
    # Imported here: sshhost imports the collection, which must not happen before the test modules are collected.
    from sshhost import SSH_HOST, RemoteStack, SSHHost, ssh_host_available  # pylint: disable=import-outside-toplevel
    require(engine_answers(), ENGINE)
    require(ssh_host_available(), SSH_HOST)
    workdir = tmp_path_factory.mktemp("ssh-host")
    with SSHHost(workdir) as host:
        stack = RemoteStack("ssh-host", workdir, host)
        stack.copy_source()
        try:
            yield stack
        finally:
            stack.destroy()
