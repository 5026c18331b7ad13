# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One row of evidence, and the table that prints many of them."""
from __future__ import annotations

from dataclasses import dataclass

# Row.ok: True meets the expectation, False does not, None has no figure yet (not run, not available).
STATUS = {True: "ok", False: "FAIL", None: "n/a"}


@dataclass
class Row:
    """A figure and what it is held against."""

    section: str
    name: str
    figure: str
    expected: str
    ok: bool | None
    detail: str = ""

    @property
    def status(self) -> str:
        return STATUS[self.ok]

    def describe(self) -> str:
        """One paragraph for an assertion message."""
        text = f"{self.section} / {self.name}: {self.figure} (expected {self.expected})"
        return f"{text}\n{self.detail}" if self.detail else text


def render_table(rows: list[Row]) -> str:
    """A plain-text table: section, row, figure, expected, status; details below the rows that have them."""
    headers = ("section", "row", "figure", "expected", "status")
    cells = [headers] + [(r.section, r.name, r.figure, r.expected, r.status) for r in rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(headers))]
    lines = []
    for index, cell in enumerate(cells):
        lines.append("  ".join(value.ljust(widths[i]) for i, value in enumerate(cell)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    details = [f"- {r.section} / {r.name}: {r.detail}" for r in rows if r.detail and r.ok is not True]
    if details:
        lines += ["", "details:"] + details
    return "\n".join(lines)
