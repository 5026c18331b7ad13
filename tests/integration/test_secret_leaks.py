# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secret-leak scan of docs/evidence.md: canary secrets must show up nowhere but in the stack's 0600 .env.

One scan per module (a stack of its own, removed afterwards); each target is a test, so a leak names its place.
`docker inspect` counts too: the stack hands secrets to containers as files in /run/secrets, never as Env.
"""
from __future__ import annotations

import pytest

from evidence.secret_leaks import RAILWAY_TARGETS, TARGETS, scan_local_stack, scan_railway


@pytest.fixture(name="local_scan", scope="module")
def local_scan_fixture(tmp_path_factory):
    scan = scan_local_stack(tmp_path_factory.mktemp("leaks"))
    assert not scan.notes, scan.notes
    return scan


@pytest.mark.parametrize("target", TARGETS)
def test_local_stack_leaks_no_secret(local_scan, target):
    assert local_scan.scanned.get(target), f"nothing was scanned for {target}"
    leaks = local_scan.leaks_in(target)
    assert not leaks, f"{len(leaks)} secret(s) in {target}:\n" + "\n".join(map(str, leaks))


@pytest.fixture(name="railway_scan", scope="module")
def railway_scan_fixture(tmp_path_factory):
    scan = scan_railway(tmp_path_factory.mktemp("railway-leaks"))
    assert not scan.notes, scan.notes
    return scan


@pytest.mark.parametrize("target", RAILWAY_TARGETS)
def test_railway_playbook_leaks_no_secret(railway_scan, target):
    assert railway_scan.scanned.get(target), f"nothing was scanned for {target}"
    leaks = railway_scan.leaks_in(target)
    assert not leaks, f"{len(leaks)} secret(s) in {target}:\n" + "\n".join(map(str, leaks))
