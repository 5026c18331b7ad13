# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Request counters for ``/_emulator/counters``: tests and benchmarks assert API traffic with them."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._totals: Counter[str] = Counter()
            self._by_operation: Counter[str] = Counter()
            self._mutation_fields: Counter[str] = Counter()

    def request(self, kind: str) -> None:
        """Every Railway API request, also those rejected later; ``kind`` is 'graphql', 'upload', 'websocket'
        (an upgrade request, a request like the others) or 'subscription' (a subscribe message on an open socket,
        not an HTTP request)."""
        with self._lock:
            if kind != "subscription":
                self._totals["requests"] += 1
            self._totals[{"graphql": "graphql_requests", "upload": "uploads", "websocket": "websockets",
                          "subscription": "subscriptions"}[kind]] += 1

    def operation(self, name: str) -> None:
        """A GraphQL request naming this operation, whether or not it got executed (retries count twice)."""
        with self._lock:
            self._by_operation[name] += 1

    def executed(self, operation_type: str, root_fields: list[str]) -> None:
        with self._lock:
            if operation_type == "mutation":
                self._totals["mutations"] += 1
                self._mutation_fields.update(root_fields)
            else:
                self._totals["queries"] += 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            totals = {key: self._totals[key] for key in ("requests", "graphql_requests", "queries", "mutations", "uploads", "websockets",
                                                         "subscriptions")}
            return {**totals, "by_operation": dict(self._by_operation), "mutation_fields": dict(self._mutation_fields)}
