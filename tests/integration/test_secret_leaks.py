# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secret-leak scan of docs/evidence.md: canary secrets must show up nowhere but in the stack's 0600 .env.

One scan (a stack of its own, removed afterwards); each target is a test, so a leak names its place. The Railway
scan needs no engine: test_secret_leaks_railway.py.
`docker inspect` counts too: the stack hands secrets to containers as files in /run/secrets, never as Env.
"""
from __future__ import annotations

import pytest

from evidence.secret_leaks import TARGETS, assert_no_leak, scan_local_stack


@pytest.fixture(name="local_scan", scope="module")
def local_scan_fixture(tmp_path_factory):
    return scan_local_stack(tmp_path_factory.mktemp("leaks"))


@pytest.mark.parametrize("target", TARGETS)
def test_local_stack_leaks_no_secret(local_scan, target):
    assert_no_leak(local_scan, target)
