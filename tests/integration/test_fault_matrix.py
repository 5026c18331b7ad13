# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault matrix of docs/evidence.md: every Railway fault, one module (or railway.yml) run each, on the emulator.

Each row must come out as the case expects (retried to success, or failed with one line that says what failed),
change nothing in the emulator beyond what the case allows, show no traceback and no secret. The report
(benchmarks/report.py) prints the same rows.
"""
from __future__ import annotations

import pytest

from evidence.fault_matrix import CASES, PLAYBOOK_CASES, run_case


@pytest.mark.parametrize("case", CASES, ids=[case.key for case in CASES])
def test_module_fault_row(emulator, tmp_path, case):
    row = run_case(emulator, case, tmp_path)
    assert row.ok, row.as_row().describe() + "\n" + row.output_tail


@pytest.mark.parametrize("case", PLAYBOOK_CASES, ids=[case.key for case in PLAYBOOK_CASES])
def test_playbook_fault_row(emulator, tmp_path, case):
    row = run_case(emulator, case, tmp_path)
    assert row.ok, row.as_row().describe() + "\n" + row.output_tail
