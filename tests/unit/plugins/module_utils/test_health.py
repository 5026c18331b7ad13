# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""health: waiting for a health URL with the waiter, and the detailed view compared with the profile's fields."""
from __future__ import annotations

import http.server
import json
import socket
import threading

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import health
from railway_fakes import FakeClock

DETAILS = {"path": "/status/full", "token": "STATUS_KEY", "expect": {"db": "ok"}, "deployment_field": "servedBy"}


@pytest.fixture
def answers(monkeypatch):
    """Script what health.get answers (and record its calls)."""
    script = {"answers": [], "calls": []}

    def get(url, token=None, **kwargs):
        script["calls"].append((url, token))
        return script["answers"].pop(0) if len(script["answers"]) > 1 else script["answers"][0]
    monkeypatch.setattr(health, "get", get)
    return script


def test_a_health_path_that_never_answers_200_fails_after_its_attempts(answers):
    answers["answers"] = [{"status": 404, "json": {}}, {"status": 503, "json": {}}]
    clock = FakeClock(start=0.0)
    found = health.wait_until_answers("https://x/health", timeout=3, interval=3, sleep=clock.sleep, clock=clock.monotonic)
    assert found["failed"] and found["status"] == 503 and found["attempts"] == 2
    assert health.answer_text(found) == "HTTP 503"


def test_any_http_answer_counts_without_a_health_path(answers):
    answers["answers"] = [{"status": -1, "json": {}, "error": "connection refused"}, {"status": 404, "json": {}}]
    clock = FakeClock(start=0.0)
    found = health.wait_until_answers("http://127.0.0.1:3000", 30, 2, any_answer=True, sleep=clock.sleep,
                                      clock=clock.monotonic)
    assert "failed" not in found and found["status"] == 404 and found["attempts"] == 2
    assert health.answer_text({"status": -1, "error": "connection refused"}) == "no answer (connection refused)"


def test_the_details_view_is_read_with_the_token_and_compared_with_the_profile(answers):
    answers["answers"] = [{"status": 200, "json": {"db": "ok", "version": "1.2", "migrations": ["a", "b"], "servedBy": "d1"}}]
    found = health.read_details("https://x/status/full", DETAILS, "secret-token", deployment_id="d1")
    assert answers["calls"] == [("https://x/status/full", "secret-token")]
    assert found == {"fields": {"db": "ok"}, "version": "1.2", "migrations": 2, "deployment": "d1"}
    assert health.summary(found) == "db ok, version 1.2"


@pytest.mark.parametrize("answer, deployment_id, problem", [
    ({"status": 401, "json": {}}, None, "answers HTTP 401, not 200 (the bearer token is not the value of STATUS_KEY"),
    ({"status": 200, "json": {"db": "down"}}, None, "answers but shows db=down; expected db=ok."),
    ({"status": 200, "json": {"db": "ok", "servedBy": "d0"}}, "d1", "is served by deployment d0 (its servedBy), not by d1"),
    ({"status": -1, "json": {}, "error": "timed out"}, None, "cannot be read: timed out"),
])
def test_an_unhealthy_details_view_is_one_line_without_the_token(answers, answer, deployment_id, problem):
    answers["answers"] = [answer]
    found = health.read_details("https://x/status/full", DETAILS, "secret-token", deployment_id=deployment_id)
    assert problem in found["problem"] and "secret-token" not in found["problem"]


def test_the_deployment_is_not_compared_without_a_field_or_an_id(answers):
    answers["answers"] = [{"status": 200, "json": {"db": "ok", "servedBy": "d0"}}]
    assert "problem" not in health.read_details("https://x", dict(DETAILS, deployment_field=None), "t", "d1")
    assert "problem" not in health.read_details("https://x", DETAILS, "t", None)


# --- real GETs against a local server ----------------------------------------------------------------------------

class App(http.server.BaseHTTPRequestHandler):
    """/health answers 200, /details answers the view to the right bearer token only."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path == "/details" and self.headers.get("Authorization") != "Bearer right":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"db": "ok", "version": "3", "servedBy": "d1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def app_url():
    server = http.server.HTTPServer(("127.0.0.1", 0), App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_real_app_answers_and_its_details_need_the_token(app_url):
    found = health.wait_until_answers(app_url + "/health", timeout=2, interval=0.1, use_proxy=False)
    assert found["status"] == 200 and found["attempts"] == 1 and "failed" not in found
    assert health.read_details(app_url + "/details", DETAILS, "right", "d1", use_proxy=False) == {
        "fields": {"db": "ok"}, "version": "3", "migrations": 0, "deployment": "d1"}
    assert "answers HTTP 401, not 200" in health.read_details(app_url + "/details", DETAILS, "wrong", use_proxy=False)["problem"]


def test_nothing_listening_is_no_answer_with_its_reason():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answer = health.get("http://127.0.0.1:%d/health" % port, timeout=2, use_proxy=False)
    assert answer["status"] == -1 and "refused" in answer["error"].lower()
