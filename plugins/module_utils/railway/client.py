# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Railway GraphQL API client: transport, retries, errors and name resolution.

Plain Python on top of ``requests`` and free of AnsibleModule, so it can be unit-tested with a fake transport
and reused by other plugin types. Failures raise RailwayError subclasses whose text is a one-line message meant
for people; the AnsibleModule glue (railway/module.py) turns them into fail_json.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import ssl
import time
import traceback
from urllib.parse import urlencode, urlsplit, urlunsplit

try:
    import requests
    import requests.exceptions
    from urllib3.exceptions import NewConnectionError
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

try:
    # websocket-client: deployment subscriptions. Without it the waits poll, as they do when a socket fails.
    import websocket
except ImportError:  # pragma: no cover - polling takes over
    HAS_WEBSOCKET = False
else:
    HAS_WEBSOCKET = True

from ansible_collections.backendops.stack.plugins.module_utils.railway import documents
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import (
    SETTINGS,
    environment_settings,
    limits_settings,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.statuses import SUCCESS_STATUSES

DEFAULT_API_URL = "https://backboard.railway.com/graphql/v2"
API_URL_ENV = "RAILWAY_API_URL"
API_TOKEN_ENV = "RAILWAY_API_TOKEN"
PROJECT_TOKEN_ENV = "RAILWAY_TOKEN"

USER_AGENT = "backendops.stack-railway (Ansible collection)"

# Proxies and Railway's edge answer these while the backend is briefly unavailable.
RETRY_STATUSES = frozenset((502, 503, 504))
# A read may also be repeated after an HTTP 500; a write may have been applied before it failed.
READ_RETRY_STATUSES = RETRY_STATUSES | frozenset((500,))
# A 503 means the request was not processed, so even non-repeatable operations may be sent again.
NOT_PROCESSED_STATUSES = frozenset((429, 503))
# GraphQL errors Railway answers when its backend failed transiently; reads are repeated after them.
TRANSIENT_GRAPHQL_ERRORS = ("problem processing request",)
# A read that is part of a wait is retried within the wait's deadline, but gets at least these seconds.
MIN_RETRY_WINDOW = 5.0

# Railway's UUIDs: a project given like this is read directly with project(id:).
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SUBSCRIPTION_PROTOCOL = "graphql-transport-ws"
# Railway's CLI gives the WebSocket handshake 10 s; a quiet socket is pinged this often to notice a dead one.
SUBSCRIPTION_CONNECT_TIMEOUT = 10.0
SUBSCRIPTION_KEEPALIVE = 20.0

ACCOUNT_TOKEN = "api_token"
PROJECT_TOKEN = "project_token"


class RailwayError(Exception):
    """Base class; ``str(error)`` is the one-line message for the user, ``details`` extra result keys."""

    # The error alone, without the operation or a hint, where one is known: several failed reads can share one line.
    cause = None

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self):
        return self.message


class RailwayConfigError(RailwayError):
    """Bad or missing connection settings (detected before any request)."""


class RailwayTransportError(RailwayError):
    """The network failed and retries did not help (or were not safe)."""


class RailwayHTTPError(RailwayError):
    """An unexpected HTTP status."""

    def __init__(self, message, status, **details):
        super().__init__(message, status_code=status, **details)
        self.status = status


class RailwayRateLimitError(RailwayHTTPError):
    """HTTP 429 that outlasted the retries or the deadline."""


class RailwayResponseError(RailwayHTTPError):
    """The body is not the JSON Railway sends (an HTML page from a proxy, empty data ...)."""


class RailwayGraphQLError(RailwayError):
    """Railway answered with GraphQL ``errors``."""

    def __init__(self, message, operation, railway_messages, **details):
        super().__init__(message, railway_errors=list(railway_messages), **details)
        self.operation = operation
        self.railway_messages = list(railway_messages)


class RailwayAuthError(RailwayGraphQLError):
    """Railway rejected the token ("Not Authorized", "Project Token not found")."""


class RailwayNotFoundError(RailwayError):
    """A project, environment or service name that does not exist."""


class RailwaySubscriptionError(RailwayError):
    """A subscription socket could not be opened, was refused or dropped; the caller polls instead."""


class ReadBudget:
    """A hard limit for optional reads (a failure's events and logs): at most ``attempts`` attempts each, none after
    ``deadline`` (on the client's clock). Their answer explains an outcome already known, so it must not hold the run."""

    def __init__(self, attempts: int, deadline: float) -> None:
        self.attempts = attempts
        self.deadline = deadline


def _strip(value):
    if value is None:
        return None
    value = value.strip()
    return value or None


