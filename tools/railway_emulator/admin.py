# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``/_emulator/*`` admin API (no auth): counters, reset, state dump, clock, faults. For tests and benchmarks."""
from __future__ import annotations

from typing import Any

from tools.railway_emulator.clock import to_iso
from tools.railway_emulator.emulator import Emulator, Reply
from tools.railway_emulator.faults import FaultError


def handle_admin(emulator: Emulator, method: str, path: str, payload: Any) -> Reply:
    """``path`` is relative to /_emulator (e.g. "counters/reset")."""
    route = (method, path.strip("/"))
    if route == ("GET", "counters"):
        return Reply(200, emulator.counters.to_json())
    if route == ("POST", "counters/reset"):
        emulator.counters.reset()
        return Reply(200, emulator.counters.to_json())
    if route == ("POST", "reset"):
        emulator.reset()
        return Reply(200, {"reset": True})
    if route == ("GET", "state"):
        with emulator.settled() as now:
            return Reply(200, {"now": to_iso(now), **emulator.store.to_json()})
    if route == ("GET", "clock"):
        return Reply(200, _clock(emulator))
    if route == ("POST", "clock"):
        return _advance(emulator, payload)
    if route == ("POST", "push"):
        return _push(emulator, payload)
    if route == ("GET", "faults"):
        return Reply(200, emulator.faults.to_json())
    if route == ("POST", "faults"):
        try:
            fault = emulator.faults.arm(payload)
        except FaultError as exc:
            return Reply(400, {"message": str(exc)})
        return Reply(200, fault.to_json())
    if route == ("DELETE", "faults"):
        emulator.faults.clear()
        return Reply(200, [])
    return Reply(404, {"message": f"No admin endpoint {method} /_emulator/{path.strip('/')}"})


def _clock(emulator: Emulator) -> dict[str, Any]:
    config = emulator.config
    return {"now": to_iso(emulator.clock.now()), "scale": config.clock_scale, "phase_seconds": config.phase_seconds}


def _advance(emulator: Emulator, payload: Any) -> Reply:
    seconds = payload.get("advance") if isinstance(payload, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return Reply(400, {"message": 'clock needs {"advance": <seconds >= 0>}'})
    emulator.clock.advance(float(seconds))
    # Settle right away, so that whatever the advance completed is in place before the caller looks.
    with emulator.settled():
        return Reply(200, _clock(emulator))


def _push(emulator: Emulator, payload: Any) -> Reply:
    """A ``git push`` to a connected repository: {"repo": "owner/name", "branch": "main", "commitSha": optional}."""
    if not isinstance(payload, dict) or not isinstance(payload.get("repo"), str) or not payload["repo"]:
        return Reply(400, {"message": 'push needs {"repo": "<owner/name>", "branch": "<branch, default main>", "commitSha": "<optional 40 hex>"}'})
    with emulator.settled() as now:
        deployments = emulator.push(payload["repo"], str(payload.get("branch") or "main"), payload.get("commitSha"), now)
    return Reply(200, {"deployments": deployments})
