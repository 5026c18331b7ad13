# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator provisions like Railway: projects, services, volumes, domains, environments (copies too), pushes.

In-process (no server): every request still goes through the emulator's GraphQL schema, auth and counters.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tools.railway_emulator.emulator import Emulator, EmulatorConfig
from tools.railway_emulator.graphql_api import GraphQLRequest
from tools.railway_emulator.seed import ACCOUNT_TOKEN, PROJECT_TOKEN, WORKSPACE_TOKEN

PHASE = 5.0
CREATE_PROJECT = "mutation P($input: ProjectCreateInput!) { projectCreate(input: $input) { id name workspaceId environments { edges { node { id name } } } } }"
CREATE_SERVICE = "mutation S($input: ServiceCreateInput!) { serviceCreate(input: $input) { id name } }"
CREATE_VOLUME = "mutation V($input: VolumeCreateInput!) { volumeCreate(input: $input) { id name } }"
CREATE_DOMAIN = "mutation D($input: ServiceDomainCreateInput!) { serviceDomainCreate(input: $input) { domain targetPort } }"
CREATE_ENVIRONMENT = "mutation E($input: EnvironmentCreateInput!) { environmentCreate(input: $input) { id name isEphemeral sourceEnvironment { name } } }"
ENVIRONMENT = """query Env($id: String!) { environment(id: $id) {
  serviceInstances { edges { node { serviceName source { repo image } latestDeployment { status meta } domains { serviceDomains { domain targetPort } } } } }
  volumeInstances { edges { node { mountPath serviceId volume { name } } } } } }"""
VARIABLES = "query V($p: String!, $e: String!, $s: String, $u: Boolean) { variables(projectId: $p, environmentId: $e, serviceId: $s, unrendered: $u) }"


class Client:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def call(self, query: str, variables: dict | None = None, token: str = ACCOUNT_TOKEN) -> dict[str, Any]:
        headers = {"project-access-token": token} if token == PROJECT_TOKEN else {"authorization": f"Bearer {token}"}
        request = GraphQLRequest.from_body(json.dumps({"query": query, "variables": variables or {}}).encode())
        return self.emulator.graphql(request, lambda name: headers.get(name.lower())).body

    def data(self, query: str, variables: dict | None = None, **kwargs: Any) -> dict[str, Any]:
        body = self.call(query, variables, **kwargs)
        assert "errors" not in body, body
        return body["data"]

    def error(self, query: str, variables: dict | None = None, **kwargs: Any) -> str:
        body = self.call(query, variables, **kwargs)
        assert body.get("errors"), body
        return body["errors"][0]["message"]

    def project(self, name: str = "shop") -> tuple[str, str]:
        created = self.data(CREATE_PROJECT, {"input": {"name": name, "workspaceId": "workspace-acme"}})["projectCreate"]
        return created["id"], created["environments"]["edges"][0]["node"]["id"]

    def service(self, project_id: str, name: str, **fields: Any) -> str:
        return self.data(CREATE_SERVICE, {"input": {"projectId": project_id, "name": name, **fields}})["serviceCreate"]["id"]

    def instances(self, environment_id: str) -> dict[str, dict]:
        edges = self.data(ENVIRONMENT, {"id": environment_id})["environment"]["serviceInstances"]["edges"]
        return {edge["node"]["serviceName"]: edge["node"] for edge in edges}

    def volumes(self, environment_id: str) -> list[dict]:
        return [e["node"] for e in self.data(ENVIRONMENT, {"id": environment_id})["environment"]["volumeInstances"]["edges"]]

    def settle(self, seconds: float) -> None:
        self.emulator.clock.advance(seconds)


@pytest.fixture(name="client")
def client_fixture() -> Client:
    return Client(Emulator(EmulatorConfig(empty=True, clock_scale=0, phase_seconds=PHASE)))


def test_empty_seed_has_workspaces_and_no_project(client: Client) -> None:
    me = client.data("query { me { workspaces { name projects { edges { node { id } } } } } }")["me"]
    assert [(w["name"], w["projects"]["edges"]) for w in me["workspaces"]] == [("Acme", []), ("Personal", [])]


