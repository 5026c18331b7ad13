# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RailwayClient: headers, retries, backoff, 429, deadline, error shapes, request counting, name resolution."""
from __future__ import annotations

import email.utils

import pytest
import requests
from urllib3.exceptions import NewConnectionError

from ansible_collections.backendops.stack.plugins.module_utils.railway import client as rc
from ansible_collections.backendops.stack.plugins.module_utils.railway import documents as docs
from ansible_collections.backendops.stack.plugins.module_utils.railway.provision import Place, Provisioner, database_spec, first_start
from railway_fakes import API_URL, FakeClock, data, graphql_error, make_client, reply

PROJECT = {"id": "p-1", "name": "backendops-demo",
           "environments": {"edges": [{"node": {"id": "e-prod", "name": "production"}},
                                      {"node": {"id": "e-stage", "name": "staging"}}]},
           "services": {"edges": [{"node": {"id": "s-backend", "name": "backend"}},
                                  {"node": {"id": "s-pg", "name": "Postgres"}}]}}
OTHER = {"id": "p-2", "name": "other-project", "environments": {"edges": []}, "services": {"edges": []}}
# The listing brings each project's environments and services along, so a name costs one request.
ME = {"workspaces": [{"id": "w-1", "name": "Acme", "projects": {"edges": [{"node": PROJECT}, {"node": OTHER}]}}]}


def deployment(status="SUCCESS", **extra):
    node = {"id": "d-1", "status": status}
    node.update(extra)
    return node


# --- credentials and headers -------------------------------------------------------------------------------------

def test_account_token_is_sent_as_bearer_and_only_that():
    client, adapter, _clock = make_client([data(deployment=deployment())], api_token="acct-1")
    client.deployment("d-1")
    headers = adapter.sent[0]["headers"]
    assert headers["Authorization"] == "Bearer acct-1"
    assert "Project-Access-Token" not in headers
    assert client.token_kind == rc.ACCOUNT_TOKEN


def test_project_token_is_sent_as_project_access_token_and_only_that():
    client, adapter, _clock = make_client([data(deployment=deployment())], api_token=None, project_token="proj-1")
    client.deployment("d-1")
    headers = adapter.sent[0]["headers"]
    assert headers["Project-Access-Token"] == "proj-1"
    assert "Authorization" not in headers


@pytest.mark.parametrize("environ, kind, token", [
    ({"RAILWAY_API_TOKEN": "env-acct"}, rc.ACCOUNT_TOKEN, "env-acct"),
    ({"RAILWAY_TOKEN": "env-proj"}, rc.PROJECT_TOKEN, "env-proj"),
    ({"RAILWAY_TOKEN": "  ", "RAILWAY_API_TOKEN": "env-acct"}, rc.ACCOUNT_TOKEN, "env-acct"),
])
def test_tokens_fall_back_to_the_cli_environment_variables(environ, kind, token):
    assert rc.select_credentials(None, None, environ) == (kind, token)


def test_an_explicit_token_wins_over_the_environment():
    environ = {"RAILWAY_TOKEN": "env-proj", "RAILWAY_API_TOKEN": "env-acct"}
    assert rc.select_credentials("explicit", None, environ) == (rc.ACCOUNT_TOKEN, "explicit")
    assert rc.select_credentials(None, "explicit-proj", environ) == (rc.PROJECT_TOKEN, "explicit-proj")


@pytest.mark.parametrize("api_token, project_token, environ, expected", [
    ("a", "p", {}, "mutually exclusive"),
    (None, None, {"RAILWAY_TOKEN": "p", "RAILWAY_API_TOKEN": "a"}, "Both RAILWAY_API_TOKEN and RAILWAY_TOKEN are set"),
    (None, None, {}, "No Railway token"),
    ("", " ", {}, "No Railway token"),
])
def test_token_choice_errors_are_clear(api_token, project_token, environ, expected):
    with pytest.raises(rc.RailwayConfigError, match=expected) as info:
        rc.select_credentials(api_token, project_token, environ)
    assert "\n" not in str(info.value)


def test_api_url_default_env_and_validation():
    client, _adapter, _clock = make_client(api_url=None)
    assert client.api_url == rc.DEFAULT_API_URL == "https://backboard.railway.com/graphql/v2"
    client, _adapter, _clock = make_client(api_url=None, environ={"RAILWAY_API_URL": "http://127.0.0.1:9/graphql/v2"})
    assert client.api_url == "http://127.0.0.1:9/graphql/v2"
    with pytest.raises(rc.RailwayConfigError, match="api_url must be an http"):
        make_client(api_url="backboard.railway.com")


def test_request_carries_timeouts_bounded_by_the_deadline():
    client, adapter, _clock = make_client([data(deployment=deployment())], request_timeout=12, retry_timeout=60)
    client.deployment("d-1")
    assert adapter.sent[0]["timeout"] == (10.0, 12.0)
    client, adapter, _clock = make_client([data(deployment=deployment())], request_timeout=30, retry_timeout=5)
    client.deployment("d-1")
    assert adapter.sent[0]["timeout"] == (5.0, 5.0)