def select_credentials(api_token=None, project_token=None, environ=None):
    """Return ``(kind, token)`` from explicit values, else from the environment; exactly one must be set.

    Explicit options win over environment variables, so a task that passes ``api_token`` works in a shell that
    also exports RAILWAY_TOKEN.
    """
    api_token, project_token = _strip(api_token), _strip(project_token)
    if api_token and project_token:
        raise RailwayConfigError(
            "api_token and project_token are mutually exclusive: pass an account/workspace token as api_token "
            "or a project token as project_token, not both")
    if api_token:
        return ACCOUNT_TOKEN, api_token
    if project_token:
        return PROJECT_TOKEN, project_token
    environ = os.environ if environ is None else environ
    env_api, env_project = _strip(environ.get(API_TOKEN_ENV)), _strip(environ.get(PROJECT_TOKEN_ENV))
    if env_api and env_project:
        raise RailwayConfigError(
            "Both %s and %s are set; unset one of them or pass api_token or project_token explicitly"
            % (API_TOKEN_ENV, PROJECT_TOKEN_ENV))
    if env_api:
        return ACCOUNT_TOKEN, env_api
    if env_project:
        return PROJECT_TOKEN, env_project
    raise RailwayConfigError(
        "No Railway token: set api_token (or %s) to an account or workspace token, or project_token (or %s) "
        "to a project token" % (API_TOKEN_ENV, PROJECT_TOKEN_ENV))


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _body_excerpt(text, limit=160):
    """A short, single-line excerpt of a response body; the <title> of an HTML page when there is one."""
    text = text or ""
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    if title:
        text = title.group(1)
    else:
        text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