def test_project_create_needs_an_account_or_workspace_token_of_that_workspace() -> None:
    # The default seed has a project token; the empty one has none.
    client = Client(Emulator(EmulatorConfig(clock_scale=0)))
    assert client.error(CREATE_PROJECT, {"input": {"name": "x"}}, token=PROJECT_TOKEN) == "Not Authorized"
    # Nor may it add services or environments to its own project: project tokens deploy, they do not provision.
    seeded = {"projectId": "project-backendops-demo", "name": "x"}
    assert client.error(CREATE_SERVICE, {"input": seeded}, token=PROJECT_TOKEN) == "Not Authorized"
    assert client.error(CREATE_ENVIRONMENT, {"input": seeded}, token=PROJECT_TOKEN) == "Not Authorized"
    assert client.error(CREATE_PROJECT, {"input": {"name": "x", "workspaceId": "workspace-personal"}}, token=WORKSPACE_TOKEN) == "Not Authorized"
    created = client.data(CREATE_PROJECT, {"input": {"name": "x"}}, token=WORKSPACE_TOKEN)["projectCreate"]
    assert created["workspaceId"] == "workspace-acme"
    assert [e["node"]["name"] for e in created["environments"]["edges"]] == ["production"]
    # The workspace token sees what it created (auth is read per request).
    assert client.data("query P($id: String!) { project(id: $id) { name } }", {"id": created["id"]}, token=WORKSPACE_TOKEN)["project"]["name"] == "x"


def test_service_sources_repo_deploys_on_push_to_its_branch_only(client: Client) -> None:
    project_id, production = client.project()
    client.service(project_id, "backend", source={"repo": "acme/backend"}, branch="release")
    client.service(project_id, "Redis", source={"image": "redis:8.2.1"})
    client.service(project_id, "uploads")
    instances = client.instances(production)
    # A source deploys right away; an empty service waits for an upload.
    assert instances["backend"]["latestDeployment"]["meta"]["branch"] == "release"
    assert instances["Redis"]["latestDeployment"]["meta"]["image"] == "redis:8.2.1"
    assert instances["uploads"]["latestDeployment"] is None and instances["uploads"]["source"] is None
    before = client.emulator.counters.to_json()["mutations"]
    with client.emulator.settled() as now:
        assert client.emulator.push("acme/backend", "main", None, now) == []
        pushed = client.emulator.push("acme/backend", "release", "b" * 40, now)
    assert len(pushed) == 1
    assert client.instances(production)["backend"]["latestDeployment"]["meta"]["commitHash"] == "b" * 40
    # A push is no API mutation.
    assert client.emulator.counters.to_json()["mutations"] == before


def test_service_names_are_unique_and_a_source_is_one_thing(client: Client) -> None:
    project_id, _production = client.project()
    client.service(project_id, "backend")
    assert "already exists" in client.error(CREATE_SERVICE, {"input": {"projectId": project_id, "name": "backend"}})
    assert "not both" in client.error(CREATE_SERVICE, {"input": {"projectId": project_id, "source": {"repo": "a/b", "image": "c"}}})


def test_one_volume_and_one_service_domain_per_service(client: Client) -> None:
    project_id, production = client.project()
    postgres = client.service(project_id, "Postgres", source={"image": "ghcr.io/railwayapp-templates/postgres-ssl:17"})
    backend = client.service(project_id, "backend")
    volume = client.data(CREATE_VOLUME, {"input": {"projectId": project_id, "serviceId": postgres, "mountPath": "/var/lib/postgresql/data"}})
    assert volume["volumeCreate"]["name"] == "postgres-volume"
    assert "already has a volume" in client.error(CREATE_VOLUME, {"input": {"projectId": project_id, "serviceId": postgres, "mountPath": "/data"}})
    assert "absolute path" in client.error(CREATE_VOLUME, {"input": {"projectId": project_id, "serviceId": backend, "mountPath": "data"}})
    assert client.volumes(production) == [{"mountPath": "/var/lib/postgresql/data", "serviceId": postgres, "volume": {"name": "postgres-volume"}}]
    domain = client.data(CREATE_DOMAIN, {"input": {"environmentId": production, "serviceId": backend, "targetPort": 8080}})["serviceDomainCreate"]
    assert domain == {"domain": "backend-production.up.railway.app", "targetPort": 8080}
    assert "can have one" in client.error(CREATE_DOMAIN, {"input": {"environmentId": production, "serviceId": backend, "targetPort": 3000}})
    domains = client.data("query D($e: String!, $p: String!, $s: String!) { domains(environmentId: $e, projectId: $p, serviceId: $s) "
                          "{ serviceDomains { domain } } }", {"e": production, "p": project_id, "s": backend})
    assert domains["domains"]["serviceDomains"] == [{"domain": "backend-production.up.railway.app"}]