def test_request_body_is_a_registered_named_operation():
    client, adapter, _clock = make_client([data(deployment=deployment())])
    client.deployment("d-9")
    sent = adapter.sent[0]["json"]
    assert sent == {"query": docs.DEPLOYMENT_QUERY.text, "operationName": "Deployment", "variables": {"id": "d-9"}}


def test_unregistered_documents_are_refused_before_sending():
    client, adapter, _clock = make_client()
    rogue = docs.GraphQLDocument("Deployment", "query Deployment { me { id } }")
    with pytest.raises(ValueError, match="registered"):
        client.execute(rogue)
    with pytest.raises(ValueError, match="registered"):
        client.execute("query { me { id } }")
    assert adapter.sent == []


# --- retries, backoff, 429, deadline -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_with_doubling_backoff(status):
    script = [reply(status, text="<html><title>%d Bad</title></html>" % status)] * 3 + [data(deployment=deployment())]
    client, adapter, clock = make_client(script)
    assert client.deployment("d-1")["status"] == "SUCCESS"
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert client.request_count == len(adapter.sent) == 4


def test_backoff_is_capped():
    script = [reply(503)] * 7 + [data(deployment=deployment())]
    client, _adapter, clock = make_client(script, retries=7, retry_timeout=600)
    client.deployment("d-1")
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_connection_errors_are_retried_for_queries():
    script = [requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected"),
              requests.exceptions.ReadTimeout("read timed out"), data(deployment=deployment())]
    client, _adapter, clock = make_client(script)
    assert client.deployment("d-1")["id"] == "d-1"
    assert clock.sleeps == [0.5, 1.0]
    assert client.request_count == 3


def test_429_honours_retry_after_seconds():
    script = [reply(429, {"message": "rate limited"}, {"Retry-After": "7"}), data(deployment=deployment())]
    client, _adapter, clock = make_client(script)
    client.deployment("d-1")
    assert clock.sleeps == [7.0]


def test_429_honours_retry_after_http_date():
    clock = FakeClock(wall=1_800_000_000.0)
    when = email.utils.formatdate(clock.wall + 12, usegmt=True)
    client, _adapter, _clock = make_client([reply(429, {}, {"Retry-After": when}), data(deployment=deployment())], clock=clock)
    client.deployment("d-1")
    assert clock.sleeps == [pytest.approx(12.0, abs=1.0)]


def test_429_without_retry_after_uses_backoff():
    client, _adapter, clock = make_client([reply(429), reply(429), data(deployment=deployment())])
    client.deployment("d-1")
    assert clock.sleeps == [0.5, 1.0]


def test_429_asking_for_more_than_the_deadline_fails_at_once():
    client, adapter, clock = make_client([reply(429, {}, {"Retry-After": "3600"})], retry_timeout=120)
    with pytest.raises(rc.RailwayRateLimitError, match=r"wait 3600 s \(Retry-After\), beyond the 120 s retry_timeout") as info:
        client.deployment("d-1")
    assert clock.sleeps == []
    assert info.value.status == 429
    assert len(adapter.sent) == 1


def test_repeated_429_gives_up_after_the_retries_as_rate_limit_error():
    client, _adapter, _clock = make_client([reply(429, {}, {"Retry-After": "1"})] * 3, retries=2)
    with pytest.raises(rc.RailwayRateLimitError, match="after 3 attempts; last error: HTTP 429"):
        client.deployment("d-1")
    assert client.request_count == 3


def test_retries_are_bounded_and_the_error_names_the_last_cause():
    client, _adapter, clock = make_client([reply(502, text="<html><title>502 Bad gateway</title></html>")] * 4, retries=3)
    with pytest.raises(rc.RailwayTransportError) as info:
        client.deployment("d-1")
    message = str(info.value)
    assert "Deployment failed after 4 attempts" in message
    assert "HTTP 502 (502 Bad gateway)" in message
    assert "\n" not in message
    assert client.request_count == 4
    assert len(clock.sleeps) == 3


def test_all_attempts_fit_in_one_deadline():
    # backoff 0.5 + 1 + 2 = 3.5 s fits, the next 4 s would pass the 5 s deadline
    client, _adapter, clock = make_client([reply(503)] * 10, retries=10, retry_timeout=5)
    with pytest.raises(rc.RailwayTransportError, match="within the 5 s retry_timeout"):
        client.deployment("d-1")
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert client.request_count == 4