class RailwayClient:
    """Talks to Railway's public GraphQL API (or a compatible emulator).

    ``request_count`` counts every HTTP request sent, retries included.
    """

    def __init__(self, api_token=None, project_token=None, api_url=None, request_timeout=30.0, retries=5,
                 retry_timeout=120.0, validate_certs=True, session=None, sleep=time.sleep, clock=time.monotonic,
                 wall_clock=time.time, environ=None, backoff_base=0.5, backoff_max=8.0):
        if not HAS_REQUESTS:
            raise RailwayConfigError("The Railway client needs the Python library requests")
        environ = os.environ if environ is None else environ
        self.token_kind, token = select_credentials(api_token, project_token, environ)
        self.api_url = _strip(api_url) or _strip(environ.get(API_URL_ENV)) or DEFAULT_API_URL
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RailwayConfigError("api_url must be an http(s) URL such as %s, not %r" % (DEFAULT_API_URL, self.api_url))
        self.request_timeout = float(request_timeout)
        self.retries = int(retries)
        self.retry_timeout = float(retry_timeout)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.request_count = 0
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._token = token
        self._session = session or requests.Session()
        self._session.verify = validate_certs
        self._session.headers["User-Agent"] = USER_AGENT
        if self.token_kind == PROJECT_TOKEN:
            self._session.headers["Project-Access-Token"] = token
        else:
            self._session.headers["Authorization"] = "Bearer " + token

    @property
    def secret_values(self):
        """Values that must never appear in output (the token, even when it came from the environment)."""
        return (self._token,)

    # --- transport -----------------------------------------------------------------------------------------------

    def _backoff(self, attempt):
        return min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))

    def budget(self, attempts: int, seconds: float) -> ReadBudget:
        """A ReadBudget of ``attempts`` attempts per read, for reads sent within ``seconds`` from now."""
        return ReadBudget(attempts, self._clock() + seconds)

    def _send(self, method, url, what, retry_safe, read=False, deadline=None, transient=None, budget=None, **kwargs):
        """Send one logical request, retrying transient failures within ``retry_timeout``; return the response.

        ``read``: the request changes nothing, so an HTTP 500 and what ``transient(response)`` calls transient (a
        reason, or None) are retried too. ``deadline`` (on the client's clock) ends the retries earlier, e.g. a wait's.
        ``budget`` (a ReadBudget) caps the attempts and sets a hard deadline, for reads that may go unanswered.
        """
        now = self._clock()
        limit = "within the %d s retry_timeout" % self.retry_timeout
        attempts = self.retries + 1
        if budget is not None:
            deadline, limit = min(budget.deadline, now + self.retry_timeout), "within the time left for it"
            attempts = min(attempts, budget.attempts)
            if deadline <= now:
                error = RailwayTransportError("%s was not sent: no time was left for it" % what)
                error.cause = "not sent, no time left"
                raise error
        elif deadline is not None and max(deadline, now + MIN_RETRY_WINDOW) < now + self.retry_timeout:
            deadline, limit = max(deadline, now + MIN_RETRY_WINDOW), "before the wait's deadline"
        else:
            deadline = now + self.retry_timeout
        retry_statuses = READ_RETRY_STATUSES if read else RETRY_STATUSES
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            read_timeout = max(1.0, min(self.request_timeout, remaining))
            self.request_count += 1
            rate_limited = False
            try:
                response = self._session.request(method, url, timeout=(min(10.0, read_timeout), read_timeout), **kwargs)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                not_sent = _connection_not_established(exc)
                reason = _describe_network_error(exc, url)
                if not (retry_safe or not_sent):
                    raise RailwayTransportError(
                        "%s: %s after the request was sent; not retried because repeating it could apply it twice. "
                        "Check the current state in Railway before running again" % (what, reason))
                delay = self._backoff(attempt)
            else:
                status = response.status_code
                reason = transient(response) if read and transient and status == 200 else None
                if status == 429:
                    rate_limited = True
                    reason = "HTTP 429 (rate limited by Railway)"
                    delay = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
                    if delay is None:
                        delay = self._backoff(attempt)
                elif status in retry_statuses and (retry_safe or status in NOT_PROCESSED_STATUSES):
                    reason = "HTTP %d (%s)" % (status, _body_excerpt(response.text) or response.reason)
                    delay = self._backoff(attempt)
                elif reason:
                    delay = self._backoff(attempt)
                else:
                    return response
            # A budgeted read's hint would be wrong: more retries are not wanted there.
            hint = budget is None
            if attempt >= attempts:
                raise self._give_up(what, reason, rate_limited, "after %d attempts" % attempt, hint)
            if self._clock() + delay > deadline:
                if rate_limited and hint:
                    raise RailwayRateLimitError(
                        "%s: Railway's rate limit asks to wait %d s (Retry-After), beyond the %d s retry_timeout; "
                        "try again later or raise retry_timeout" % (what, round(delay), self.retry_timeout), 429)
                raise self._give_up(what, reason, rate_limited, limit, hint)
            self._sleep(delay)

    @staticmethod
    def _give_up(what, reason, rate_limited, how, hint=True):
        message = "%s failed %s; last error: %s" % (what, how, reason)
        if rate_limited:
            error = RailwayRateLimitError(message + ("; try again later or raise retries/retry_timeout" if hint else ""),
                                          429)
        else:
            error = RailwayTransportError(message + ("; check api_url and the network, or raise retries/retry_timeout"
                                                     if hint else ""))
        error.cause = reason
        return error

    def execute(self, document, variables=None, deadline=None, budget=None):
        """Run a registered GraphQL document and return its ``data``; queries are retried on transient faults
        (within ``budget``, a ReadBudget, when given)."""
        if not isinstance(document, documents.GraphQLDocument) or documents.DOCUMENTS.get(document.name) is not document:
            raise ValueError("Only documents registered in railway_documents may be sent, got %r" % (document,))
        if document.is_subscription:
            raise ValueError("%s is a subscription; use subscribe()" % document.name)
        payload = {"query": document.text, "operationName": document.name, "variables": variables or {}}
        what = "Railway API call %s" % document.name
        response = self._send("POST", self.api_url, what, document.retry_safe, read=not document.is_mutation,
                              deadline=deadline, transient=_transient_graphql_error, budget=budget, json=payload,
                              headers={"Content-Type": "application/json"})
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("errors"):
            raise _graphql_error(document.name, body["errors"], self.token_kind, status)
        if body is None:
            raise _non_json_error(response, what)
        if status in (401, 403):
            raise RailwayAuthError("Railway rejected the request %s with HTTP %d; %s" % (
                document.name, status, _token_hint(self.token_kind)), document.name, ["HTTP %d" % status], status_code=status)
        if status != 200:
            raise RailwayHTTPError("%s: Railway answered HTTP %d (%s)" % (
                what, status, _body_excerpt(response.text) or response.reason), status)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise RailwayResponseError("%s: Railway answered HTTP %d without data or errors" % (what, status), status)
        return data

    # --- name resolution -----------------------------------------------------------------------------------------

    def resolve(self, project=None, environment=None, service=None, project_id=None, environment_id=None,
                service_id=None, list_services=False):
        """Find project, environment and (optionally) service by name or ID; return a RailwayTarget.

        ``*_id`` are IDs an earlier lookup found: with all of them (and no need for the project's lists) no request is
        sent, and the names only label messages. A project given by ID is read directly with ``project(id:)``.
        """
        project, environment, service = _strip(project), _strip(environment), _strip(service)
        project_id, environment_id, service_id = _strip(project_id), _strip(environment_id), _strip(service_id)
        if project_id and environment_id and (service_id or not service) and not list_services:
            return RailwayTarget({"id": project_id, "name": project or project_id},
                                 {"id": environment_id, "name": environment or environment_id},
                                 {"id": service_id, "name": service or service_id} if service_id else None, [], [])
        token_env = None
        if self.token_kind == PROJECT_TOKEN and not project_id:
            token = self.execute(documents.PROJECT_TOKEN_QUERY)["projectToken"]
            info = token["project"]
            if project and project not in (info["id"], info["name"]):
                raise RailwayNotFoundError(
                    "project %r does not match the project token, which belongs to project %r (%s); omit project "
                    "or use an account token" % (project, info["name"], info["id"]))
            token_env = token["environment"]
            wanted_env = environment_id or environment
            if wanted_env and wanted_env not in (token_env["id"], token_env["name"]):
                raise RailwayNotFoundError(
                    "environment %r does not match the project token, which is scoped to environment %r (%s); omit "
                    "environment or use a token of that environment" % (wanted_env, token_env["name"], token_env["id"]))
            environment_id = token_env["id"]
            token_env = {"id": token_env["id"], "name": token_env["name"]}
        elif project_id:
            info = self.execute(documents.PROJECT_QUERY, {"id": project_id})["project"]
        else:
            if not project:
                raise RailwayConfigError("project is required with an account or workspace token (api_token)")
            info = self._find_project(project)
        environments = _nodes(info.get("environments"))
        services = _nodes(info.get("services"))
        if token_env and not any(e["id"] == token_env["id"] for e in environments):
            environments.append(token_env)
        where = "project %r" % info["name"]
        env = _match("environment", environment_id or environment, environments, where, case_insensitive=False)
        if service_id:
            svc = _match("service", service_id, services, where)
        else:
            svc = _match("service", service, services, where) if service else None
        return RailwayTarget({"id": info["id"], "name": info["name"]}, env, svc, environments, services)

    def _find_project(self, wanted):
        """The project named (or with the ID) ``wanted``, with its environments and services."""
        if UUID.match(wanted):
            try:
                return self.execute(documents.PROJECT_QUERY, {"id": wanted})["project"]
            except (RailwayGraphQLError, RailwayHTTPError):
                pass  # perhaps a name that looks like an ID; the listing says what exists
        workspaces, _failure = self.account_workspaces()
        if workspaces is not None:
            projects = [p for workspace in workspaces for p in _nodes(workspace.get("projects"))]
        else:
            projects = _nodes(self.execute(documents.PROJECTS_QUERY)["projects"])
        return _match("project", wanted, projects, "the projects this token can access")

    def account_workspaces(self):
        """(workspaces of the token's user with their projects, None) or, when ``me`` fails, (None, its error).

        The one rule of every lookup: workspace tokens have no user, and on any failure of ``me`` the caller lists what
        the token can see instead.
        """
        try:
            return self.execute(documents.USER_PROJECTS_QUERY)["me"]["workspaces"], None
        except RailwayConfigError:
            raise
        except RailwayError as exc:
            return None, exc

    # --- operations ----------------------------------------------------------------------------------------------

    def service_instance(self, environment_id, service_id):
        return self.execute(documents.SERVICE_INSTANCE_QUERY,
                            {"environmentId": environment_id, "serviceId": service_id})["serviceInstance"]

    def service_state(self, project_id, environment_id, service_id, unrendered=True):
        """``(service instance, variables)`` of one service in one request; the instance's ``trigger`` is the
        repository branch it deploys on every push (None when it is connected to none)."""
        data = self.execute(documents.SERVICE_STATE_QUERY, {
            "projectId": project_id, "environmentId": environment_id, "serviceId": service_id, "unrendered": unrendered})
        instance = dict(data["serviceInstance"])
        instance["trigger"] = next(iter(_nodes(data.get("deploymentTriggers"))), None)
        return instance, dict(data.get("variables") or {})

    def connect_repo(self, project_id, environment_id, service_id, repo, branch, trigger_id=None):
        """Make the instance deploy ``repo``'s ``branch`` (on every push too); deploys nothing by itself."""
        if trigger_id:
            return self.execute(documents.DEPLOYMENT_TRIGGER_UPDATE_MUTATION, {
                "id": trigger_id, "input": {"repository": repo, "branch": branch}})
        return self.execute(documents.SERVICE_REPO_CONNECT_MUTATION, {
            "environmentId": environment_id, "serviceId": service_id, "source": {"source": {"repo": repo}},
            "trigger": {"projectId": project_id, "environmentId": environment_id, "serviceId": service_id, "provider": "github",
                        "repository": repo, "branch": branch}})

    def variables(self, project_id, environment_id, service_id=None, unrendered=True):
        data = self.execute(documents.VARIABLES_QUERY, {
            "projectId": project_id, "environmentId": environment_id, "serviceId": service_id, "unrendered": unrendered})
        return dict(data.get("variables") or {})

    def upsert_variables(self, project_id, environment_id, service_id, variables, skip_deploys=True):
        return self.execute(documents.VARIABLE_COLLECTION_UPSERT_MUTATION,
                            {"input": _collection(project_id, environment_id, service_id, variables, skip_deploys)})

    def configure_service(self, project_id, environment_id, service_id, variables=None, settings=None):
        """Upsert variables (deploys skipped) and update settings; both in one request when both are given."""
        if variables and settings:
            return self.execute(documents.SERVICE_CONFIGURE_MUTATION, {
                "variables": _collection(project_id, environment_id, service_id, variables, True),
                "environmentId": environment_id, "serviceId": service_id, "settings": settings})
        if variables:
            return self.upsert_variables(project_id, environment_id, service_id, variables)
        return self.update_service_instance(environment_id, service_id, settings) if settings else None

    def seal_variables(self, environment_id, service_id, variables, skip_deploys=True):
        """Set ``variables`` sealed (of the service, or shared without one): staged as a patch, then committed."""
        entries = {name: {"value": value, "isSealed": True} for name, value in variables.items()}
        patch = {"services": {service_id: {"variables": entries}}} if service_id else {"sharedVariables": entries}
        self.execute(documents.ENVIRONMENT_STAGE_CHANGES_MUTATION, {"environmentId": environment_id, "input": patch})
        return self.execute(documents.ENVIRONMENT_PATCH_COMMIT_STAGED_MUTATION, {
            "environmentId": environment_id, "skipDeploys": skip_deploys,
            "commitMessage": "backendops.stack: sealed variables %s" % ", ".join(sorted(variables))})

    def delete_variable(self, project_id, environment_id, service_id, name):
        target = {"projectId": project_id, "environmentId": environment_id, "name": name}
        if service_id:
            target["serviceId"] = service_id
        return self.execute(documents.VARIABLE_DELETE_MUTATION, {"input": target})

    def update_service_instance(self, environment_id, service_id, changes):
        return self.execute(documents.SERVICE_INSTANCE_UPDATE_MUTATION,
                            {"environmentId": environment_id, "serviceId": service_id, "input": changes})

    def service_scale(self, environment_id: str, service_id: str) -> dict:
        """The settings read outside ServiceInstance (limits, regions) and ``volume``: whether one is mounted."""
        data = self.execute(documents.SERVICE_SCALE_QUERY, {"environmentId": environment_id, "serviceId": service_id})
        environment = data.get("environment") or {}
        scale = dict(limits_settings(data.get("serviceInstanceLimitOverride")),
                     **environment_settings(environment.get("config"), service_id))
        scale["volume"] = any(node.get("serviceId") == service_id for node in _nodes(environment.get("volumeInstances")))
        return scale

    def update_service_limits(self, environment_id: str, service_id: str, changes: dict) -> bool:
        """serviceInstanceLimitsUpdate with ``changes`` ({vCPUs, memoryGB}; None removes a limit)."""
        return self.execute(documents.SERVICE_INSTANCE_LIMITS_UPDATE_MUTATION, {"input": dict(
            changes, environmentId=environment_id, serviceId=service_id)})["serviceInstanceLimitsUpdate"]

    def deploy_commit(self, environment_id, service_id, commit_sha=None):
        """Deploy a commit of the connected repository; return the new deployment ID."""
        data = self.execute(documents.SERVICE_INSTANCE_DEPLOY_MUTATION,
                            {"environmentId": environment_id, "serviceId": service_id, "commitSha": commit_sha})
        return data["serviceInstanceDeployV2"]

    def redeploy(self, deployment_id):
        return self.execute(documents.DEPLOYMENT_REDEPLOY_MUTATION, {"id": deployment_id})["deploymentRedeploy"]

    def rollback(self, deployment_id):
        return self.execute(documents.DEPLOYMENT_ROLLBACK_MUTATION, {"id": deployment_id})["deploymentRollback"]

    def deployment(self, deployment_id, deadline=None):
        return self.execute(documents.DEPLOYMENT_QUERY, {"id": deployment_id}, deadline=deadline)["deployment"]

    def watch_deployment(self, deployment_id, deadline):
        """Yield the deployment whenever Railway reports a change (first its current state), until ``deadline``.

        Ends normally when the deadline passes; raises RailwaySubscriptionError when the socket cannot be opened, is
        refused or drops, so that the caller polls instead.
        """
        for data in self.subscribe(documents.DEPLOYMENT_SUBSCRIPTION, {"id": deployment_id}, deadline):
            yield data["deployment"]

    def subscription_url(self):
        parts = urlsplit(self.api_url)
        return urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, parts.path, parts.query, ""))

    def subscribe(self, document, variables, deadline):
        """Run a subscription over graphql-transport-ws; yield the ``data`` of each event until ``deadline``."""
        if not document.is_subscription or documents.DOCUMENTS.get(document.name) is not document:
            raise ValueError("Only registered subscription documents may be subscribed to, got %r" % (document,))
        if not HAS_WEBSOCKET:
            raise RailwaySubscriptionError("the Python library websocket-client is not installed")
        what = "subscription %s" % document.name
        headers = ["%s: %s" % (name, value) for name, value in self._session.headers.items()
                   if name in ("Authorization", "Project-Access-Token", "User-Agent")]
        sslopt = None if self._session.verify else {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        self.request_count += 1
        try:
            socket = websocket.create_connection(
                self.subscription_url(), timeout=SUBSCRIPTION_CONNECT_TIMEOUT, header=headers,
                subprotocols=[SUBSCRIPTION_PROTOCOL], sslopt=sslopt, enable_multithread=False)
        except (websocket.WebSocketException, OSError) as exc:
            raise RailwaySubscriptionError("%s: cannot open the socket (%s)" % (what, _describe_socket_error(exc)))
        try:
            socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            if _socket_message(socket, what).get("type") != "connection_ack":
                raise RailwaySubscriptionError("%s: Railway did not acknowledge the connection" % what)
            socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": document.text, "operationName": document.name, "variables": variables}}))
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return
                socket.settimeout(min(remaining, SUBSCRIPTION_KEEPALIVE))
                try:
                    message = _socket_message(socket, what)
                except websocket.WebSocketTimeoutException:
                    if deadline - self._clock() > 0:
                        socket.send(json.dumps({"type": "ping"}))
                    continue
                kind = message.get("type")
                payload = message.get("payload")
                if kind == "next" and isinstance(payload, dict) and isinstance(payload.get("data"), dict) \
                        and not payload.get("errors"):
                    yield payload["data"]
                elif kind in ("next", "error"):
                    errors = payload.get("errors") if isinstance(payload, dict) else payload
                    raise RailwaySubscriptionError("%s: Railway answered %s" % (
                        what, "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors or [])
                        or "an error"))
                elif kind == "complete":
                    raise RailwaySubscriptionError("%s: Railway ended the subscription" % what)
                elif kind == "ping":
                    socket.send(json.dumps({"type": "pong"}))
        except (websocket.WebSocketException, OSError, ValueError) as exc:
            raise RailwaySubscriptionError("%s: the socket dropped (%s)" % (what, _describe_socket_error(exc)))
        finally:
            try:
                if socket.connected:
                    socket.send(json.dumps({"id": "1", "type": "complete"}))
                socket.close(timeout=1)
            except (websocket.WebSocketException, OSError):
                pass

    def deployments(self, project_id, environment_id, service_id, first=5, statuses=None):
        """Newest first."""
        selector = {"projectId": project_id, "environmentId": environment_id, "serviceId": service_id}
        if statuses:
            selector["status"] = {"in": list(statuses)}
        data = self.execute(documents.DEPLOYMENTS_QUERY, {"input": selector, "first": first})
        return _nodes(data["deployments"])

    def active_deployments(self, project_id: str, environment_id: str, service_id: str, statuses) -> list[dict]:
        """The service's deployments in ``statuses``, newest first, with their creator and meta."""
        selector = {"projectId": project_id, "environmentId": environment_id, "serviceId": service_id,
                    "status": {"in": sorted(statuses)}}
        return _nodes(self.execute(documents.ACTIVE_DEPLOYMENTS_QUERY, {"input": selector, "first": 10})["deployments"])

    def volume_instances(self, environment_id: str) -> list[dict]:
        return _nodes(self.execute(documents.VOLUME_INSTANCES_QUERY, {"id": environment_id})["environment"]["volumeInstances"])

    def create_backup(self, volume_instance_id: str, name: str) -> str:
        """Start a backup of the volume instance; return its workflow's ID."""
        return self.execute(documents.VOLUME_BACKUP_CREATE_MUTATION, {"volumeInstanceId": volume_instance_id, "name": name}
                            )["volumeInstanceBackupCreate"]["workflowId"]

    def backups(self, volume_instance_id: str) -> list[dict]:
        return self.execute(documents.VOLUME_BACKUP_LIST_QUERY, {"volumeInstanceId": volume_instance_id})["volumeInstanceBackupList"]

    def restore_backup(self, volume_instance_id: str, backup_id: str) -> str:
        """Start restoring the backup into the volume instance; return its workflow's ID."""
        return self.execute(documents.VOLUME_BACKUP_RESTORE_MUTATION, {
            "volumeInstanceId": volume_instance_id, "volumeInstanceBackupId": backup_id})["volumeInstanceBackupRestore"]["workflowId"]

    def workflow_status(self, workflow_id: str) -> dict:
        """{status: Complete | Error | NotFound | Running, error}."""
        return self.execute(documents.WORKFLOW_STATUS_QUERY, {"workflowId": workflow_id})["workflowStatus"]

    def commit_staged(self, environment_id: str, message: str, skip_deploys: bool = False) -> str:
        return self.execute(documents.ENVIRONMENT_PATCH_COMMIT_STAGED_MUTATION, {
            "environmentId": environment_id, "commitMessage": message, "skipDeploys": skip_deploys})["environmentPatchCommitStaged"]

    def backup_schedules(self, volume_instance_id: str) -> list[str]:
        return [entry["kind"] for entry in self.execute(documents.VOLUME_BACKUP_SCHEDULE_LIST_QUERY, {
            "volumeInstanceId": volume_instance_id})["volumeInstanceBackupScheduleList"]]

    def set_backup_schedules(self, volume_instance_id: str, kinds: list[str]) -> bool:
        return self.execute(documents.VOLUME_BACKUP_SCHEDULE_UPDATE_MUTATION, {
            "volumeInstanceId": volume_instance_id, "kinds": list(kinds)})["volumeInstanceBackupScheduleUpdate"]

    def deployment_events(self, deployment_id, first=100, budget=None):
        return _nodes(self.execute(documents.DEPLOYMENT_EVENTS_QUERY, {"id": deployment_id, "first": first},
                                   budget=budget)["deploymentEvents"])

    def build_logs(self, deployment_id, limit, budget=None):
        logs = self.execute(documents.BUILD_LOGS_QUERY, {"deploymentId": deployment_id, "limit": limit},
                            budget=budget)["buildLogs"]
        # Railway may return limit+1 lines (noted in the official CLI); keep the newest ``limit``.
        return list(logs or [])[-limit:] if limit else []

    def deployment_logs(self, deployment_id, limit, budget=None):
        logs = self.execute(documents.DEPLOYMENT_LOGS_QUERY, {"deploymentId": deployment_id, "limit": limit},
                            budget=budget)["deploymentLogs"]
        return list(logs or [])[-limit:] if limit else []

    def upload_url(self, project_id, environment_id, service_id, message=None):
        """The ``railway up`` endpoint, on the host of api_url."""
        parts = urlsplit(self.api_url)
        query = {"serviceId": service_id}
        if message:
            query["message"] = message
        path = "/project/%s/environment/%s/up" % (project_id, environment_id)
        return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))

    def upload(self, project_id, environment_id, service_id, archive, message=None):
        """Post a gzip tarball like ``railway up``; return Railway's answer (deploymentId, url, ...)."""
        what = "Source upload to Railway"
        response = self._send("POST", self.upload_url(project_id, environment_id, service_id, message), what, False,
                              data=archive, headers={"Content-Type": "application/gzip"})
        status = response.status_code
        if status == 413:
            raise RailwayHTTPError(
                "%s: Railway refused the %d byte archive as too large (HTTP 413); exclude build output and large "
                "files with .railwayignore" % (what, len(archive)), status)
        try:
            body = response.json()
        except ValueError:
            body = None
        if status != 200 or not isinstance(body, dict) or not body.get("deploymentId"):
            railway_message = body.get("message") if isinstance(body, dict) else None
            if status in (401, 403) or (railway_message and "not authorized" in railway_message.lower()):
                raise RailwayAuthError(
                    "%s: Railway rejected the token (%s); %s" % (what, railway_message or "HTTP %d" % status,
                                                                 _token_hint(self.token_kind)),
                    "up", [railway_message or "HTTP %d" % status], status_code=status)
            detail = railway_message or _body_excerpt(response.text) or "no deployment ID in the answer"
            raise RailwayHTTPError("%s: HTTP %d: %s" % (what, status, detail), status)
        return body


