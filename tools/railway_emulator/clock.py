# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Emulated clock: deployments progress on this clock only, never on wall time directly."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class EmulatedClock:
    """Wall time scaled by ``scale`` plus explicit advances.

    ``scale`` 0 freezes the clock so that only :meth:`advance` moves it, which makes tests deterministic.
    The clock starts at the real wall time so that HTTP dates (``Retry-After``) stay meaningful to clients.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError("clock scale must be >= 0")
        self.scale = scale
        self._lock = threading.Lock()
        self._origin_wall = 0.0
        self._origin_mono = 0.0
        self._advanced = 0.0
        self.reset()

    def reset(self, start: float | None = None) -> None:
        """Restart at ``start`` (emulated epoch seconds), by default the current wall time."""
        with self._lock:
            self._origin_wall = time.time() if start is None else start
            self._origin_mono = time.monotonic()
            self._advanced = 0.0

    def now(self) -> float:
        """Emulated epoch seconds."""
        with self._lock:
            return self._origin_wall + (time.monotonic() - self._origin_mono) * self.scale + self._advanced

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward: 'advance' must be >= 0")
        with self._lock:
            self._advanced += seconds
        return self.now()


def to_iso(timestamp: float) -> str:
    """RFC 3339 with milliseconds, the shape Railway uses for DateTime."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_rfc3339_nano(timestamp: float) -> str:
    """RFC 3339 with nanoseconds, the shape of ``Log.timestamp``."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


def parse_time(value: float | int | str) -> float:
    """Epoch seconds from a number or an ISO 8601 / RFC 3339 string (nanoseconds are truncated)."""
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        # fromisoformat() in 3.11 accepts at most 6 fractional digits; Railway log timestamps carry 9.
        head, rest = text.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