def test_a_slow_server_eats_the_deadline_too():
    class SlowClock(FakeClock):
        pass
    clock = SlowClock()

    def slow(_payload):
        clock.now += 30  # the request itself took 30 s before timing out
        return requests.exceptions.ReadTimeout("read timed out")
    client, _adapter, _clock = make_client([slow, slow, slow], clock=clock, retry_timeout=60, retries=5)
    with pytest.raises(rc.RailwayTransportError, match="no answer from railway.test within the request_timeout"):
        client.deployment("d-1")
    assert client.request_count == 2


# --- operations that must not be repeated ------------------------------------------------------------------------

def test_non_repeatable_mutation_is_not_resent_after_a_lost_answer():
    client, adapter, clock = make_client([requests.exceptions.ConnectionError("Connection aborted")])
    with pytest.raises(rc.RailwayTransportError, match="not retried because repeating it could apply it twice"):
        client.redeploy("d-1")
    assert len(adapter.sent) == 1 and clock.sleeps == []


@pytest.mark.parametrize("status", [502, 504])
def test_non_repeatable_mutation_is_not_resent_after_an_ambiguous_gateway_error(status):
    client, adapter, _clock = make_client([reply(status, text="<html><title>gateway</title></html>")])
    with pytest.raises(rc.RailwayHTTPError, match="answered HTTP %d" % status):
        client.deploy_commit("e", "s", "a" * 40)
    assert len(adapter.sent) == 1


def test_non_repeatable_mutation_is_resent_when_it_never_reached_railway():
    refused = requests.exceptions.ConnectionError(
        type("MaxRetry", (), {"reason": NewConnectionError(None, "Connection refused")})())
    script = [refused, reply(503), reply(429, {}, {"Retry-After": "1"}), data(deploymentRedeploy={"id": "d-2", "status": "QUEUED"})]
    client, _adapter, clock = make_client(script)
    assert client.redeploy("d-1")["id"] == "d-2"
    assert clock.sleeps == [0.5, 1.0, 1.0]


def test_idempotent_mutation_is_retried_after_a_lost_answer():
    client, _adapter, _clock = make_client([requests.exceptions.ConnectionError("aborted"), data(variableCollectionUpsert=True)])
    assert client.upsert_variables("p", "e", "s", {"A": "1"}) == {"variableCollectionUpsert": True}
    assert client.request_count == 2


# --- error shapes -------------------------------------------------------------------------------------------------

def test_graphql_errors_in_a_200_body_raise_with_railways_message():
    client, _adapter, _clock = make_client([graphql_error("Commit not found")])
    with pytest.raises(rc.RailwayGraphQLError) as info:
        client.deploy_commit("e", "s", "0" * 40)
    assert str(info.value) == "Railway API error in ServiceInstanceDeployV2: Commit not found"
    assert info.value.railway_messages == ["Commit not found"]
    assert info.value.operation == "ServiceInstanceDeployV2"
    assert not isinstance(info.value, rc.RailwayAuthError)
    assert client.request_count == 1  # GraphQL errors are answers, not transient failures


@pytest.mark.parametrize("message, token_option", [("Not Authorized", "api_token"), ("Project Token not found", "project_token")])
def test_rejected_tokens_give_a_clear_auth_error_without_the_token(message, token_option):
    kwargs = {"api_token": "secret-acct"} if token_option == "api_token" else {"api_token": None, "project_token": "secret-proj"}
    client, _adapter, _clock = make_client([graphql_error(message)], **kwargs)
    with pytest.raises(rc.RailwayAuthError) as info:
        client.deployment("d-1")
    text = str(info.value)
    assert message in text and token_option in text
    assert "secret" not in text


def test_html_page_with_status_200_is_a_clear_non_json_error():
    page = "<!DOCTYPE html><html><head><title>Access denied | backboard.railway.com used Cloudflare</title></head>" \
           "<body>" + "x" * 5000 + "</body></html>"
    client, _adapter, _clock = make_client([reply(200, text=page)])
    with pytest.raises(rc.RailwayResponseError) as info:
        client.deployment("d-1")
    text = str(info.value)
    assert "HTTP 200 with a non-JSON body (text/html: Access denied | backboard.railway.com used Cloudflare)" in text
    assert info.value.status == 200
    assert "xxxx" not in text and "\n" not in text


def test_a_server_error_is_retried_on_reads_only():
    client, _adapter, _clock = make_client([reply(500, text="<html><title>Internal Server Error</title></html>"),
                                            data(deployment=deployment())])
    assert client.deployment("d-1")["status"] == "SUCCESS"
    assert client.request_count == 2
    error = reply(500, {"data": None, "errors": [{"message": "Internal Server Error"}]})
    client, _adapter, _clock = make_client([error], retries=0)
    with pytest.raises(rc.RailwayTransportError, match=r"^Railway API call Deployment failed after 1 attempts; last error: HTTP 500"):
        client.deployment("d-1")
    client, adapter, _clock = make_client([error])
    with pytest.raises(rc.RailwayGraphQLError, match=r"^Railway API error in VariableCollectionUpsert \(HTTP 500\): Internal Server Error$"):
        client.upsert_variables("p", "e", "s", {"A": "1"})
    assert len(adapter.sent) == 1


