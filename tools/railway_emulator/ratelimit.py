# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixed-window rate limiting per token, reported with Railway's headers."""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            # Epoch seconds on the emulated clock; Railway does not document the unit.
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """``limit`` requests per ``window`` emulated seconds per token; ``limit`` 0 disables limiting."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 0 or window <= 0:
            raise ValueError("rate limit must be >= 0 and the rate window > 0")
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def hit(self, key: str, now: float) -> RateDecision | None:
        """Count one request for ``key``; None when limiting is off."""
        if not self.enabled:
            return None
        with self._lock:
            started, used = self._windows.get(key, (now, 0))
            if now >= started + self.window:
                started, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key] = (started, used)
        reset_at = started + self.window
        return RateDecision(allowed, self.limit, self.limit - used, reset_at, max(1, math.ceil(reset_at - now)))