def test_reference_variables_render_only_when_not_unrendered(client: Client) -> None:
    project_id, production = client.project()
    client.service(project_id, "Postgres", source={"image": "postgres"}, variables={
        "PGPASSWORD": "pw", "DATABASE_URL": "postgresql://postgres:${{PGPASSWORD}}@${{RAILWAY_PRIVATE_DOMAIN}}:5432/railway"})
    backend = client.service(project_id, "backend", variables={"DATABASE_URL": "${{Postgres.DATABASE_URL}}"})
    scope = {"p": project_id, "e": production, "s": backend}
    assert client.data(VARIABLES, {**scope, "u": True})["variables"] == {"DATABASE_URL": "${{Postgres.DATABASE_URL}}"}
    assert client.data(VARIABLES, {**scope, "u": False})["variables"] == {"DATABASE_URL": "postgresql://postgres:pw@postgres.railway.internal:5432/railway"}


def test_environment_copy_brings_services_variables_volumes_and_new_domains(client: Client) -> None:
    project_id, production = client.project()
    postgres = client.service(project_id, "Postgres", source={"image": "postgres"}, variables={"PGPASSWORD": "pw"})
    backend = client.service(project_id, "backend", source={"repo": "acme/backend"}, variables={"DATABASE_URL": "${{Postgres.DATABASE_URL}}"})
    client.data(CREATE_VOLUME, {"input": {"projectId": project_id, "serviceId": postgres, "mountPath": "/var/lib/postgresql/data"}})
    client.data(CREATE_DOMAIN, {"input": {"environmentId": production, "serviceId": backend, "targetPort": 8080}})
    request = {"projectId": project_id, "name": "pr-123", "sourceEnvironmentId": production, "ephemeral": True}
    copied = client.data(CREATE_ENVIRONMENT, {"input": request})["environmentCreate"]
    assert copied["sourceEnvironment"] == {"name": "production"} and copied["isEphemeral"] is True
    pr = copied["id"]
    instances = client.instances(pr)
    assert sorted(instances) == ["Postgres", "backend"]
    assert instances["backend"]["domains"]["serviceDomains"] == [{"domain": "backend-pr-123.up.railway.app", "targetPort": 8080}]
    assert instances["backend"]["latestDeployment"]["status"] == "QUEUED"
    assert client.data(VARIABLES, {"p": project_id, "e": pr, "s": backend, "u": True})["variables"] == {"DATABASE_URL": "${{Postgres.DATABASE_URL}}"}
    assert [v["mountPath"] for v in client.volumes(pr)] == ["/var/lib/postgresql/data"]
    assert "already exists" in client.error(CREATE_ENVIRONMENT, {"input": {"projectId": project_id, "name": "pr-123"}})

    # A service created in the copy only lives there.
    client.service(project_id, "preview-only", environmentId=pr)
    assert "preview-only" not in client.instances(production)
    assert client.data("mutation D($id: String!) { environmentDelete(id: $id) }", {"id": pr})["environmentDelete"] is True
    assert client.error("query E($id: String!) { environment(id: $id) { id } }", {"id": pr}) == "Environment not found"
    assert [v["mountPath"] for v in client.volumes(production)] == ["/var/lib/postgresql/data"]
    assert sorted(client.instances(production)) == ["Postgres", "backend"]