def test_problem_processing_request_is_retried_on_reads_only():
    client, adapter, _clock = make_client([graphql_error("Problem processing request"), data(deployment=deployment())])
    assert client.deployment("d-1")["status"] == "SUCCESS"
    assert adapter.operations == ["Deployment", "Deployment"]
    client, adapter, _clock = make_client([graphql_error("Problem processing request")])
    with pytest.raises(rc.RailwayGraphQLError, match="Problem processing request"):
        client.upsert_variables("p", "e", "s", {"A": "1"})
    assert len(adapter.sent) == 1


def test_a_wait_deadline_bounds_the_retries_of_a_poll():
    failures = [graphql_error("Problem processing request")] * 10
    client, adapter, clock = make_client(failures, retry_timeout=120)
    with pytest.raises(rc.RailwayTransportError, match="before the wait's deadline; last error: GraphQL error 'Problem processing request'"):
        client.deployment("d-1", deadline=clock.monotonic() + 3)
    # At least MIN_RETRY_WINDOW seconds of retries, far less than retry_timeout.
    assert 2 <= len(adapter.sent) < 10
    client, _adapter, _clock = make_client([reply(418, {"message": "teapot"})])
    with pytest.raises(rc.RailwayHTTPError, match=r"answered HTTP 418"):
        client.deployment("d-1")


def test_a_read_budget_caps_the_attempts_and_drops_the_retry_hint():
    client, adapter, clock = make_client([reply(500, {"errors": [{"message": "Internal Server Error"}]})] * 10,
                                         retries=5, retry_timeout=120)
    budget = client.budget(2, 6.0)
    for read in (lambda: client.deployment_events("d-1", budget=budget), lambda: client.build_logs("d-1", 5, budget=budget)):
        with pytest.raises(rc.RailwayTransportError) as info:
            read()
        assert str(info.value).endswith("failed after 2 attempts; last error: %s" % info.value.cause)
        assert "retries" not in str(info.value) and info.value.cause.startswith("HTTP 500")
    assert adapter.operations == ["DeploymentEvents"] * 2 + ["BuildLogs"] * 2
    assert clock.sleeps == [0.5, 0.5]


def test_a_read_budget_is_a_hard_deadline_shared_by_its_reads():
    clock = FakeClock()

    def slow(_payload):
        clock.now += 5.8 if len(adapter.sent) < 2 else 1  # no answer within the timeout: 6 s, then 1 s
        return requests.exceptions.ReadTimeout("read timed out")
    client, adapter, _clock = make_client([slow] * 4, clock=clock, retries=5, retry_timeout=120, request_timeout=30)
    budget = client.budget(2, 6.0)
    with pytest.raises(rc.RailwayTransportError, match="within the time left for it"):
        client.deployment_logs("d-1", 5, budget=budget)
    # No MIN_RETRY_WINDOW for a budget: what is left of it (1 s at least) bounds the next read's timeout.
    with pytest.raises(rc.RailwayTransportError):
        client.build_logs("d-1", 5, budget=budget)
    assert [sent["timeout"] for sent in adapter.sent] == [(6.0, 6.0), (1.0, 1.0)]
    # Once the budget is spent, a read is not sent at all.
    with pytest.raises(rc.RailwayTransportError, match="DeploymentEvents was not sent: no time was left for it"):
        client.deployment_events("d-1", budget=budget)
    assert len(adapter.sent) == 2


def test_a_graphql_error_has_railways_words_as_its_cause():
    client, _adapter, _clock = make_client([graphql_error("Internal problem")])
    with pytest.raises(rc.RailwayGraphQLError) as info:
        client.deployment_events("d-1", budget=client.budget(2, 6.0))
    assert info.value.cause == "Railway answered Internal problem"


def test_html_with_an_auth_status_is_a_proxy_problem_not_a_token_problem():
    client, _adapter, _clock = make_client([reply(403, text="<html><title>Access denied</title></html>")])
    with pytest.raises(rc.RailwayResponseError, match=r"HTTP 403 with a non-JSON body \(text/html: Access denied\); a proxy"):
        client.deployment("d-1")


def test_http_401_is_an_auth_error():
    client, _adapter, _clock = make_client([reply(401, {"message": "nope"})])
    with pytest.raises(rc.RailwayAuthError, match="HTTP 401; check api_token"):
        client.deployment("d-1")


def test_missing_data_is_reported():
    client, _adapter, _clock = make_client([reply(200, {"data": None})])
    with pytest.raises(rc.RailwayResponseError, match="without data or errors"):
        client.deployment("d-1")


# --- upload endpoint ----------------------------------------------------------------------------------------------

