# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""waiter: deadline, capped backoff, reset on change; and railway.statuses' classification."""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import waiter as rw
from ansible_collections.backendops.stack.plugins.module_utils.railway import statuses as deployment_statuses
from railway_fakes import FakeClock

# Railway's DeploymentStatus enum (schema.graphql), all 13 values.
RAILWAY_STATUSES = {"BUILDING", "CRASHED", "DEPLOYING", "FAILED", "INITIALIZING", "NEEDS_APPROVAL", "QUEUED",
                    "REMOVED", "REMOVING", "SKIPPED", "SLEEPING", "SUCCESS", "WAITING"}


def make_waiter(timeout, **kwargs):
    clock = FakeClock(start=0.0)
    return rw.Waiter(timeout, sleep=clock.sleep, clock=clock.monotonic, **kwargs), clock


def scripted(values, clock=None):
    values = list(values)

    def poll():
        return values.pop(0) if len(values) > 1 else values[0]
    return poll


def test_every_railway_status_is_classified_exactly_once():
    groups = [deployment_statuses.IN_PROGRESS_STATUSES, deployment_statuses.SUCCESS_STATUSES,
              deployment_statuses.FAILURE_STATUSES, deployment_statuses.ENDED_STATUSES]
    assert deployment_statuses.ALL_STATUSES == RAILWAY_STATUSES
    assert sum(len(group) for group in groups) == len(RAILWAY_STATUSES)
    assert {s for s in RAILWAY_STATUSES if deployment_statuses.is_terminal(s)} == {
        "SUCCESS", "SLEEPING", "FAILED", "CRASHED", "SKIPPED", "REMOVED", "REMOVING"}
    assert set(deployment_statuses.BLOCKED_REASONS) == {"WAITING", "NEEDS_APPROVAL"}
    assert set(deployment_statuses.ENDED_REASONS) == deployment_statuses.ENDED_STATUSES


def test_unknown_statuses_keep_waiting():
    assert not deployment_statuses.is_terminal("SOMETHING_NEW")


def test_done_at_the_first_poll_does_not_sleep():
    waiter, clock = make_waiter(60)
    result = waiter.wait(lambda: "SUCCESS", deployment_statuses.is_terminal)
    assert (result.value, result.polls, result.timed_out, clock.sleeps) == ("SUCCESS", 1, False, [])


def test_interval_grows_while_the_status_stays_and_is_capped():
    waiter, clock = make_waiter(1000, interval=2, max_interval=10, factor=2)
    poll = scripted(["BUILDING"] * 6 + ["SUCCESS"])
    result = waiter.wait(poll, deployment_statuses.is_terminal)
    assert clock.sleeps == [2, 4, 8, 10, 10, 10]
    assert result.polls == 7 and result.elapsed == 44


def test_interval_starts_again_when_the_status_changes():
    waiter, clock = make_waiter(1000, interval=1, max_interval=30, factor=2)
    poll = scripted(["QUEUED", "QUEUED", "QUEUED", "BUILDING", "BUILDING", "SUCCESS"])
    changes = []
    waiter.wait(poll, deployment_statuses.is_terminal, on_change=lambda value, elapsed: changes.append((value, elapsed)))
    assert clock.sleeps == [1, 2, 4, 1, 2]
    assert changes == [("QUEUED", 0), ("BUILDING", 7), ("SUCCESS", 10)]


def test_a_long_build_costs_few_polls():
    waiter, clock = make_waiter(3600, interval=2, max_interval=30, factor=1.5)
    statuses = iter(["QUEUED"] + ["BUILDING"] * 1000)

    def poll():
        # a 10 minute build, then success
        return "SUCCESS" if clock.now >= 600 else next(statuses)
    result = waiter.wait(poll, deployment_statuses.is_terminal)
    assert result.value == "SUCCESS"
    assert result.polls <= 30


def test_timeout_polls_once_more_at_the_deadline_and_reports_the_last_value():
    waiter, clock = make_waiter(10, interval=3, max_interval=3, factor=1)
    result = waiter.wait(lambda: "BUILDING", deployment_statuses.is_terminal)
    assert result.timed_out and result.value == "BUILDING"
    assert clock.sleeps == [3, 3, 3, 1]  # the last sleep is cut to end at the deadline
    assert result.elapsed == 10 and result.polls == 5


def test_state_of_decides_what_counts_as_a_change():
    waiter, clock = make_waiter(100, interval=1, max_interval=8, factor=2)
    values = iter([{"status": "BUILDING", "n": i} for i in range(3)] + [{"status": "SUCCESS", "n": 9}])
    changes = []
    waiter.wait(lambda: next(values), lambda v: deployment_statuses.is_terminal(v["status"]),
                on_change=lambda v, e: changes.append(v["status"]), state_of=lambda v: v["status"])
    assert changes == ["BUILDING", "SUCCESS"]
    assert clock.sleeps == [1, 2, 4]


@pytest.mark.parametrize("kwargs", [dict(interval=0), dict(interval=5, max_interval=1), dict(factor=0.5)])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        rw.Waiter(10, **kwargs)


# --- following a stream (the deployment subscription), polling when it fails -----------------------------------------

class Lost(Exception):
    pass


def stream_of(values, clock, step=5.0, then=None):
    """A stream yielding ``values`` ``step`` seconds apart, then raising ``then`` (or ending at the deadline)."""
    def stream(deadline):
        for value in values:
            clock.sleep(step)
            yield value
        if then is not None:
            raise then
        clock.sleep(max(0.0, deadline - clock.monotonic()))
    return stream


def test_watch_sees_the_outcome_on_the_stream_without_polling():
    waiter, clock = make_waiter(60)
    seen = []
    polls = []
    result = waiter.watch(stream_of(["QUEUED", "BUILDING", "SUCCESS"], clock), lambda: polls.append(1),
                          lambda s: s == "SUCCESS", on_change=lambda value, elapsed: seen.append((value, elapsed)))
    assert (result.value, result.via, result.polls, result.timed_out, result.fallback) == ("SUCCESS", "subscription", 0, False, None)
    assert seen == [("QUEUED", 5.0), ("BUILDING", 10.0), ("SUCCESS", 15.0)] and polls == []


def test_watch_falls_back_to_polling_when_the_stream_is_lost_and_keeps_the_progress():
    waiter, clock = make_waiter(60, interval=2.0)
    seen = []
    result = waiter.watch(stream_of(["QUEUED", "BUILDING"], clock, then=Lost("socket dropped")),
                          scripted(["BUILDING", "BUILDING", "SUCCESS"]), lambda s: s == "SUCCESS",
                          on_change=lambda value, elapsed: seen.append(value), lost=(Lost,))
    assert (result.value, result.via, result.polls, result.fallback) == ("SUCCESS", "polling", 3, "socket dropped")
    assert seen == ["QUEUED", "BUILDING", "SUCCESS"]  # BUILDING once, although both the stream and a poll saw it


def test_watch_ends_with_one_poll_at_the_deadline():
    waiter, clock = make_waiter(20)
    result = waiter.watch(stream_of(["QUEUED", "BUILDING"], clock), scripted(["BUILDING"]), lambda s: s == "SUCCESS")
    assert (result.value, result.timed_out, result.polls, result.via) == ("BUILDING", True, 1, "polling")
    assert clock.monotonic() == pytest.approx(20)


def test_watch_lets_other_errors_through():
    waiter, clock = make_waiter(20)
    with pytest.raises(ValueError):
        waiter.watch(stream_of([], clock, then=ValueError("bug")), scripted(["SUCCESS"]), lambda s: s == "SUCCESS", lost=(Lost,))
