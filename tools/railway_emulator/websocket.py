# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server side of RFC 6455 WebSockets, as much as graphql-transport-ws needs (stdlib only).

Text frames from the client (masked, possibly fragmented), close, ping and pong; the server sends unmasked text
frames. Nothing here knows GraphQL: subscriptions.py speaks the protocol on top.
"""
from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
from typing import BinaryIO

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
# graphql-transport-ws messages are small; a bigger frame is a client bug.
MAX_MESSAGE = 1024 * 1024


class ConnectionClosed(Exception):
    """The peer closed the socket (``code`` from its close frame, None when it just went away)."""

    def __init__(self, code: int | None = None) -> None:
        super().__init__(f"WebSocket closed ({code})")
        self.code = code


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key.strip() + GUID).encode("ascii")).digest()).decode("ascii")


class WebSocket:
    """One upgraded connection; ``send_text`` may be called from any thread."""

    def __init__(self, connection: socket.socket, reader: BinaryIO) -> None:
        self.connection = connection
        self.reader = reader
        self._send_lock = threading.Lock()
        self.closed = False

    def _read_exact(self, size: int) -> bytes:
        data = self.reader.read(size)
        if data is None or len(data) < size:
            raise ConnectionClosed()
        return data

    def _frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read_exact(2)
        fin, opcode, masked, length = bool(first & 0x80), first & 0x0F, bool(second & 0x80), second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        if length > MAX_MESSAGE:
            raise ConnectionClosed(1009)
        mask = self._read_exact(4) if masked else b"\0\0\0\0"
        payload = bytearray(self._read_exact(length))
        for index in range(length):
            payload[index] ^= mask[index % 4]
        return fin, opcode, bytes(payload)

    def receive_text(self) -> str:
        """The next text message; answers pings; raises ConnectionClosed on a close frame or a lost socket."""
        parts: list[bytes] = []
        try:
            while True:
                fin, opcode, payload = self._frame()
                if opcode == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    self.close(code or 1000)
                    raise ConnectionClosed(code)
                if opcode == OP_PING:
                    self._send(OP_PONG, payload)
                    continue
                if opcode == OP_PONG:
                    continue
                if opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                    parts.append(payload)
                    if fin:
                        return b"".join(parts).decode("utf-8", errors="replace")
        except (OSError, ValueError) as exc:
            raise ConnectionClosed() from exc

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode("utf-8"))

    def _send(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        size = len(payload)
        if size < 126:
            header += bytes([size])
        elif size < 1 << 16:
            header += bytes([126]) + struct.pack("!H", size)
        else:
            header += bytes([127]) + struct.pack("!Q", size)
        with self._send_lock:
            if self.closed:
                raise ConnectionClosed()
            try:
                self.connection.sendall(header + payload)
            except OSError as exc:
                self.closed = True
                raise ConnectionClosed() from exc

    def close(self, code: int = 1000, reason: str = "") -> None:
        """A close frame, then the socket shut down."""
        if self.closed:
            return
        try:
            self._send(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:120])
        except ConnectionClosed:
            pass
        self.drop()

    def drop(self) -> None:
        """Cut the connection without a close frame, as a proxy that loses it would."""
        self.closed = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
