# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests: the Railway emulator (tools/railway_emulator), a Docker host over SSH."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from support import ENGINE, engine_answers, require
from tools.railway_emulator.testing import EmulatorProcess

if TYPE_CHECKING:
    from sshhost import RemoteStack

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