class RailwayTarget:
    """Resolved IDs and names; ``environments``/``services`` list what exists in the project."""

    def __init__(self, project, environment, service, environments, services):
        self.project = project
        self.environment = environment
        self.service = service
        self.environments = environments
        self.services = services

    @property
    def project_id(self):
        return self.project["id"]

    @property
    def environment_id(self):
        return self.environment["id"]

    @property
    def service_id(self):
        return self.service["id"] if self.service else None

    def as_dict(self):
        result = {"project": dict(self.project), "environment": dict(self.environment)}
        if self.service:
            result["service"] = dict(self.service)
        return result


def _collection(project_id, environment_id, service_id, variables, skip_deploys):
    collection = {"projectId": project_id, "environmentId": environment_id, "variables": variables, "skipDeploys": skip_deploys}
    if service_id:
        collection["serviceId"] = service_id
    return collection


def _nodes(connection):
    if not connection:
        return []
    return [edge["node"] for edge in connection.get("edges") or [] if edge and edge.get("node")]


def _match(kind, wanted, candidates, where, case_insensitive=True):
    """Pick the candidate whose ID or name is ``wanted``; fail listing what exists."""
    for candidate in candidates:
        if candidate["id"] == wanted:
            return candidate
    named = [c for c in candidates if c["name"] == wanted]
    if not named and case_insensitive and wanted:
        named = [c for c in candidates if c["name"].lower() == wanted.lower()]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise RailwayNotFoundError("%s name %r is ambiguous in %s; use one of the IDs: %s" % (
            kind, wanted, where, ", ".join(c["id"] for c in named)))
    names = ", ".join(sorted((c["name"] for c in candidates), key=str.lower)) or "(none)"
    if not wanted:
        if len(candidates) == 1:
            return candidates[0]
        raise RailwayConfigError("%s is required: %s has %s" % (kind, where, names))
    raise RailwayNotFoundError("%s %r not found in %s; existing: %s" % (kind, wanted, where, names))


