# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest set-up; the helpers live in support.py so that test modules can import them."""
from __future__ import annotations

import pytest

from skip_gate import pytest_addoption, pytest_configure, pytest_runtest_setup  # noqa: F401  pylint: disable=unused-import
from support import run_playbook


@pytest.fixture(name="playbook")
def playbook_fixture():
    return run_playbook
