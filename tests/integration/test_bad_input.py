# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Malformed values for every role and module (docs/evidence.md, "Bad input").

Each case must fail before it changes anything, with a message that names the option and, unless it is a secret,
the value; no traceback, no secret value shown. Role cases run one playbook each in a sandbox; the module cases
run together in one playbook against the Railway emulator, which must not see a single request.
"""
from __future__ import annotations

import pytest

from evidence.bad_input import MODULE_CASES, ROLE_CASES, run_module_cases, run_role_case


@pytest.fixture(name="module_rows", scope="module")
def module_rows_fixture(railway_emulator, tmp_path_factory):
    railway_emulator.reset()
    return {row.case.key: row for row in run_module_cases(railway_emulator, tmp_path_factory.mktemp("bad-modules"))}


@pytest.mark.parametrize("case", MODULE_CASES, ids=[case.key for case in MODULE_CASES])
def test_module_rejects_bad_input(module_rows, case):
    row = module_rows[case.key]
    assert row.ok, row.as_row().describe()


@pytest.mark.parametrize("case", ROLE_CASES, ids=[case.key for case in ROLE_CASES])
def test_role_rejects_bad_input(tmp_path, case):
    row = run_role_case(case, tmp_path)
    assert row.ok, row.as_row().describe()
