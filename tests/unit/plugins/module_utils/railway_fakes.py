# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fake transports and clocks for the Railway client's unit tests (no network, no Railway)."""
from __future__ import annotations

import json

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import RailwayClient

API_URL = "https://railway.test/graphql/v2"


class FakeClock:
    """Monotonic and wall clock that only move when the client sleeps."""

    def __init__(self, start=1000.0, wall=1_800_000_000.0):
        self.now = start
        self.wall = wall
        self.sleeps = []

    def monotonic(self):
        return self.now

    def time(self):
        return self.wall

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
        self.wall += seconds


def reply(status=200, body=None, headers=None, text=None):
    """One scripted HTTP answer; ``body`` is JSON-encoded, ``text`` sent verbatim."""
    content = text.encode() if text is not None else json.dumps(body if body is not None else {"data": {}}).encode()
    kind = "text/html; charset=utf-8" if text is not None else "application/json"
    all_headers = {"Content-Type": kind}
    all_headers.update(headers or {})
    return (status, content, all_headers)


def data(**fields):
    return reply(200, {"data": fields})


def graphql_error(message):
    return reply(200, {"data": None, "errors": [{"message": message}]})


class ScriptedAdapter(BaseAdapter):
    """A requests transport that answers from a script; an Exception in the script is raised instead.

    A callable in the script is called with the parsed JSON body and returns a step, so tests can answer by
    operation.
    """

    def __init__(self, script=()):
        super().__init__()
        self.script = list(script)
        self.sent = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        body = request.body
        payload = None
        if body and request.headers.get("Content-Type") == "application/json":
            payload = json.loads(body)
        self.sent.append({"method": request.method, "url": request.url, "headers": dict(request.headers),
                          "json": payload, "body": body, "timeout": timeout})
        if not self.script:
            raise AssertionError("unexpected request %s %s %s" % (request.method, request.url, payload))
        step = self.script.pop(0)
        if callable(step) and not isinstance(step, Exception):
            step = step(payload)
        if isinstance(step, Exception):
            raise step
        status, content, headers = step
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers = CaseInsensitiveDict(headers)
        response.url = request.url
        response.request = request
        response.reason = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                           503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "")
        response.encoding = "utf-8"
        return response

    def close(self):
        pass

    @property
    def operations(self):
        return [entry["json"]["operationName"] for entry in self.sent if entry["json"]]


def make_client(script=(), clock=None, **options):
    """A RailwayClient on a ScriptedAdapter; returns (client, adapter, clock)."""
    adapter = ScriptedAdapter(script)
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    clock = clock or FakeClock()
    options.setdefault("api_token", "account-token-123")
    options.setdefault("api_url", API_URL)
    options.setdefault("environ", {})
    client = RailwayClient(session=session, sleep=clock.sleep, clock=clock.monotonic, wall_clock=clock.time, **options)
    return client, adapter, clock
