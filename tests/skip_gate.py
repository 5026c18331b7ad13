# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Skip accounting for every pytest run, and the gate scripts/test puts on skips.

Every run ends with a "skips" section: how many tests were skipped and why. With --skip-allowlist FILE (scripts/test
passes tests/skip-allowlist.txt) a skip whose reason no entry of FILE matches fails the run: in CI a skip hides a
broken install step or a renamed file as well as a failure would, only silently. tests/conftest.py imports the hooks.

The `needs(check, what)` marker (support.needs) is evaluated here too, before the test's fixtures are set up.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import require

# How many test ids the summary prints per reason; the rest are counted.
SHOWN_PER_REASON = 5


@dataclass(frozen=True)
class Entry:
    """One allowed reason: a regular expression the whole reason must match, and where it is written."""

    pattern: re.Pattern[str]
    where: str


def load_allowlist(path: Path) -> list[Entry]:
    """Entries of an allow-list file; each needs a comment right above it (or above the entries it follows) saying why.

    A bad file is a usage error naming the line: an allow-list nobody can read would otherwise allow nothing or all.
    """
    entries: list[Entry] = []
    commented = False
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise pytest.UsageError(f"--skip-allowlist: cannot read {path}: {exc.strerror}") from exc
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            commented = False
        elif line.startswith("#"):
            commented = True
        elif not commented:
            raise pytest.UsageError(f"{path}:{number}: allow-list entry {line!r} has no comment above it saying why it is allowed")
        else:
            try:
                entries.append(Entry(re.compile(line), f"{path.name}:{number}"))
            except re.error as exc:
                raise pytest.UsageError(f"{path}:{number}: {line!r} is not a regular expression ({exc})") from exc
    return entries


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The text given to pytest.skip / skipif, without pytest's "Skipped: " prefix."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


class SkipGate:
    """Collects the skips of a session; with an allow-list, fails the session on any skip it does not allow."""

    def __init__(self, allowlist: Path | None):
        self.allowlist = allowlist
        self.entries = load_allowlist(allowlist) if allowlist else None
        self.skips: dict[str, list[str]] = defaultdict(list)  # reason -> test ids

    def record(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        # An xfail is reported as skipped too, but it is an expected failure, not a test left out.
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skips[skip_reason(report)].append(report.nodeid)

    def allowed_by(self, reason: str) -> Entry | None:
        return next((entry for entry in self.entries or () if entry.pattern.fullmatch(reason)), None)

    def disallowed(self) -> dict[str, list[str]]:
        if self.entries is None:
            return {}
        return {reason: ids for reason, ids in self.skips.items() if self.allowed_by(reason) is None}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.record(report)

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.record(report)

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.disallowed() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:
        total = sum(len(ids) for ids in self.skips.values())
        terminalreporter.section("skips")
        terminalreporter.write_line(f"{total} skipped" + (f", {len(self.skips)} reason(s):" if total else ""))
        for reason, ids in sorted(self.skips.items(), key=lambda item: (-len(item[1]), item[0])):
            entry = self.allowed_by(reason)
            verdict = "" if self.entries is None else f"  [allowed by {entry.where}]" if entry else "  [NOT ALLOWED]"
            terminalreporter.write_line(f"{len(ids):5d}  {reason}{verdict}")
            for nodeid in ids[:SHOWN_PER_REASON]:
                terminalreporter.write_line(f"         {nodeid}")
            if len(ids) > SHOWN_PER_REASON:
                terminalreporter.write_line(f"         ... and {len(ids) - SHOWN_PER_REASON} more")
        if self.entries is not None:
            bad = sum(len(ids) for ids in self.disallowed().values())
            if bad:
                terminalreporter.write_line(
                    f"skip gate: {bad} skip(s) not allowed by {self.allowlist}: the run fails. Provide what they need, "
                    "or allow the reason there with a comment saying why.", red=True, bold=True)
            else:
                terminalreporter.write_line(f"skip gate: every skip is allowed by {self.allowlist}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-allowlist", metavar="FILE", type=Path, default=None,
                     help="fail the run on any skip whose reason no regular expression in FILE matches fully")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(check, what): run only when check() is true (support.needs, support.require)")
    config.pluginmanager.register(SkipGate(config.getoption("skip_allowlist")), "skip_gate")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # tryfirst: before pytest sets up the fixtures, so a module fixture that builds something is not started for nothing.
    for mark in item.iter_markers("needs"):
        check, what = mark.args
        require(check(), what)
