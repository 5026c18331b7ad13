# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cron schedules as Railway documents them (docs.railway.com/reference/cron-jobs): five numeric fields in UTC, a job
started at most every 5 minutes; ``next_run`` gives ``ServiceInstance.nextCronRunAt`` on the emulated clock."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tools.railway_emulator.errors import RailwayError

# (name, lowest, highest); the docs give numbers only, day of week 0 (Sunday) to 6.
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
MIN_INTERVAL_MINUTES = 5
_ITEM = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")
# A schedule on 29 February runs within four years (and one day).
_HORIZON_DAYS = 4 * 366 + 1


class Schedule:
    """A parsed cron expression: the set of values each field allows."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != len(FIELDS):
            raise RailwayError(f"Invalid cron schedule {expression!r}: expected 5 fields (minute hour day-of-month month day-of-week)")
        self.text = fields
        self.values = [_field(text, name, low, high, expression) for text, (name, low, high) in zip(fields, FIELDS)]
        self.every_day = fields[2] == fields[3] == fields[4] == "*"

    @property
    def shortest_gap(self) -> int:
        """Minutes between the closest two runs of a day (across midnight when it runs every day)."""
        times = sorted(hour * 60 + minute for hour in self.values[1] for minute in self.values[0])
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        if self.every_day:
            gaps.append(times[0] + 24 * 60 - times[-1])
        return min(gaps) if gaps else 24 * 60

    def runs_on(self, day: datetime) -> bool:
        month_ok = day.month in self.values[3]
        dom_ok, dow_ok = day.day in self.values[2], (day.weekday() + 1) % 7 in self.values[4]
        # Cron's rule: with both day fields restricted, either one matching is enough.
        if self.text[2] != "*" and self.text[4] != "*":
            return month_ok and (dom_ok or dow_ok)
        return month_ok and dom_ok and dow_ok

    def next_run(self, after: float) -> float:
        """The first run strictly after ``after`` (epoch seconds, UTC)."""
        start = datetime.fromtimestamp(after, tz=timezone.utc)
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        for _day in range(_HORIZON_DAYS):
            if self.runs_on(day):
                for hour in sorted(self.values[1]):
                    for minute in sorted(self.values[0]):
                        at = day.replace(hour=hour, minute=minute)
                        if at.timestamp() > after:
                            return at.timestamp()
            day += timedelta(days=1)
        raise RailwayError("Invalid cron schedule: it never runs")


def _field(text: str, name: str, low: int, high: int, expression: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise RailwayError(f"Invalid cron schedule {expression!r}: {name} {text!r}")
        span, step = match.group(1), int(match.group(2) or 1)
        if span == "*":
            first, last = low, high
        else:
            head, _dash, tail = span.partition("-")
            first, last = int(head), int(tail) if tail else (high if match.group(2) else int(head))
        if not low <= first <= last <= high or step < 1:
            raise RailwayError(f"Invalid cron schedule {expression!r}: {name} {text!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return values


def checked(expression: str) -> Schedule:
    """The schedule, or the error Railway's settings would show (the texts are the emulator's own)."""
    schedule = Schedule(expression)
    if schedule.shortest_gap < MIN_INTERVAL_MINUTES:
        raise RailwayError(f"Invalid cron schedule {expression!r}: cron jobs can run at most every {MIN_INTERVAL_MINUTES} minutes")
    return schedule
