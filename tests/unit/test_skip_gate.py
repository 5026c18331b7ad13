# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The skip gate (tests/skip_gate.py, support.require): pytest run in a subprocess on tiny generated test files."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT

TESTS_DIR = REPO_ROOT / "tests"

CONFTEST = """\
from skip_gate import pytest_addoption, pytest_configure, pytest_runtest_setup  # noqa: F401
"""

SAMPLE = """\
from pathlib import Path

import pytest

from support import needs, require

MARKER_FILE = Path(__file__).with_name("fixture-ran")


@pytest.fixture(name="expensive")
def expensive_fixture():
    MARKER_FILE.write_text("ran")


def test_passes():
    assert True


def test_requires_the_widget():
    require(False, "the widget at /nowhere/widget")


@needs(lambda: False, "the gadget")
def test_needs_the_gadget(expensive):
    pass


@pytest.mark.slow
def test_deselected():
    pytest.skip("never run")
"""


def run_pytest(directory: Path, *args: str, ci: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name not in ("CI", "PYTEST_ADDOPTS")}
    environment.update(env, PYTHONPATH=str(TESTS_DIR))
    if ci:
        environment["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=directory, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(name="sample")
def sample_fixture(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: left out with -m\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    return tmp_path


def skips_section(output: str) -> str:
    return output.split(" skips ", 1)[1]


def test_locally_a_missing_requirement_skips_and_the_summary_counts_it(sample):
    run = run_pytest(sample, "-m", "not slow")
    assert run.returncode == 0, run.stdout
    section = skips_section(run.stdout)
    assert "2 skipped, 2 reason(s):" in section
    assert "1  needs the widget at /nowhere/widget" in section and "1  needs the gadget" in section
    assert "test_sample.py::test_requires_the_widget" in section
    # Deselected by -m is not a skip.
    assert "never run" not in run.stdout
    assert not (sample / "fixture-ran").exists(), "the needs marker let the fixture run first"


def test_in_ci_a_missing_requirement_fails_naming_it(sample):
    run = run_pytest(sample, "-m", "not slow", ci=True)
    assert run.returncode == 1, run.stdout
    assert "needs the widget at /nowhere/widget; CI=true, where it must be present" in run.stdout
    assert "needs the gadget; CI=true" in run.stdout
    assert "0 skipped" in skips_section(run.stdout)
    assert not (sample / "fixture-ran").exists()


def test_allowlist_fails_the_run_on_a_skip_it_does_not_allow(sample):
    (sample / "allow.txt").write_text("# the gadget is only on some machines\nneeds the gadget\n")
    run = run_pytest(sample, "-m", "not slow", "--skip-allowlist", "allow.txt")
    assert run.returncode == 1, run.stdout
    section = skips_section(run.stdout)
    assert "needs the gadget  [allowed by allow.txt:2]" in section
    assert "needs the widget at /nowhere/widget  [NOT ALLOWED]" in section
    assert "skip gate: 1 skip(s) not allowed by allow.txt: the run fails" in section


def test_allowlist_passes_a_run_whose_skips_it_all_allows(sample):
    # A pattern must match the whole reason: "needs the" alone allows nothing.
    (sample / "allow.txt").write_text("# header\n\n# why: made up for this test\nneeds the gadget\nneeds the widget .*\nneeds the\n")
    run = run_pytest(sample, "-m", "not slow", "--skip-allowlist", "allow.txt")
    assert run.returncode == 0, run.stdout
    assert "skip gate: every skip is allowed by allow.txt" in run.stdout


@pytest.mark.parametrize("text, message", [
    ("# header\n\nneeds the gadget\n", "allow.txt:3: allow-list entry 'needs the gadget' has no comment above it"),
    ("# why\nneeds (the gadget\n", "allow.txt:2: 'needs (the gadget' is not a regular expression"),
])
def test_a_bad_allowlist_stops_the_run_naming_the_line(sample, text, message):
    (sample / "allow.txt").write_text(text)
    run = run_pytest(sample, "--skip-allowlist", "allow.txt")
    assert run.returncode == 4, run.stdout + run.stderr
    assert message in run.stderr


def test_the_shipped_allowlist_loads():
    run = run_pytest(TESTS_DIR.parent, "--skip-allowlist", "tests/skip-allowlist.txt", "--collect-only", "-q",
                     "tests/unit/test_role_docs.py")
    assert run.returncode == 0, run.stdout + run.stderr


def test_missing_railway_schema_fails_in_ci_naming_its_path(tmp_path):
    missing = tmp_path / "nowhere" / "schema.graphql"
    run = run_pytest(REPO_ROOT, "tests/unit/test_emulator_schema.py", ci=True, BACKENDOPS_RAILWAY_SCHEMA=str(missing))
    assert run.returncode == 1, run.stdout
    assert f"needs Railway's official schema at {missing}" in run.stdout
    assert "0 skipped" in skips_section(run.stdout)
    # Elsewhere it is a skip with the same reason.
    local = run_pytest(REPO_ROOT, "tests/unit/test_emulator_schema.py", BACKENDOPS_RAILWAY_SCHEMA=str(missing))
    assert local.returncode == 0, local.stdout
    assert f"needs Railway's official schema at {missing}" in skips_section(local.stdout)
