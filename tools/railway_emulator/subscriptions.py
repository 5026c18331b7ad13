# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GraphQL subscriptions over WebSocket, protocol graphql-transport-ws, as Railway serves them on /graphql/v2.

Each ``subscribe`` message runs graphql-core's ``subscribe`` on its own thread and event loop. The source stream
of ``Subscription.deployment`` looks at the deployment every TICK real seconds (settling the emulated clock, under
the emulator's lock) and yields when what the subscription selects changed, first right after subscribing. The
selection is resolved by running the same document as a query under the lock, so events are plain data and the
stream never reads the store unlocked.
"""
from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from graphql import (
    DocumentNode, ExecutionResult, GraphQLError, OperationType, execute_sync, get_operation_ast, parse, subscribe, validate,
)

from tools.railway_emulator import graphql_api
from tools.railway_emulator.auth import authenticate
from tools.railway_emulator.context import Context
from tools.railway_emulator.errors import RailwayError
from tools.railway_emulator.faults import Fault
from tools.railway_emulator.resolvers import Root
from tools.railway_emulator.websocket import ConnectionClosed, WebSocket

PROTOCOL = "graphql-transport-ws"
# Real seconds between two looks at a subscribed deployment.
TICK = 0.05
# graphql-transport-ws: the client must send connection_init within this many seconds.
INIT_TIMEOUT = 10.0


@dataclass
class SubscriptionContext:
    """What a subscription's source stream needs: the emulator, the caller's headers and a stop signal."""

    emulator: Any
    header: Callable[[str], "str | None"]
    query: DocumentNode
    variables: dict[str, Any] | None
    operation_name: str | None
    stop: threading.Event = field(default_factory=threading.Event)

    def snapshot(self) -> dict[str, Any]:
        """The subscription's selection, read now (as the equivalent query); RailwayError when it fails."""
        schema = graphql_api.load_schema()
        with self.emulator.settled() as now:
            ctx = Context(self.emulator.store, self.emulator.engine, authenticate(self.header, self.emulator.store), now)
            result = execute_sync(schema, self.query, root_value=Root(ctx), context_value=ctx, variable_values=self.variables,
                                  operation_name=self.operation_name)
        if result.errors:
            raise RailwayError(result.errors[0].message)
        return result.data or {}


def _subscribe_deployment(_root: Any, info: Any, id: str) -> Any:  # pylint: disable=redefined-builtin,invalid-name
    context: SubscriptionContext = info.context
    first = context.snapshot()  # raises here, so that a bad id or token is an error of the subscribe message

    async def source():
        last = first
        yield first["deployment"]
        while not context.stop.is_set():
            await asyncio.sleep(TICK)
            current = context.snapshot()
            if current != last:
                last = current
                yield current["deployment"]

    return source()


def install_resolvers() -> None:
    """Hook Subscription.deployment of the (cached) schema up to its source stream; idempotent."""
    subscription = graphql_api.load_schema().subscription_type
    if subscription is None:
        return
    deployment = subscription.fields["deployment"]
    deployment.subscribe = _subscribe_deployment
    deployment.resolve = lambda event, _info, **_args: event


def as_query(document: DocumentNode) -> DocumentNode:
    """The same document with its subscription operation turned into a query (Query has the same root fields)."""
    definitions = []
    for definition in document.definitions:
        if getattr(definition, "operation", None) == OperationType.SUBSCRIPTION:
            definition = dataclasses.replace(definition, operation=OperationType.QUERY)
        definitions.append(definition)
    return DocumentNode(definitions=tuple(definitions))


class Session:
    """One graphql-transport-ws connection."""

    def __init__(self, emulator: Any, socket: WebSocket, header: Callable[[str], "str | None"], fault: Fault | None) -> None:
        self.emulator = emulator
        self.socket = socket
        self.header = header
        # ws_drop: cut the connection after this many "next" messages (over all subscriptions of the socket).
        self.drop_after = int(fault.params.get("after", 1)) if fault is not None and fault.kind == "ws_drop" else None
        self.sent = 0
        self.sent_lock = threading.Lock()
        self.running: dict[str, SubscriptionContext] = {}

    def send(self, message: dict[str, Any]) -> None:
        self.socket.send_text(json.dumps(message))

    def serve(self) -> None:
        install_resolvers()
        self.socket.connection.settimeout(INIT_TIMEOUT)
        try:
            init = json.loads(self.socket.receive_text())
            if not isinstance(init, dict) or init.get("type") != "connection_init":
                self.socket.close(4400, "Expected connection_init")
                return
            with self.emulator.lock:
                credentials = authenticate(self.header, self.emulator.store)
            if credentials.principal is None:
                self.socket.close(4403, "Forbidden")
                return
            self.send({"type": "connection_ack"})
            self.socket.connection.settimeout(None)
            while True:
                message = json.loads(self.socket.receive_text())
                if not isinstance(message, dict):
                    self.socket.close(4400, "Invalid message")
                    return
                kind = message.get("type")
                if kind == "ping":
                    self.send({"type": "pong"})
                elif kind == "subscribe":
                    self.start(message)
                elif kind == "complete":
                    running = self.running.pop(str(message.get("id")), None)
                    if running is not None:
                        running.stop.set()
                elif kind != "pong":
                    self.socket.close(4400, f"Unexpected message type {kind!r}")
                    return
        except (ConnectionClosed, OSError, ValueError):
            pass
        finally:
            for running in self.running.values():
                running.stop.set()
            self.socket.drop()

    def start(self, message: dict[str, Any]) -> None:
        sub_id = str(message.get("id") or "")
        payload = message.get("payload") if isinstance(message.get("payload"), dict) else {}
        if not sub_id or sub_id in self.running:
            self.socket.close(4409, f"Subscriber for {sub_id} already exists")
            return
        self.emulator.counters.request("subscription")
        try:
            document = parse(payload.get("query") or "")
        except GraphQLError as exc:
            self.send({"id": sub_id, "type": "error", "payload": [{"message": exc.message}]})
            return
        operation = get_operation_ast(document, payload.get("operationName"))
        if operation is not None and operation.name is not None:
            self.emulator.counters.operation(operation.name.value)
        problems = validate(graphql_api.load_schema(), document)
        if operation is None or operation.operation != OperationType.SUBSCRIPTION:
            problems = problems or [GraphQLError("Only subscription operations are served over WebSocket")]
        if problems:
            self.send({"id": sub_id, "type": "error", "payload": [{"message": problem.message} for problem in problems]})
            return
        context = SubscriptionContext(self.emulator, self.header, as_query(document), payload.get("variables"),
                                      payload.get("operationName"))
        self.running[sub_id] = context
        threading.Thread(target=self._run, args=(sub_id, document, context), name=f"subscription-{sub_id}", daemon=True).start()

    def _run(self, sub_id: str, document: DocumentNode, context: SubscriptionContext) -> None:
        try:
            asyncio.run(self._stream(sub_id, document, context))
        except ConnectionClosed:
            context.stop.set()

    async def _stream(self, sub_id: str, document: DocumentNode, context: SubscriptionContext) -> None:
        result = subscribe(graphql_api.load_schema(), document, context_value=context, variable_values=context.variables,
                           operation_name=context.operation_name)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, ExecutionResult):
            self.send({"id": sub_id, "type": "error", "payload": [error.formatted for error in result.errors or []]})
            return
        try:
            async for item in result:
                if context.stop.is_set():
                    return
                body: dict[str, Any] = {"data": item.data}
                if item.errors:
                    body["errors"] = [error.formatted for error in item.errors]
                self.send({"id": sub_id, "type": "next", "payload": body})
                with self.sent_lock:
                    self.sent += 1
                    cut = self.drop_after is not None and self.sent >= self.drop_after
                if cut:
                    self.socket.drop()
                    return
        except RailwayError as exc:
            self.send({"id": sub_id, "type": "error", "payload": [{"message": exc.message}]})
            return
        finally:
            close = getattr(result, "aclose", None)
            if close is not None:
                await close()
        if not context.stop.is_set():
            self.send({"id": sub_id, "type": "complete"})
