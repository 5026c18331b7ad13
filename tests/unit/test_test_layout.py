# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest imports test modules by their file name (rootdir-relative, no packages), so two test files of one name
anywhere under tests/ stop the whole run at collection: the names are checked here, where a unit run catches it."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_name_of_its_own():
    names = Counter(path.name for path in TESTS.rglob("test_*.py") if "output" not in path.parts)
    assert [name for name, count in names.items() if count > 1] == []
