# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP front end (stdlib ``ThreadingHTTPServer``): routing, bodies, faults that act on the connection, logging."""
from __future__ import annotations

import json
import re
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tools.railway_emulator.admin import handle_admin
from tools.railway_emulator.emulator import Emulator, Reply
from tools.railway_emulator.faults import UPLOAD_OPERATION
from tools.railway_emulator.graphql_api import GraphQLRequest
from tools.railway_emulator.subscriptions import PROTOCOL, Session
from tools.railway_emulator.websocket import WebSocket, accept_key

GRAPHQL_PATH = "/graphql/v2"
ADMIN_PREFIX = "/_emulator"
APPS_PREFIX = "/_emulator/apps/"
UPLOAD_PATH = re.compile(r"^/project/(?P<project>[^/]+)/environment/(?P<environment>[^/]+)/up$")
# Admin and GraphQL bodies are small; anything bigger is a client bug, not something to buffer.
MAX_JSON_BODY = 8 * 1024 * 1024
DRAIN_CHUNK = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # Tests restart emulators quickly on fixed ports; do not wait for TIME_WAIT sockets.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        super().__init__(address, EmulatorHandler)
        self.emulator = emulator

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer
    # What the log line calls the request (GraphQL operation or "up"); set per request.
    _label = ""

    # -- dispatch ----------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("GET")

    def do_POST(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        self._label = ""
        if method == "GET" and url.path == GRAPHQL_PATH and (self.headers.get("Upgrade") or "").lower() == "websocket":
            self._websocket(self.server.emulator, started)
            return
        try:
            reply = self._route(method, url.path, parse_qs(url.query))
        except BodyTooLarge:
            reply = Reply(413, {"message": "Request body too large"})
            self.close_connection = True
        except (ConnectionError, socket.timeout):
            self.close_connection = True
            return
        self._send(reply)
        self._log(method, url.path, reply, started)

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> Reply:
        emulator = self.server.emulator
        if path == GRAPHQL_PATH and method == "POST":
            return self._graphql(emulator)
        upload = UPLOAD_PATH.match(path)
        if upload and method == "POST":
            return self._upload(emulator, upload["project"], upload["environment"], {k: v[0] for k, v in query.items()})
        if path.startswith(APPS_PREFIX) and method == "GET":
            domain, _slash, rest = unquote(path[len(APPS_PREFIX):]).partition("/")
            return emulator.app(domain, rest, self.headers.get("Authorization"))
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            body = self._read_body(MAX_JSON_BODY)
            try:
                payload = json.loads(body) if body.strip() else None
            except ValueError:
                return Reply(400, {"message": "admin request body must be JSON"})
            return handle_admin(emulator, method, path[len(ADMIN_PREFIX):], payload)
        if path in (GRAPHQL_PATH,) or upload:
            return Reply(405, {"message": f"{method} is not allowed here; use POST"})
        return Reply(404, {"message": f"Not found: {path}"})

    def _graphql(self, emulator: Emulator) -> Reply:
        emulator.counters.request("graphql")
        request = GraphQLRequest.from_body(self._read_body(MAX_JSON_BODY))
        self._label = request.label or ""
        if request.label:
            emulator.counters.operation(request.label)
        gate = emulator.gate(request.names, self.headers.get)
        if gate.reply is not None:
            return gate.reply
        reply = emulator.graphql(request, self.headers.get)
        reply.headers.update(gate.headers)
        return reply

    def _upload(self, emulator: Emulator, project_id: str, environment_id: str, params: dict[str, str]) -> Reply:
        emulator.counters.request("upload")
        self._label = UPLOAD_OPERATION
        gate = emulator.gate({UPLOAD_OPERATION}, self.headers.get)
        if gate.reply is not None:
            self._discard_body()
            return gate.reply
        limit = emulator.config.max_upload_bytes
        body = self._read_body(limit, discard_excess=True)
        reply = emulator.upload(project_id, environment_id, params, self.headers.get, body if len(body) <= limit else None)
        reply.headers.update(gate.headers)
        return reply

    def _websocket(self, emulator: Emulator, started: float) -> None:
        """An upgrade to graphql-transport-ws; a ws_refuse fault answers an HTTP error instead."""
        emulator.counters.request("websocket")
        self._label = "websocket"
        self.close_connection = True
        fault = emulator.faults.take_socket_fault()
        refused = None
        if fault is not None and fault.kind == "ws_refuse":
            refused = Reply(int(fault.params.get("status", 503)), "WebSocket upgrade refused", content_type="text/plain; charset=utf-8")
        elif PROTOCOL not in [p.strip() for p in (self.headers.get("Sec-WebSocket-Protocol") or "").split(",")]:
            refused = Reply(400, {"message": f"Sec-WebSocket-Protocol must offer {PROTOCOL}"})
        elif not self.headers.get("Sec-WebSocket-Key"):
            refused = Reply(400, {"message": "Sec-WebSocket-Key is missing"})
        else:
            refused = emulator.gate_socket(self.headers.get)
        if refused is not None:
            self._send(refused)
            self._log("GET", GRAPHQL_PATH, refused, started)
            return
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept_key(self.headers["Sec-WebSocket-Key"]))
        self.send_header("Sec-WebSocket-Protocol", PROTOCOL)
        self.end_headers()
        self.wfile.flush()
        self._log("GET", GRAPHQL_PATH, Reply(101), started)
        Session(emulator, WebSocket(self.connection, self.rfile), self.headers.get, fault).serve()

    # -- bodies ------------------------------------------------------------------------------------------

    def _read_body(self, limit: int, discard_excess: bool = False) -> bytes:
        """The request body, up to ``limit`` bytes; beyond that, BodyTooLarge or (``discard_excess``) limit+1 bytes."""
        chunks, size = [], 0
        for chunk in self._body_chunks():
            if size <= limit:
                chunks.append(chunk[:limit + 1 - size])
            size += len(chunk)
            if size > limit and not discard_excess:
                raise BodyTooLarge()
        return b"".join(chunks)

    def _discard_body(self) -> None:
        for _chunk in self._body_chunks():
            pass

    def _body_chunks(self):
        """Raw body chunks, from Content-Length or chunked transfer encoding (requests sends either)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line that ends the body.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, DRAIN_CHUNK))
            if not chunk:
                raise ConnectionError("client closed the connection mid-body")
            remaining -= len(chunk)
            yield chunk

    # -- responses and logging -----------------------------------------------------------------------------

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            # Close without a byte of response, as a dropped proxy connection would.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        body, content_type = _encode(reply)
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _log(self, method: str, path: str, reply: Reply, started: float) -> None:
        # One line per request; never the query string, headers or bodies (tokens and variable values live there).
        status = "dropped" if reply.drop else str(reply.status)
        label = f" op={self._label}" if self._label else ""
        sys.stderr.write(f"{self.log_date_time_string()} {method} {path} {status} {(time.monotonic() - started) * 1000:.1f}ms{label}\n")

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        # http.server's own lines would duplicate _log (and include the raw request line).
        return


def _encode(reply: Reply) -> tuple[bytes, str]:
    if isinstance(reply.body, bytes):
        return reply.body, reply.content_type or "application/octet-stream"
    if isinstance(reply.body, str):
        return reply.body.encode("utf-8"), reply.content_type or "text/plain; charset=utf-8"
    return json.dumps(reply.body).encode("utf-8"), reply.content_type or "application/json"
