# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RailwayClient over a real socket: a local http.server thread on 127.0.0.1 that drops, stalls or refuses."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway import client as rc


class Behaviour:
    def __init__(self, steps):
        self.steps = list(steps)
        self.seen = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        behaviour = self.server.behaviour
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        behaviour.seen.append({"operation": body.get("operationName"), "headers": dict(self.headers)})
        step = behaviour.steps.pop(0) if behaviour.steps else "ok"
        if step == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if step == "slow":
            time.sleep(1.5)
        if step == "html":
            payload, kind = b"<html><head><title>Just a moment...</title></head></html>", "text/html"
        else:
            payload, kind = json.dumps({"data": {"deployment": {"id": "d-1", "status": "SUCCESS"}}}).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.behaviour = Behaviour([])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client_for(url, **options):
    sleeps = []
    options.setdefault("retry_timeout", 30)
    client = rc.RailwayClient(api_token="local-token", api_url=url, environ={}, sleep=sleeps.append, **options)
    return client, sleeps


def url_of(httpd):
    return "http://127.0.0.1:%d/graphql/v2" % httpd.server_address[1]


def test_dropped_connections_are_retried(server):
    server.behaviour.steps = ["drop", "drop", "ok"]
    client, sleeps = client_for(url_of(server))
    assert client.deployment("d-1")["status"] == "SUCCESS"
    assert client.request_count == 3 and sleeps == [0.5, 1.0]
    assert [s["headers"].get("Authorization") for s in server.behaviour.seen] == ["Bearer local-token"] * 3


def test_a_stalled_answer_times_out_and_is_retried(server):
    server.behaviour.steps = ["slow", "ok"]
    client, sleeps = client_for(url_of(server), request_timeout=1)
    assert client.deployment("d-1")["id"] == "d-1"
    assert client.request_count == 2 and sleeps == [0.5]


def test_html_from_a_proxy_is_a_one_line_error_with_the_status(server):
    server.behaviour.steps = ["html"]
    client, _sleeps = client_for(url_of(server))
    with pytest.raises(rc.RailwayResponseError) as info:
        client.deployment("d-1")
    assert "HTTP 200 with a non-JSON body (text/html: Just a moment...)" in str(info.value)
    assert "\n" not in str(info.value)


def test_refused_connections_are_retried_even_for_deployments_then_fail_clearly():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client, sleeps = client_for("http://127.0.0.1:%d/graphql/v2" % port, retries=2)
    with pytest.raises(rc.RailwayTransportError) as info:
        client.redeploy("d-1")
    assert str(info.value).startswith("Railway API call DeploymentRedeploy failed after 3 attempts; last error: "
                                      "cannot connect to 127.0.0.1:%d" % port)
    assert sleeps == [0.5, 1.0]