def test_service_delete_removes_instances_variables_domains_and_volumes(client: Client) -> None:
    project_id, production = client.project()
    postgres = client.service(project_id, "Postgres", source={"image": "postgres"}, variables={"PGPASSWORD": "pw"})
    client.data(CREATE_VOLUME, {"input": {"projectId": project_id, "serviceId": postgres, "mountPath": "/var/lib/postgresql/data"}})
    assert client.data("mutation D($id: String!) { serviceDelete(id: $id) }", {"id": postgres})["serviceDelete"] is True
    assert client.instances(production) == {} and client.volumes(production) == []
    assert client.error("query S($id: String!) { service(id: $id) { id } }", {"id": postgres}) == "Service not found"
    assert client.emulator.store.data.variables == [] or all(s.service_id != postgres for s in client.emulator.store.data.variables)


def test_an_account_of_several_workspaces_names_one_and_project_tokens_create_no_domain() -> None:
    client = Client(Emulator(EmulatorConfig(clock_scale=0)))
    # The seed's user belongs to Acme and Personal: Railway picks neither for it.
    assert client.error(CREATE_PROJECT, {"input": {"name": "x"}}) == "workspaceId is required: this account belongs to several workspaces"
    # A domain is provisioning, not a deployment: project tokens may not (Railway's docs on project tokens).
    staging = {"environmentId": "env-staging", "serviceId": "service-backend", "targetPort": 8080}
    production = dict(staging, environmentId="env-production")
    assert client.error(CREATE_DOMAIN, {"input": production}, token=PROJECT_TOKEN) == "Not Authorized"
    assert client.data(CREATE_DOMAIN, {"input": staging})["serviceDomainCreate"]["domain"] == "backend-staging.up.railway.app"


UPDATE = "mutation U($e: String, $s: String!, $i: ServiceInstanceUpdateInput!) { serviceInstanceUpdate(environmentId: $e, serviceId: $s, input: $i) }"
INSTANCE = "query I($e: String!, $s: String!) { serviceInstance(environmentId: $e, serviceId: $s) { cronSchedule nextCronRunAt } }"


def test_a_cron_schedule_is_checked_kept_in_the_deployment_and_gives_the_next_run(client: Client) -> None:
    project_id, production = client.project()
    report = client.service(project_id, "backend-report")
    scope = {"e": production, "s": report}
    assert "expected 5 fields" in client.error(UPDATE, {**scope, "i": {"cronSchedule": "hourly"}})
    assert "at most every 5 minutes" in client.error(UPDATE, {**scope, "i": {"cronSchedule": "*/2 * * * *"}})
    assert client.data(UPDATE, {**scope, "i": {"cronSchedule": "0 3 * * *", "startCommand": "node src/report.js"}})
    instance = client.data(INSTANCE, scope)["serviceInstance"]
    now = client.emulator.clock.now()
    next_run = datetime.fromisoformat(instance["nextCronRunAt"].replace("Z", "+00:00"))
    assert instance["cronSchedule"] == "0 3 * * *" and (next_run.hour, next_run.minute) == (3, 0)
    assert 0 < next_run.timestamp() - now <= 24 * 3600
    # The deployment records the schedule it started with; an empty schedule (or null) makes the service run again.
    assert client.data(UPDATE, {**scope, "i": {"source": {"image": "acme/app:1"}}})
    client.data("mutation D($e: String!, $s: String!) { serviceInstanceDeployV2(environmentId: $e, serviceId: $s) }",
                {"e": production, "s": report})
    assert client.emulator.store.latest_deployment(production, report).settings["cronSchedule"] == "0 3 * * *"
    assert client.data(UPDATE, {**scope, "i": {"cronSchedule": ""}})
    assert client.data(INSTANCE, scope)["serviceInstance"] == {"cronSchedule": None, "nextCronRunAt": None}