def test_upload_url_is_derived_from_api_url():
    client, _adapter, _clock = make_client(api_url="http://127.0.0.1:8123/graphql/v2")
    assert client.upload_url("p 1", "e-1", "s-1", "sha256:abc def") == \
        "http://127.0.0.1:8123/project/p 1/environment/e-1/up?serviceId=s-1&message=sha256%3Aabc+def"
    assert client.upload_url("p", "e", "s") == "http://127.0.0.1:8123/project/p/environment/e/up?serviceId=s"


def test_upload_posts_gzip_with_the_auth_header_and_returns_the_deployment():
    answer = {"deploymentId": "d-7", "url": "https://x", "logsUrl": "https://l", "deploymentDomain": "x.up.railway.app"}
    client, adapter, _clock = make_client([reply(200, answer)], api_token=None, project_token="proj-9")
    assert client.upload("p", "e", "s", b"\x1f\x8b data", "m")["deploymentId"] == "d-7"
    sent = adapter.sent[0]
    assert sent["headers"]["Content-Type"] == "application/gzip"
    assert sent["headers"]["Project-Access-Token"] == "proj-9"
    assert sent["body"] == b"\x1f\x8b data"
    assert sent["url"].startswith("https://railway.test/project/p/environment/e/up?")


@pytest.mark.parametrize("step, error, expected", [
    (reply(413, text="File too large"), rc.RailwayHTTPError, "too large (HTTP 413); exclude build output"),
    (reply(400, {"message": "Invalid archive"}), rc.RailwayHTTPError, "HTTP 400: Invalid archive"),
    (reply(401, {"message": "Not Authorized"}), rc.RailwayAuthError, "rejected the token (Not Authorized)"),
])
def test_upload_errors_are_clear(step, error, expected):
    client, _adapter, _clock = make_client([step])
    with pytest.raises(error, match=expected.replace("(", r"\(").replace(")", r"\)")):
        client.upload("p", "e", "s", b"x")


def test_upload_is_not_resent_after_a_lost_answer():
    client, adapter, _clock = make_client([requests.exceptions.ConnectionError("Connection aborted")])
    with pytest.raises(rc.RailwayTransportError, match="Source upload to Railway"):
        client.upload("p", "e", "s", b"x")
    assert len(adapter.sent) == 1


# --- name resolution ----------------------------------------------------------------------------------------------

def test_resolve_with_an_account_token_by_names():
    client, adapter, _clock = make_client([data(me=ME)])
    target = client.resolve("backendops-demo", "production", "BACKEND")
    assert (target.project_id, target.environment_id, target.service_id) == ("p-1", "e-prod", "s-backend")
    assert adapter.operations == ["UserProjects"]


def test_resolve_accepts_ids():
    client, _adapter, _clock = make_client([data(me=ME)])
    target = client.resolve("p-1", "e-stage", "s-pg")
    assert (target.environment["name"], target.service["name"]) == ("staging", "Postgres")


def test_a_project_given_by_uuid_is_read_directly():
    project_id = "0f6b5a3e-8c1d-4e2f-9a7b-1c2d3e4f5a6b"
    client, adapter, _clock = make_client([data(project=dict(PROJECT, id=project_id))])
    assert client.resolve(project_id, "production", "backend").project_id == project_id
    assert adapter.operations == ["Project"]


def test_ids_from_an_earlier_lookup_send_no_request():
    client, adapter, _clock = make_client()
    target = client.resolve("backendops-demo", "production", "backend", project_id="p-1", environment_id="e-prod",
                            service_id="s-backend")
    assert (target.project_id, target.environment_id, target.service_id) == ("p-1", "e-prod", "s-backend")
    assert (target.project["name"], target.service["name"]) == ("backendops-demo", "backend")
    assert adapter.sent == []
    # A project ID alone: the project is read directly, its lists resolve the rest.
    client, adapter, _clock = make_client([data(project=PROJECT)])
    assert client.resolve(None, "staging", "Postgres", project_id="p-1").service_id == "s-pg"
    assert adapter.operations == ["Project"]


@pytest.mark.parametrize("failure", [graphql_error("Not Authorized"), graphql_error("User not found"),
                                     reply(403, {"errors": [{"message": "Forbidden"}]})])
def test_any_failure_of_me_falls_back_to_listing_projects(failure):
    projects = {"edges": [{"node": PROJECT}]}
    client, adapter, _clock = make_client([failure, data(projects=projects)])
    assert client.resolve("backendops-demo", "production").project_id == "p-1"
    assert adapter.operations == ["UserProjects", "Projects"]


def test_a_bad_account_token_fails_with_not_authorized():
    client, _adapter, _clock = make_client([graphql_error("Not Authorized"), graphql_error("Not Authorized")])
    with pytest.raises(rc.RailwayAuthError, match="Not Authorized; check api_token"):
        client.resolve("backendops-demo", "production")