def _token_hint(token_kind):
    if token_kind == PROJECT_TOKEN:
        return "check project_token (or %s): it must be a project token of this project and environment" % PROJECT_TOKEN_ENV
    return ("check api_token (or %s): it must be a valid account or workspace token with access to the project"
            % API_TOKEN_ENV)


def _graphql_error(operation, errors, token_kind, status):
    messages = []
    for error in errors:
        message = error.get("message") if isinstance(error, dict) else None
        messages.append(str(message or error))
    joined = "; ".join(messages)
    lowered = joined.lower()
    where = operation if status == 200 else "%s (HTTP %d)" % (operation, status)
    if "not authorized" in lowered or "project token not found" in lowered:
        error = RailwayAuthError("Railway rejected the request %s: %s; %s" % (where, joined, _token_hint(token_kind)),
                                 operation, messages, status_code=status)
    else:
        error = RailwayGraphQLError("Railway API error in %s: %s" % (where, joined), operation, messages, status_code=status)
    error.cause = "Railway answered %s" % joined
    return error


def _transient_graphql_error(response):
    """The message of a GraphQL error Railway answers when its backend failed transiently, else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        message = str(error.get("message") if isinstance(error, dict) else error)
        if any(text in message.lower() for text in TRANSIENT_GRAPHQL_ERRORS):
            return "GraphQL error %r" % message
    return None


def _socket_message(socket, what):
    """The next graphql-transport-ws message (a JSON object)."""
    message = json.loads(socket.recv())
    if not isinstance(message, dict):
        raise RailwaySubscriptionError("%s: Railway sent a message that is not a JSON object" % what)
    return message


def _describe_socket_error(exc):
    status = getattr(exc, "status_code", None)
    if status:
        return "HTTP %s on the upgrade" % status
    text = " ".join(str(exc).split())
    return "%s%s" % (type(exc).__name__, ": " + text[:120] if text else "")


def _non_json_error(response, what):
    content_type = response.headers.get("Content-Type", "unknown content type").split(";")[0]
    excerpt = _body_excerpt(response.text)
    if response.status_code >= 500:
        hint = "Railway or a proxy in front of it has a problem; try again later"
    else:
        hint = "a proxy or firewall (e.g. Cloudflare) may be answering instead of Railway - check api_url and network access"
    return RailwayResponseError("%s: Railway answered HTTP %d with a non-JSON body (%s%s); %s" % (
        what, response.status_code, content_type, ": " + excerpt if excerpt else "", hint), response.status_code)


def _connection_not_established(exc):
    """True when the request certainly never reached the server (so repeating it is always safe)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError)


