# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest set-up; the helpers live in support.py so that test modules can import them."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import skip_gate
from skip_gate import pytest_addoption, pytest_runtest_setup  # noqa: F401  pylint: disable=unused-import
from support import run_playbook, use_session_home

SESSION_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    # Here, before any test module is imported, so that a module-level Path.home() sees the session's home too.
    # pytest-xdist's workers inherit the controller's: one home serves the whole run, and the controller removes it.
    home = use_session_home()
    if home is not None:
        config.stash[SESSION_HOME] = home
    skip_gate.pytest_configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(SESSION_HOME, None)
    if home is not None:
        # Files that containers wrote into bind mounts may belong to other users: best effort.
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(name="playbook")
def playbook_fixture():
    return run_playbook
