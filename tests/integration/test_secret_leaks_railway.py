# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secret-leak scan of docs/evidence.md for railway.yml: canary tokens and variables must show up nowhere.

Plan, deploy, rotate, project-token and drift runs against the emulator with -vvv; each target is a test, so a leak
names its place. It starts no container, so it runs beside the engine's tests (engine_free.txt).
"""
from __future__ import annotations

import pytest

from evidence.secret_leaks import RAILWAY_TARGETS, assert_no_leak, scan_railway


@pytest.fixture(name="railway_scan", scope="module")
def railway_scan_fixture(tmp_path_factory):
    return scan_railway(tmp_path_factory.mktemp("railway-leaks"))


@pytest.mark.parametrize("target", RAILWAY_TARGETS)
def test_railway_playbook_leaks_no_secret(railway_scan, target):
    assert_no_leak(railway_scan, target)