def _describe_network_error(exc, url):
    host = urlsplit(url).netloc
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timed out connecting to %s" % host
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer from %s within the request_timeout" % host
    if _connection_not_established(exc):
        return "cannot connect to %s" % host
    return "connection to %s lost (%s)" % (host, type(exc).__name__)


def normalize_setting(option, value):
    """One representation per meaning, so that reading back what was written compares equal.

    Empty strings, lists and mappings mean "not set" (null in the API); ``preDeployCommand`` is JSON when read and
    may be a single string.
    """
    if value is None or value == "" or value == [] or value == {}:
        return None
    if option in ("pre_deploy_command", "watch_patterns"):
        return [value] if isinstance(value, str) else [str(item) for item in value]
    if option in ("cpu_limit", "memory_limit_gb"):
        return float(value)
    return value


def instance_settings(instance, scale=None):
    """Settings of a ServiceInstance with the option names of railway_service.

    ``scale`` (RailwayClient.service_scale) gives the settings read outside ServiceInstance; without it they are None.
    """
    scale = scale or {}
    return {setting.option: normalize_setting(setting.option, instance.get(setting.field) if setting.read == "instance"
                                              else scale.get(setting.option)) for setting in SETTINGS}


def deployment_view(deployment):
    """A Deployment as returned to users: snake_case keys, only what is known."""
    if not deployment:
        return None
    view = {
        "id": deployment.get("id"),
        "status": deployment.get("status"),
        "created_at": deployment.get("createdAt"),
        "status_updated_at": deployment.get("statusUpdatedAt"),
        "url": deployment.get("url"),
        "static_url": deployment.get("staticUrl"),
        "meta": deployment.get("meta") or {},
        "can_redeploy": deployment.get("canRedeploy"),
        "can_rollback": deployment.get("canRollback"),
        # Whether it serves the service (succeeded, or asleep after inactivity): statuses stay in module_utils.
        "serving": deployment.get("status") in SUCCESS_STATUSES,
    }
    return {key: value for key, value in view.items() if value is not None}


def log_messages(lines):
    """The text of Railway log lines (buildLogs, deploymentLogs), oldest first."""
    return [line.get("message", "") for line in lines]


def domain_list(all_domains):
    """Service and custom domains of a ServiceInstance as one list."""
    result = []
    for kind, key in (("service", "serviceDomains"), ("custom", "customDomains")):
        for domain in (all_domains or {}).get(key) or []:
            result.append({"domain": domain["domain"], "kind": kind, "target_port": domain.get("targetPort")})
    return result
