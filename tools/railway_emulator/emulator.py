# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator's composition root: state, clock, faults, counters and rate limits behind one lock.

HTTP details (sockets, bodies, routing) live in ``server.py``; this module decides what each request gets.
"""
from __future__ import annotations

import copy
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tools.railway_emulator import graphql_api
from tools.railway_emulator.apps import app_response
from tools.railway_emulator.auth import Credentials, authenticate
from tools.railway_emulator.clock import EmulatedClock, parse_time
from tools.railway_emulator.counters import Counters
from tools.railway_emulator.deployments import DeploymentEngine
from tools.railway_emulator.errors import NOT_AUTHORIZED
from tools.railway_emulator.faults import Fault, FaultBoard
from tools.railway_emulator.ratelimit import RateLimiter
from tools.railway_emulator.provisioning import simulate_push
from tools.railway_emulator.seed import default_store, empty_store, load_seed
from tools.railway_emulator.state import Store
from tools.railway_emulator.upload import ArchiveError, inspect_archive
from tools.railway_emulator.context import Context

HeaderLookup = Callable[[str], "str | None"]

CLOUDFLARE_HTML = (
    "<!DOCTYPE html><html><head><title>Access denied | backboard.railway.com used Cloudflare to restrict access</title></head>"
    "<body><h1>Error 1020</h1><p>Access denied</p><p>Cloudflare Ray ID: 8f0e1a2b3c4d5e6f</p></body></html>"
)


@dataclass(frozen=True)
class EmulatorConfig:
    phase_seconds: float = 2.0
    clock_scale: float = 1.0
    rate_limit: int = 0
    rate_window: float = 3600.0
    max_upload_bytes: int = 50 * 1024 * 1024
    seed_path: str | None = None
    # Start from an account with workspaces and tokens but no project (the from-zero flow); ignored with seed_path.
    empty: bool = False
    # Keep each uploaded archive as <upload_dir>/<deployment id>.tar.gz, so tests can scan what was uploaded.
    upload_dir: str | None = None


@dataclass
class Reply:
    """An HTTP answer: ``body`` dict/list is sent as JSON, str as text; ``drop`` closes without answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    drop: bool = False