@pytest.mark.parametrize("args, expected", [
    (("nope", "production", None), "project 'nope' not found in the projects this token can access; existing: backendops-demo, other-project"),
    (("backendops-demo", "prod", None), "environment 'prod' not found in project 'backendops-demo'; existing: production, staging"),
    (("backendops-demo", "production", "web"), "service 'web' not found in project 'backendops-demo'; existing: backend, Postgres"),
])
def test_unknown_names_fail_listing_what_exists(args, expected):
    client, _adapter, _clock = make_client([data(me=ME)])
    with pytest.raises(rc.RailwayNotFoundError) as info:
        client.resolve(*args)
    assert str(info.value) == expected


def test_environment_names_are_case_sensitive_like_the_cli():
    client, _adapter, _clock = make_client([data(me=ME)])
    with pytest.raises(rc.RailwayNotFoundError, match="environment 'Production' not found"):
        client.resolve("backendops-demo", "Production")


def test_environment_may_be_omitted_only_when_there_is_one():
    client, _adapter, _clock = make_client([data(me=ME)])
    with pytest.raises(rc.RailwayConfigError, match="environment is required: project 'backendops-demo' has production, staging"):
        client.resolve("backendops-demo")
    single = dict(PROJECT, environments={"edges": [{"node": {"id": "e-prod", "name": "production"}}]})
    me = {"workspaces": [{"id": "w-1", "name": "Acme", "projects": {"edges": [{"node": single}]}}]}
    client, _adapter, _clock = make_client([data(me=me)])
    assert client.resolve("backendops-demo").environment_id == "e-prod"


def test_ambiguous_project_names_ask_for_an_id():
    me = {"workspaces": [{"id": "w1", "name": "A", "projects": {"edges": [{"node": {"id": "p-a", "name": "api"}}]}},
                         {"id": "w2", "name": "B", "projects": {"edges": [{"node": {"id": "p-b", "name": "api"}}]}}]}
    client, _adapter, _clock = make_client([data(me=me)])
    with pytest.raises(rc.RailwayNotFoundError, match="project name 'api' is ambiguous.*p-a, p-b"):
        client.resolve("api", "production")


def test_project_is_required_with_an_account_token():
    client, adapter, _clock = make_client()
    with pytest.raises(rc.RailwayConfigError, match="project is required"):
        client.resolve(None, "production")
    assert adapter.sent == []


def _project_token_answer():
    return data(projectToken={"project": PROJECT, "environment": {"id": "e-prod", "name": "production"}})


def test_resolve_with_a_project_token_uses_one_request_and_the_tokens_scope():
    client, adapter, _clock = make_client([_project_token_answer()], api_token=None, project_token="proj")
    target = client.resolve(None, None, "backend")
    assert (target.project_id, target.environment_id, target.service_id) == ("p-1", "e-prod", "s-backend")
    assert adapter.operations == ["ProjectToken"]


def test_project_token_scope_mismatches_are_explained():
    client, _adapter, _clock = make_client([_project_token_answer()], api_token=None, project_token="proj")
    with pytest.raises(rc.RailwayNotFoundError, match="does not match the project token, which is scoped to environment 'production'"):
        client.resolve("backendops-demo", "staging")
    client, _adapter, _clock = make_client([_project_token_answer()], api_token=None, project_token="proj")
    with pytest.raises(rc.RailwayNotFoundError, match="which belongs to project 'backendops-demo'"):
        client.resolve("other-project")


# --- small pieces -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("5", 5.0), (" 2.5 ", 2.5), ("-3", 0.0), ("", None), (None, None), ("soon", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_parse_retry_after(value, expected):
    assert rc.parse_retry_after(value, now=1_800_000_000.0) == expected


def test_parse_retry_after_http_date_in_the_future():
    now = 1_800_000_000.0
    assert rc.parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=now) == pytest.approx(90, abs=1)


def test_logs_are_trimmed_to_the_limit():
    lines = [{"message": "line %d" % i, "timestamp": "t", "severity": "info"} for i in range(6)]
    client, _adapter, _clock = make_client([data(buildLogs=lines)])
    assert [line["message"] for line in client.build_logs("d", 5)] == ["line %d" % i for i in range(1, 6)]


def test_settings_normalisation_makes_read_back_values_compare_equal():
    instance = {"preDeployCommand": "npx prisma migrate deploy", "healthcheckPath": "", "numReplicas": 2}
    settings = rc.instance_settings(instance)
    assert settings["pre_deploy_command"] == ["npx prisma migrate deploy"]
    assert settings["healthcheck_path"] is None
    assert settings["replicas"] == 2
    assert rc.normalize_setting("pre_deploy_command", []) is None
    assert rc.normalize_setting("start_command", "") is None


def test_request_count_counts_every_http_request():
    client, _adapter, _clock = make_client([reply(503), data(deployment=deployment()), data(deployment=deployment())])
    client.deployment("d-1")
    client.deployment("d-1")
    assert client.request_count == 3


