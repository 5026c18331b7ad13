# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection: armed through ``POST /_emulator/faults``, consumed by API requests or new deployments."""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

# Consumed per matching API request (GraphQL or upload), before the request is executed.
REQUEST_FAULTS = frozenset({"http_500", "http_502", "http_503", "http_429", "slow", "drop", "html", "graphql_error"})
# Consumed by the next deployment(s) created (optionally only for one service).
DEPLOYMENT_FAULTS = frozenset({
    "deploy_fail", "deploy_crash", "deploy_skip", "deploy_hang", "deploy_needs_approval", "deploy_waiting",
    "predeploy_fail", "healthcheck_fail", "app_unhealthy",
})

# Consumed by the next backup workflow (volumeInstanceBackupCreate): it ends in Error.
BACKUP_FAULTS = frozenset({"backup_fail"})

# Consumed per WebSocket connection (subscriptions): the upgrade is refused, or the socket is cut after ``after``
# "next" messages. Request faults do not apply to WebSocket upgrades.
SOCKET_FAULTS = frozenset({"ws_refuse", "ws_drop"})

# Parameter name -> accepted Python types. Unknown parameters are rejected so a typo cannot arm a silent no-op.
_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "operation": (str,),
    "retry_after": (int, str),
    "seconds": (int, float),
    "status": (int,),
    "message": (str,),
    "service": (str,),
    "migration": (str,),
    "after": (int,),
}
_KIND_PARAMS: dict[str, frozenset[str]] = {
    **{kind: frozenset({"operation"}) for kind in REQUEST_FAULTS},
    "http_429": frozenset({"operation", "retry_after"}),
    "slow": frozenset({"operation", "seconds"}),
    "html": frozenset({"operation", "status"}),
    "graphql_error": frozenset({"operation", "message"}),
    **{kind: frozenset({"service"}) for kind in DEPLOYMENT_FAULTS},
    "deploy_fail": frozenset({"service", "message"}),
    "deploy_crash": frozenset({"service", "message"}),
    "deploy_waiting": frozenset({"service", "seconds"}),
    "predeploy_fail": frozenset({"service", "migration"}),
    "backup_fail": frozenset({"message"}),
    "ws_refuse": frozenset({"status"}),
    "ws_drop": frozenset({"after"}),
}

# Name under which upload requests match the ``operation`` filter.
UPLOAD_OPERATION = "up"


class FaultError(ValueError):
    """An inject request the emulator cannot honour; the message names the bad input."""


@dataclass
class Fault:
    kind: str
    count: int
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_fault(payload: Any) -> Fault:
    if not isinstance(payload, dict):
        raise FaultError("fault must be a JSON object like {\"kind\": \"http_500\", \"count\": 1}")
    params = dict(payload)
    kind = params.pop("kind", None)
    if kind not in _KIND_PARAMS:
        raise FaultError(f"unknown fault kind {kind!r}; known kinds: {', '.join(sorted(_KIND_PARAMS))}")
    count = params.pop("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FaultError(f"fault 'count' must be an integer >= 1, got {count!r}")
    unknown = sorted(set(params) - _KIND_PARAMS[kind])
    if unknown:
        raise FaultError(f"fault {kind!r} does not take {unknown}; it takes {sorted(_KIND_PARAMS[kind]) or 'no parameters'}")
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, _PARAM_TYPES[name]):
            raise FaultError(f"fault parameter {name!r} has the wrong type: {value!r}")
        if name == "seconds" and value < 0:
            raise FaultError("fault parameter 'seconds' must be >= 0")
        if name == "after" and value < 0:
            raise FaultError("fault parameter 'after' must be >= 0")
        if name == "status" and not 100 <= value <= 599:
            raise FaultError("fault parameter 'status' must be an HTTP status code")
    return Fault(kind=kind, count=count, params=params)


class FaultBoard:
    """Armed faults, consumed first-in first-out among those that match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def arm(self, payload: Any) -> Fault:
        fault = parse_fault(payload)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def take_request_fault(self, operations: set[str]) -> Fault | None:
        """A request fault for a request naming ``operations`` (operationName and root fields, or 'up')."""
        return self._take(lambda f: f.kind in REQUEST_FAULTS and f.params.get("operation", None) in (None, *operations))

    def take_socket_fault(self) -> Fault | None:
        return self._take(lambda f: f.kind in SOCKET_FAULTS)

    def take_deployment_fault(self, service_id: str, service_name: str) -> Fault | None:
        return self._take(lambda f: f.kind in DEPLOYMENT_FAULTS and f.params.get("service") in (None, service_id, service_name))

    def take_backup_fault(self) -> Fault | None:
        return self._take(lambda f: f.kind in BACKUP_FAULTS)

    def _take(self, matches) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if matches(fault):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return Fault(kind=fault.kind, count=1, params=dict(fault.params))
        return None