@dataclass
class Gate:
    """Outcome of the checks every Railway API request passes before it runs."""

    reply: Reply | None
    headers: dict[str, str] = field(default_factory=dict)


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.clock = EmulatedClock(config.clock_scale)
        self.faults = FaultBoard()
        self.counters = Counters()
        self.limiter = RateLimiter(config.rate_limit, config.rate_window)
        # Read once: a reset must restore the seed even if the file changed meanwhile.
        self._seed = load_seed(config.seed_path) if config.seed_path else None
        self.store: Store
        self.engine: DeploymentEngine
        self.reset()

    def reset(self) -> None:
        """Back to the seed: state, clock, faults, counters and rate-limit windows."""
        with self.lock:
            self.faults.clear()
            self.counters.reset()
            self.limiter.reset()
            if self._seed is not None:
                seed = copy.deepcopy(self._seed)
                # A state dump carries its "now": resuming there keeps in-flight deployments where they were.
                now = seed.pop("now", None)
                self.clock.reset(parse_time(now) if now is not None else None)
                self.store = Store.from_json(seed)
            else:
                self.clock.reset()
                self.store = (empty_store if self.config.empty else default_store)(self.clock.now(), self.config.phase_seconds)
            self.engine = DeploymentEngine(self.store, self.faults, self.config.phase_seconds)

    @contextmanager
    def settled(self) -> Iterator[float]:
        """Hold the lock with every deployment brought up to the emulated "now" (yielded)."""
        with self.lock:
            now = self.clock.now()
            self.engine.settle(now)
            yield now

    def tokens(self) -> dict[str, str | None]:
        with self.lock:
            data = self.store.data
            workspace = next((t.token for t in data.account_tokens if t.workspace_id is not None), None)
            return {
                "account_token": next((t.token for t in data.account_tokens if t.user_id is not None), None),
                "workspace_token": workspace,
                "project_token": data.project_tokens[0].token if data.project_tokens else None,
            }

    # -- the Railway API -------------------------------------------------------------------------------

    def gate(self, operations: set[str], header: HeaderLookup) -> Gate:
        """Armed request faults first (they play the infrastructure in front of Railway), then rate limits."""
        fault = self.faults.take_request_fault(operations)
        if fault is not None:
            if fault.kind != "slow":
                return Gate(fault_reply(fault))
            # Real seconds, outside the lock: clients' timeouts are real too.
            time.sleep(float(fault.params.get("seconds", 1.0)))
        with self.lock:
            credentials = authenticate(header, self.store)
        key = credentials.principal.rate_key if credentials.principal else "anonymous"
        decision = self.limiter.hit(key, self.clock.now())
        if decision is None:
            return Gate(None)
        if not decision.allowed:
            return Gate(Reply(429, {"message": "Rate limit exceeded, retry later"}, decision.headers()))
        return Gate(None, decision.headers())

    def gate_socket(self, header: HeaderLookup) -> Reply | None:
        """Rate limits for a WebSocket upgrade (request faults play no part; socket faults are taken before)."""
        with self.lock:
            credentials = authenticate(header, self.store)
        key = credentials.principal.rate_key if credentials.principal else "anonymous"
        decision = self.limiter.hit(key, self.clock.now())
        if decision is not None and not decision.allowed:
            return Reply(429, {"message": "Rate limit exceeded, retry later"}, decision.headers())
        return None

    def graphql(self, request: graphql_api.GraphQLRequest, header: HeaderLookup) -> Reply:
        if request.error is not None:
            return Reply(request.http_status, graphql_api.error_body(request.error))
        with self.settled() as now:
            ctx = Context(self.store, self.engine, authenticate(header, self.store), now)
            body, executed = graphql_api.execute(request, ctx)
        if executed:
            self.counters.executed(request.operation.operation.value, request.root_fields)
        return Reply(200, body)

    def upload(self, project_id: str, environment_id: str, params: dict[str, str], header: HeaderLookup, body: bytes | None) -> Reply:
        """``railway up``: ``body`` None means it exceeded --max-upload-bytes (and was discarded)."""
        with self.settled() as now:
            credentials = authenticate(header, self.store)
            denied = self._upload_denied(credentials, project_id, environment_id)
            if denied is not None:
                return denied
            service_id = params.get("serviceId") or ""
            if not service_id:
                return Reply(400, {"message": "serviceId is required: the emulator does not create services on upload"})
            instance = self.store.instance(environment_id, service_id)
            if instance is None:
                return Reply(404, {"message": f"Service {service_id} not found in environment {environment_id}"})
            if body is None:
                return Reply(413, "File too large", content_type="text/plain; charset=utf-8")
            try:
                archive = inspect_archive(body)
            except ArchiveError as exc:
                return Reply(400, {"message": str(exc)})
            meta: dict[str, Any] = {"reason": "deploy"}
            if params.get("message"):
                meta["message"] = params["message"]
            deployment = self.engine.create(instance, at=now, meta=meta, upload=archive, creator_id=credentials.principal.user_id)
            domains = self.store.domains_of(environment_id, service_id)
        if self.config.upload_dir:
            (Path(self.config.upload_dir) / f"{deployment.id}.tar.gz").write_bytes(body)
        domain = domains[0].domain if domains else ""
        return Reply(200, {
            "deploymentId": deployment.id,
            "url": f"https://{domain}" if domain else "",
            "logsUrl": f"https://railway.com/project/{project_id}/service/{service_id}?environmentId={environment_id}&id={deployment.id}",
            "deploymentDomain": domain,
        })

    def _upload_denied(self, credentials: Credentials, project_id: str, environment_id: str) -> Reply | None:
        principal = credentials.principal
        environment = self.store.environment(environment_id)
        if principal is None or not principal.can_see_project(project_id) or not principal.can_see_environment(environment_id):
            return Reply(401, {"message": NOT_AUTHORIZED})
        if environment is None or environment.project_id != project_id:
            return Reply(404, {"message": f"Environment {environment_id} not found in project {project_id}"})
        return None

    def push(self, repo: str, branch: str, commit_sha: str | None, now: float) -> list[str]:
        """Deploy every service instance connected to ``repo``'s ``branch`` (the caller holds the lock)."""
        ctx = Context(self.store, self.engine, Credentials(None), now)

        def deploy(instance, meta):
            return self.engine.create(instance, at=now, meta=meta, creator_id=self.store.data.user.id)
        return simulate_push(ctx, deploy, repo, branch, commit_sha)

    # -- the deployed apps -------------------------------------------------------------------------------

    def app(self, domain: str, path: str, authorization: str | None) -> Reply:
        with self.settled():
            status, body = app_response(self.store, domain, path, authorization)
        return Reply(status, body)


def fault_reply(fault: Fault) -> Reply:
    """What an armed request fault answers instead of the API."""
    kind, params = fault.kind, fault.params
    if kind == "drop":
        return Reply(drop=True)
    if kind == "http_500":
        return Reply(500, graphql_api.error_body("Internal Server Error"))
    if kind == "http_502":
        return Reply(502, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    if kind == "http_503":
        return Reply(503, "Service Unavailable", content_type="text/plain; charset=utf-8")
    if kind == "http_429":
        retry_after = params.get("retry_after", 1)
        headers = {"Retry-After": str(retry_after), "X-RateLimit-Remaining": "0"}
        return Reply(429, {"message": "Rate limit exceeded, retry later"}, headers)
    if kind == "html":
        return Reply(params.get("status", 200), CLOUDFLARE_HTML, content_type="text/html; charset=UTF-8")
    if kind == "graphql_error":
        return Reply(200, graphql_api.error_body(params.get("message", "Internal server error")))
    raise ValueError(f"{kind} is not a request fault")