def test_api_url_host_is_used_for_the_default_connection(monkeypatch):
    # Sanity of the fake: the adapter saw the configured URL, nothing else.
    client, adapter, _clock = make_client([data(deployment=deployment())])
    client.deployment("d-1")
    assert adapter.sent[0]["url"] == API_URL


def test_every_operation_sends_only_registered_documents_and_every_document_is_used():
    registered = {document.text: name for name, document in docs.DOCUMENTS.items()}

    def answer(payload):
        # A minimal, shape-correct answer for whatever was asked.
        return data(**{
            "UserProjects": {"me": ME}, "Project": {"project": PROJECT},
            "Projects": {"projects": {"edges": [{"node": PROJECT}]}},
            "ProjectToken": {"projectToken": {"project": PROJECT, "environment": {"id": "e-prod", "name": "production"}}},
            "ServiceInstance": {"serviceInstance": {"id": "si"}}, "Variables": {"variables": {"A": "1"}},
            "ServiceState": {"serviceInstance": {"id": "si"}, "variables": {"A": "1"}},
            "Deployment": {"deployment": deployment()}, "Deployments": {"deployments": {"edges": []}},
            "DeploymentEvents": {"deploymentEvents": {"edges": []}}, "BuildLogs": {"buildLogs": []},
            "DeploymentLogs": {"deploymentLogs": []}, "VariableCollectionUpsert": {"variableCollectionUpsert": True},
            "VariableDelete": {"variableDelete": True},
            "EnvironmentStageChanges": {"environmentStageChanges": {"id": "patch-1"}},
            "EnvironmentPatchCommitStaged": {"environmentPatchCommitStaged": "commit-1"}, "ServiceInstanceUpdate": {"serviceInstanceUpdate": True},
            "ServiceInstanceDeployV2": {"serviceInstanceDeployV2": "d-2"},
            "DeploymentRedeploy": {"deploymentRedeploy": {"id": "d-3", "status": "QUEUED"}},
            "DeploymentRollback": {"deploymentRollback": True},
            # Provisioning (railway_provision.Provisioner and ensure_service).
            "WorkspaceProjects": {"workspace": {"id": "w-1", "name": "Acme", "projects": {"edges": [{"node": PROJECT}]}}},
            "EnvironmentResources": {"environment": {"id": "e", "name": "production", "serviceInstances": {"edges": []},
                                                     "volumeInstances": {"edges": []}}},
            "ProjectCreate": {"projectCreate": PROJECT}, "ServiceCreate": {"serviceCreate": {"id": "s-1", "name": "backend"}},
            "ServiceDelete": {"serviceDelete": True}, "VolumeCreate": {"volumeCreate": {"id": "v-1", "name": "backend-volume"}},
            "ServiceDomainCreate": {"serviceDomainCreate": {"id": "d", "domain": "backend.up.railway.app", "targetPort": 8080}},
            "EnvironmentCreate": {"environmentCreate": {"id": "e-2", "name": "pr-1"}}, "EnvironmentDelete": {"environmentDelete": True},
            "ServiceFirstStart": {"serviceInstanceUpdate": True, "serviceInstanceDeployV2": "d-4"},
            "ServiceFirstStartWithVolume": {"volumeCreate": {"id": "v-2", "name": "db-volume"}, "serviceInstanceUpdate": True,
                                            "serviceInstanceDeployV2": "d-5"},
            "ServiceConfigure": {"variableCollectionUpsert": True, "serviceInstanceUpdate": True},
            "ServiceRepoConnect": {"serviceInstanceUpdate": True, "deploymentTriggerCreate": {"id": "t-1", "branch": "main", "repository": "a/b"}},
            "DeploymentTriggerUpdate": {"deploymentTriggerUpdate": {"id": "t-1", "branch": "next", "repository": "a/b"}},
            # Scale settings (limits, regions, the volume rule).
            "ServiceScale": {"serviceInstanceLimitOverride": None, "environment": {
                "config": {}, "volumeInstances": {"edges": []}}},
            "ServiceInstanceLimitsUpdate": {"serviceInstanceLimitsUpdate": True},
            # The lock, and the database's backups.
            "ActiveDeployments": {"deployments": {"edges": []}},
            "VolumeInstances": {"environment": {"volumeInstances": {"edges": []}}},
            "VolumeInstanceBackupCreate": {"volumeInstanceBackupCreate": {"workflowId": "w-1"}},
            "VolumeInstanceBackupList": {"volumeInstanceBackupList": []},
            "VolumeInstanceBackupRestore": {"volumeInstanceBackupRestore": {"workflowId": "w-2"}},
            "WorkflowStatus": {"workflowStatus": {"status": "Complete", "error": None}},
            "VolumeInstanceBackupScheduleUpdate": {"volumeInstanceBackupScheduleUpdate": True},
            "VolumeInstanceBackupScheduleList": {"volumeInstanceBackupScheduleList": [{"kind": "DAILY"}]},
        }[payload["operationName"]])

    client, adapter, _clock = make_client([answer] * 50)
    client.resolve("backendops-demo", "production", "backend")
    client.resolve(None, "production", "backend", project_id="p-1")
    client.service_instance("e", "s")
    client.service_state("p", "e", "s")
    client.variables("p", "e", "s")
    client.upsert_variables("p", "e", None, {"A": "1"})
    client.delete_variable("p", "e", "s", "A")
    client.seal_variables("e", "s", {"A": "1"})
    client.update_service_instance("e", "s", {"healthcheckPath": "/h"})
    assert client.service_scale("e", "s") == {"cpu_limit": None, "memory_limit_gb": None, "regions": None, "volume": False}
    client.update_service_limits("e", "s", {"vCPUs": 2.0})
    client.deploy_commit("e", "s", "a" * 40)
    client.redeploy("d-1")
    client.rollback("d-1")
    client.deployment("d-1")
    client.deployments("p", "e", "s", statuses=["SUCCESS"])
    client.deployment_events("d-1")
    client.build_logs("d-1", 5)
    client.deployment_logs("d-1", 5)
    assert client.active_deployments("p", "e", "s", {"BUILDING"}) == []
    assert client.volume_instances("e") == []
    assert client.create_backup("v", "before") == "w-1"
    assert client.backups("v") == []
    assert client.restore_backup("v", "b") == "w-2"
    assert client.workflow_status("w-1")["status"] == "Complete"
    assert client.backup_schedules("v") == ["DAILY"]
    assert client.set_backup_schedules("v", ["DAILY"]) is True
    pclient, padapter, _clock = make_client([answer], api_token=None, project_token="proj")
    pclient.resolve(None, None, "backend")
    wclient, wadapter, _clock = make_client([graphql_error("Not Authorized"), answer, answer])
    wclient.resolve("backendops-demo", "production")
    provisioner = Provisioner(client)
    provisioner.create_project("shop", "w-1", "production")
    provisioner.create_environment("p", "pr-1", "e", ephemeral=True)
    provisioner.delete_environment("e-2")
    assert provisioner.resources("e") == {}
    client.configure_service("p", "e", "s", variables={"A": "2"}, settings={"healthcheckPath": "/h"})
    client.connect_repo("p", "e", "s", "a/b", "main")
    client.connect_repo("p", "e", "s", "a/b", "next", trigger_id="t-1")
    spec = database_spec("redis")
    place = Place({"id": "p", "name": "shop"}, {"id": "e", "name": "production"})
    first_start(client, place, "s-2", spec, create_volume=True)
    first_start(client, place, "s-2", spec, create_volume=False)
    client.execute(docs.SERVICE_CREATE_MUTATION, {"input": {"projectId": "p", "name": "backend"}})
    client.execute(docs.VOLUME_CREATE_MUTATION, {"input": {"projectId": "p", "serviceId": "s-1", "mountPath": "/data"}})
    client.execute(docs.SERVICE_DOMAIN_CREATE_MUTATION, {"input": {"environmentId": "e", "serviceId": "s-1", "targetPort": 8080}})
    client.execute(docs.SERVICE_DELETE_MUTATION, {"id": "s-1"})
    # A workspace token (no user) reads a workspace it names with workspace(workspaceId:).
    sclient, sadapter, _clock = make_client([graphql_error("Not Authorized"), answer])
    found = Provisioner(sclient).find_project("backendops-demo", "w-1")
    assert found.exists and found.workspace["name"] == "Acme"

    sent = [entry["json"] for entry in adapter.sent + padapter.sent + wadapter.sent + sadapter.sent]
    assert all(payload["query"] in registered for payload in sent)
    assert all(registered[payload["query"]] == payload["operationName"] for payload in sent)
    # Subscriptions go over WebSocket (tests/integration/test_railway_subscription.py), never as a POST.
    over_http = set(name for name, document in docs.DOCUMENTS.items() if not document.is_subscription)
    assert {payload["operationName"] for payload in sent} == over_http
    with pytest.raises(ValueError, match="is a subscription"):
        client.execute(docs.DEPLOYMENT_SUBSCRIPTION, {"id": "d-1"})


def test_shared_variables_omit_the_service():
    client, adapter, _clock = make_client([data(variableCollectionUpsert=True), data(variableDelete=True)])
    client.upsert_variables("p", "e", None, {"A": "1"}, skip_deploys=True)
    client.delete_variable("p", "e", None, "A")
    upsert, delete = (entry["json"]["variables"]["input"] for entry in adapter.sent)
    assert upsert == {"projectId": "p", "environmentId": "e", "variables": {"A": "1"}, "skipDeploys": True}
    assert delete == {"projectId": "p", "environmentId": "e", "name": "A"}
