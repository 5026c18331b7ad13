# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Waiting with a deadline and capped backoff: polling, or following a stream that may drop.

Generic (the Railway deployer and the health checker use it); no AnsibleModule here, and the clock and the sleep
are injectable so tests run without sleeping.
"""

from __future__ import annotations

import time


class WaitResult:
    """What a wait ended with: the last value, elapsed seconds, number of polls, timed out or not.

    ``via`` is "subscription" when the stream saw the outcome, else "polling"; ``fallback`` says why polling
    took over from a stream (None when it did not).
    """

    def __init__(self, value, elapsed, polls, timed_out, via="polling", fallback=None):
        self.value = value
        self.elapsed = elapsed
        self.polls = polls
        self.timed_out = timed_out
        self.via = via
        self.fallback = fallback


class _Progress:
    """The last state seen and the change callback, shared by a subscription and the polling that may follow it."""

    _NOTHING = object()

    def __init__(self, start, on_change, state_of):
        self.start = start
        self.on_change = on_change
        self.state_of = state_of or (lambda value: value)
        self.last_state = self._NOTHING
        self.last_value = None

    def see(self, value, now):
        """Record ``value``; True when its state differs from the previous one (not for the first)."""
        state = self.state_of(value)
        self.last_value = value
        if state == self.last_state:
            return False
        first = self.last_state is self._NOTHING
        self.last_state = state
        if self.on_change:
            self.on_change(value, now - self.start)
        return not first


class Waiter:
    """Wait until a condition holds or a deadline passes: follow a subscription, or poll.

    Polling: the interval starts at ``interval`` and grows by ``factor`` while the observed state stays the same,
    capped at ``max_interval``; it drops back to ``interval`` when the state changes, because the next phase may be
    short. A long phase (a 10-minute build) thus costs a handful of requests. The last sleep is cut to end at the
    deadline, so the final poll happens right at the timeout.
    """

    def __init__(self, timeout, interval=2.0, max_interval=30.0, factor=1.5, sleep=time.sleep, clock=time.monotonic):
        if interval <= 0 or max_interval < interval or factor < 1:
            raise ValueError("need 0 < interval <= max_interval and factor >= 1")
        self.timeout = float(timeout)
        self.interval = float(interval)
        self.max_interval = float(max_interval)
        self.factor = float(factor)
        self._sleep = sleep
        self._clock = clock

    def wait(self, poll, done, on_change=None, state_of=None):
        """Call ``poll()`` until ``done(value)``; ``on_change(value, elapsed)`` fires when ``state_of(value)`` changes."""
        progress = _Progress(self._clock(), on_change, state_of)
        return self._poll(poll, done, progress, progress.start + self.timeout)

    def watch(self, stream, poll, done, on_change=None, state_of=None, lost=(Exception,)):
        """Follow ``stream(deadline)`` (an iterator of values) until ``done(value)``; poll when it fails.

        The stream ends by itself when the deadline passes; then one last poll decides. When it raises one of
        ``lost`` (it could not be opened, or dropped), polling carries on until the same deadline.
        """
        progress = _Progress(self._clock(), on_change, state_of)
        deadline = progress.start + self.timeout
        fallback = None
        events = stream(deadline)
        try:
            for value in events:
                now = self._clock()
                progress.see(value, now)
                if done(value):
                    return WaitResult(value, now - progress.start, 0, False, via="subscription")
        except lost as exc:  # pylint: disable=catching-non-exception
            fallback = str(exc)
        finally:
            close = getattr(events, "close", None)
            if close:
                close()
        result = self._poll(poll, done, progress, deadline)
        result.fallback = fallback
        return result

    def _poll(self, poll, done, progress, deadline):
        interval = self.interval
        polls = 0
        while True:
            value = poll()
            polls += 1
            now = self._clock()
            if progress.see(value, now):
                interval = self.interval
            if done(value):
                return WaitResult(value, now - progress.start, polls, False)
            remaining = deadline - now
            if remaining <= 0:
                return WaitResult(value, now - progress.start, polls, True)
            self._sleep(min(interval, remaining))
            interval = min(self.max_interval, interval * self.factor)
