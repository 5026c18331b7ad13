# -*- coding: utf-8 -*-
# Copyright (c) backendops.stack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Railway GraphQL API client: transport, retries, errors and name resolution.

Plain Python on top of ``requests`` and free of AnsibleModule, so it can be unit-tested with a fake transport
and reused by other plugin types. Failures raise RailwayError subclasses whose text is a one-line message meant
for people; the AnsibleModule glue (railway_module.py) turns them into fail_json.
"""

from __future__ import annotations

import email.utils
import os
import re
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

from ansible_collections.backendops.stack.plugins.module_utils import railway_documents as documents

DEFAULT_API_URL = "https://backboard.railway.com/graphql/v2"
API_URL_ENV = "RAILWAY_API_URL"
API_TOKEN_ENV = "RAILWAY_API_TOKEN"
PROJECT_TOKEN_ENV = "RAILWAY_TOKEN"

USER_AGENT = "backendops.stack-railway (Ansible collection)"

# Proxies and Railway's edge answer these while the backend is briefly unavailable.
RETRY_STATUSES = frozenset((502, 503, 504))
# A 503 means the request was not processed, so even non-repeatable operations may be sent again.
NOT_PROCESSED_STATUSES = frozenset((429, 503))

ACCOUNT_TOKEN = "api_token"
PROJECT_TOKEN = "project_token"


class RailwayError(Exception):
    """Base class; ``str(error)`` is the one-line message for the user, ``details`` extra result keys."""

    def __init__(self, message, **details):
        super(RailwayError, self).__init__(message)
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
        super(RailwayHTTPError, self).__init__(message, status_code=status, **details)
        self.status = status


class RailwayRateLimitError(RailwayHTTPError):
    """HTTP 429 that outlasted the retries or the deadline."""


class RailwayResponseError(RailwayHTTPError):
    """The body is not the JSON Railway sends (an HTML page from a proxy, empty data ...)."""


class RailwayGraphQLError(RailwayError):
    """Railway answered with GraphQL ``errors``."""

    def __init__(self, message, operation, railway_messages, **details):
        super(RailwayGraphQLError, self).__init__(message, railway_errors=list(railway_messages), **details)
        self.operation = operation
        self.railway_messages = list(railway_messages)


class RailwayAuthError(RailwayGraphQLError):
    """Railway rejected the token ("Not Authorized", "Project Token not found")."""


class RailwayNotFoundError(RailwayError):
    """A project, environment or service name that does not exist."""


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


class RailwayClient(object):
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

    def _send(self, method, url, what, retry_safe, **kwargs):
        """Send one logical request, retrying transient failures within ``retry_timeout``; return the response."""
        deadline = self._clock() + self.retry_timeout
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
                if status == 429:
                    rate_limited = True
                    reason = "HTTP 429 (rate limited by Railway)"
                    delay = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
                    if delay is None:
                        delay = self._backoff(attempt)
                elif status in RETRY_STATUSES and (retry_safe or status in NOT_PROCESSED_STATUSES):
                    reason = "HTTP %d (%s)" % (status, _body_excerpt(response.text) or response.reason)
                    delay = self._backoff(attempt)
                else:
                    return response
            if attempt > self.retries:
                raise self._give_up(what, reason, rate_limited, "after %d attempts" % attempt)
            if self._clock() + delay > deadline:
                if rate_limited:
                    raise RailwayRateLimitError(
                        "%s: Railway's rate limit asks to wait %d s (Retry-After), beyond the %d s retry_timeout; "
                        "try again later or raise retry_timeout" % (what, round(delay), self.retry_timeout), 429)
                raise self._give_up(what, reason, rate_limited, "within the %d s retry_timeout" % self.retry_timeout)
            self._sleep(delay)

    @staticmethod
    def _give_up(what, reason, rate_limited, how):
        message = "%s failed %s; last error: %s" % (what, how, reason)
        if rate_limited:
            return RailwayRateLimitError(message + "; try again later or raise retries/retry_timeout", 429)
        return RailwayTransportError(message + "; check api_url and the network, or raise retries/retry_timeout")

    def execute(self, document, variables=None):
        """Run a registered GraphQL document and return its ``data``."""
        if not isinstance(document, documents.GraphQLDocument) or documents.DOCUMENTS.get(document.name) is not document:
            raise ValueError("Only documents registered in railway_documents may be sent, got %r" % (document,))
        payload = {"query": document.text, "operationName": document.name, "variables": variables or {}}
        what = "Railway API call %s" % document.name
        response = self._send("POST", self.api_url, what, document.retry_safe, json=payload,
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

    def resolve(self, project=None, environment=None, service=None):
        """Find project, environment and (optionally) service by name or ID; return a RailwayTarget."""
        project, environment, service = _strip(project), _strip(environment), _strip(service)
        if self.token_kind == PROJECT_TOKEN:
            token = self.execute(documents.PROJECT_TOKEN_QUERY)["projectToken"]
            info = token["project"]
            if project and project not in (info["id"], info["name"]):
                raise RailwayNotFoundError(
                    "project %r does not match the project token, which belongs to project %r (%s); omit project "
                    "or use an account token" % (project, info["name"], info["id"]))
            token_env = token["environment"]
            if environment and environment not in (token_env["id"], token_env["name"]):
                raise RailwayNotFoundError(
                    "environment %r does not match the project token, which is scoped to environment %r (%s); omit "
                    "environment or use a token of that environment" % (environment, token_env["name"], token_env["id"]))
            environment = token_env["id"]
            token_env = {"id": token_env["id"], "name": token_env["name"]}
        else:
            token_env = None
            if not project:
                raise RailwayConfigError("project is required with an account or workspace token (api_token)")
            project_id = self._find_project_id(project)
            info = self.execute(documents.PROJECT_QUERY, {"id": project_id})["project"]
        environments = _nodes(info.get("environments"))
        services = _nodes(info.get("services"))
        if token_env and not any(e["id"] == token_env["id"] for e in environments):
            environments.append(token_env)
        env = _match("environment", environment, environments, "project %r" % info["name"], case_insensitive=False)
        svc = _match("service", service, services, "project %r" % info["name"]) if service else None
        return RailwayTarget({"id": info["id"], "name": info["name"]}, env, svc, environments, services)

    def _find_project_id(self, wanted):
        try:
            data = self.execute(documents.USER_PROJECTS_QUERY)
            projects = [p for workspace in data["me"]["workspaces"] for p in _nodes(workspace.get("projects"))]
        except RailwayAuthError:
            # Workspace tokens are not allowed to read `me`; a bad token fails this query too.
            projects = _nodes(self.execute(documents.PROJECTS_QUERY)["projects"])
        return _match("project", wanted, projects, "the projects this token can access")["id"]

    # --- operations ----------------------------------------------------------------------------------------------

    def service_instance(self, environment_id, service_id):
        return self.execute(documents.SERVICE_INSTANCE_QUERY,
                            {"environmentId": environment_id, "serviceId": service_id})["serviceInstance"]

    def variables(self, project_id, environment_id, service_id=None, unrendered=True):
        data = self.execute(documents.VARIABLES_QUERY, {
            "projectId": project_id, "environmentId": environment_id, "serviceId": service_id, "unrendered": unrendered})
        return dict(data.get("variables") or {})

    def upsert_variables(self, project_id, environment_id, service_id, variables, skip_deploys=True):
        collection = {"projectId": project_id, "environmentId": environment_id, "variables": variables,
                      "skipDeploys": skip_deploys}
        if service_id:
            collection["serviceId"] = service_id
        return self.execute(documents.VARIABLE_COLLECTION_UPSERT_MUTATION, {"input": collection})

    def delete_variable(self, project_id, environment_id, service_id, name):
        target = {"projectId": project_id, "environmentId": environment_id, "name": name}
        if service_id:
            target["serviceId"] = service_id
        return self.execute(documents.VARIABLE_DELETE_MUTATION, {"input": target})

    def update_service_instance(self, environment_id, service_id, changes):
        return self.execute(documents.SERVICE_INSTANCE_UPDATE_MUTATION,
                            {"environmentId": environment_id, "serviceId": service_id, "input": changes})

    def deploy_commit(self, environment_id, service_id, commit_sha=None):
        """Deploy a commit of the connected repository; return the new deployment ID."""
        data = self.execute(documents.SERVICE_INSTANCE_DEPLOY_MUTATION,
                            {"environmentId": environment_id, "serviceId": service_id, "commitSha": commit_sha})
        return data["serviceInstanceDeployV2"]

    def redeploy(self, deployment_id):
        return self.execute(documents.DEPLOYMENT_REDEPLOY_MUTATION, {"id": deployment_id})["deploymentRedeploy"]

    def rollback(self, deployment_id):
        return self.execute(documents.DEPLOYMENT_ROLLBACK_MUTATION, {"id": deployment_id})["deploymentRollback"]

    def deployment(self, deployment_id):
        return self.execute(documents.DEPLOYMENT_QUERY, {"id": deployment_id})["deployment"]

    def deployments(self, project_id, environment_id, service_id, first=5, statuses=None):
        """Newest first."""
        selector = {"projectId": project_id, "environmentId": environment_id, "serviceId": service_id}
        if statuses:
            selector["status"] = {"in": list(statuses)}
        data = self.execute(documents.DEPLOYMENTS_QUERY, {"input": selector, "first": first})
        return _nodes(data["deployments"])

    def deployment_events(self, deployment_id, first=100):
        return _nodes(self.execute(documents.DEPLOYMENT_EVENTS_QUERY, {"id": deployment_id, "first": first})["deploymentEvents"])

    def build_logs(self, deployment_id, limit):
        logs = self.execute(documents.BUILD_LOGS_QUERY, {"deploymentId": deployment_id, "limit": limit})["buildLogs"]
        # Railway may return limit+1 lines (noted in the official CLI); keep the newest ``limit``.
        return list(logs or [])[-limit:] if limit else []

    def deployment_logs(self, deployment_id, limit):
        logs = self.execute(documents.DEPLOYMENT_LOGS_QUERY, {"deploymentId": deployment_id, "limit": limit})["deploymentLogs"]
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


class RailwayTarget(object):
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
        return RailwayAuthError("Railway rejected the request %s: %s; %s" % (where, joined, _token_hint(token_kind)),
                                operation, messages, status_code=status)
    return RailwayGraphQLError("Railway API error in %s: %s" % (where, joined), operation, messages, status_code=status)


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


# Service instance settings managed by railway_service and shown by railway_info: (option name, API field).
SERVICE_SETTING_FIELDS = (
    ("builder", "builder"),
    ("build_command", "buildCommand"),
    ("dockerfile_path", "dockerfilePath"),
    ("root_directory", "rootDirectory"),
    ("start_command", "startCommand"),
    ("pre_deploy_command", "preDeployCommand"),
    ("healthcheck_path", "healthcheckPath"),
    ("healthcheck_timeout", "healthcheckTimeout"),
    ("restart_policy", "restartPolicyType"),
    ("restart_policy_max_retries", "restartPolicyMaxRetries"),
    ("replicas", "numReplicas"),
    ("overlap_seconds", "overlapSeconds"),
    ("draining_seconds", "drainingSeconds"),
    ("sleep_application", "sleepApplication"),
    ("region", "region"),
)


def normalize_setting(option, value):
    """One representation per meaning, so that reading back what was written compares equal.

    Empty strings and empty lists mean "not set" (null in the API); ``preDeployCommand`` is JSON when read and may
    be a single string.
    """
    if option == "pre_deploy_command":
        if value is None or value == "" or value == []:
            return None
        if isinstance(value, str):
            return [value]
        return [str(item) for item in value]
    if isinstance(value, str) and value == "":
        return None
    return value


def instance_settings(instance):
    """Settings of a ServiceInstance with the option names of railway_service."""
    return dict((option, normalize_setting(option, instance.get(field))) for option, field in SERVICE_SETTING_FIELDS)


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
    }
    return dict((key, value) for key, value in view.items() if value is not None)


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