def test_a_process_service_deploys_with_references_to_the_web_service_resolved(client: Client) -> None:
    project_id, production = client.project()
    client.service(project_id, "Postgres", source={"image": "postgres"}, variables={"PGPASSWORD": "pw", "DATABASE_URL": "postgresql://p:${{PGPASSWORD}}@db"})
    client.service(project_id, "backend", variables={"JWT_SECRET": "s3cret", "DATABASE_URL": "${{Postgres.DATABASE_URL}}"})
    # One service's deployment can be made to fail: the other one's is not.
    client.emulator.faults.arm({"kind": "deploy_fail", "service": "backend-other"})
    worker = client.service(project_id, "backend-worker", source={"image": "acme/app:1"},
                            variables={"JWT_SECRET": "${{backend.JWT_SECRET}}", "DATABASE_URL": "${{backend.DATABASE_URL}}"})
    deployment = client.emulator.store.latest_deployment(production, worker)
    assert deployment.variables["JWT_SECRET"] == "s3cret" and deployment.variables["DATABASE_URL"] == "postgresql://p:pw@db"
    assert client.data(VARIABLES, {"p": project_id, "e": production, "s": worker, "u": True})["variables"]["JWT_SECRET"] == "${{backend.JWT_SECRET}}"
    other = client.service(project_id, "backend-other", source={"image": "acme/app:1"})
    client.settle(10 * PHASE)
    with client.emulator.settled():
        assert client.emulator.store.latest_deployment(production, worker).status == "SUCCESS"
        assert client.emulator.store.latest_deployment(production, other).status == "FAILED"


STAGE = "mutation S($e: String!, $p: EnvironmentConfig!) { environmentStageChanges(environmentId: $e, input: $p, merge: true) { id status } }"
COMMIT = "mutation C($e: String!, $skip: Boolean) { environmentPatchCommitStaged(environmentId: $e, skipDeploys: $skip) }"
UPSERT = "mutation U($input: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $input) }"


def test_a_sealed_variable_reaches_deployments_but_no_read_and_no_copy(client: Client) -> None:
    project_id, production = client.project()
    backend = client.service(project_id, "backend", source={"image": "node:22"})
    scope = {"p": project_id, "e": production, "s": backend, "u": True}
    sealed = {"services": {backend: {"variables": {"JWT_SECRET": {"value": "jwt-1", "isSealed": True}}}},
              "sharedVariables": {"API_KEY": {"value": "key-1", "isSealed": True}, "LOG_LEVEL": {"value": "info"}}}
    assert client.data(STAGE, {"e": production, "p": sealed})["environmentStageChanges"]["status"] == "STAGED"
    deployments = len(client.emulator.store.data.deployments)
    client.data(COMMIT, {"e": production, "skip": True})
    assert len(client.emulator.store.data.deployments) == deployments  # skipDeploys: nothing deployed
    assert client.data(VARIABLES, scope)["variables"] == {"JWT_SECRET": None}
    assert client.data(VARIABLES, dict(scope, u=False))["variables"] == {"JWT_SECRET": None}
    assert client.data(VARIABLES, dict(scope, s=None))["variables"] == {"API_KEY": None, "LOG_LEVEL": "info"}
    deployment_variables = "query D($p: String!, $e: String!, $s: String!) { variablesForServiceDeployment(projectId: $p, environmentId: $e, serviceId: $s) }"
    assert client.data(deployment_variables, {"p": project_id, "e": production, "s": backend})["variablesForServiceDeployment"]["JWT_SECRET"] is None
    # An upsert changes the value; the variable stays sealed (Railway never un-seals one).
    client.data(UPSERT, {"input": {"projectId": project_id, "environmentId": production, "serviceId": backend,
                                   "variables": {"JWT_SECRET": "jwt-2"}, "skipDeploys": False}})
    assert client.data(VARIABLES, scope)["variables"] == {"JWT_SECRET": None}
    client.settle(PHASE * 6)
    assert client.emulator.store.latest_deployment(production, backend).variables["JWT_SECRET"] == "jwt-2"
    # A copy of the environment gets no sealed variable.
    copy = client.data(CREATE_ENVIRONMENT, {"input": {"projectId": project_id, "name": "pr-1", "sourceEnvironmentId": production}})
    copied = client.data(VARIABLES, dict(scope, e=copy["environmentCreate"]["id"], s=None))["variables"]
    assert copied == {"LOG_LEVEL": "info"}
    # Only variables are applied from a patch; other parts are refused, not dropped silently.
    message = client.error(STAGE, {"e": production, "p": {"services": {backend: {"deploy": {"numReplicas": 2}}}}})
    assert message.startswith("the emulator applies only variables")
