# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests against the Railway emulator (tools/railway_emulator)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.railway_emulator.testing import EmulatorProcess

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
