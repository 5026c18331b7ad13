# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest imports test modules by their file name (rootdir-relative, no packages), so two test files of one name
anywhere under tests/ stop the whole run at collection: the names are checked here, where a unit run catches it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_name_of_its_own():
    names = Counter(path.name for path in TESTS.rglob("test_*.py") if "output" not in path.parts)
    assert [name for name, count in names.items() if count > 1] == []


def collected_ids(seed: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(TESTS)],
                          cwd=TESTS.parent, env=dict(os.environ, PYTHONHASHSEED=seed), capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_two_collections_a_second_apart_give_the_same_test_ids():
    # scripts/test runs pytest-xdist, whose workers collect on their own and refuse to run when their test IDs differ:
    # an ID must not hold the time (a date, gzip's header) nor depend on the hash seed (each worker has its own).
    first = collected_ids("1")
    time.sleep(1.1)
    assert collected_ids("2") == first
