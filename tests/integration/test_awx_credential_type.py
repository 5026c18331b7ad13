# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX as code: playbooks/awx_configure.yml applies extensions/awx/ through the awx.awx modules, and the "Railway API"
credential type it defines fits the railway_* modules.

AWX cannot run here, so the play talks to a small stand-in for AWX's REST API (/api/v2/) that stores what the awx.awx
modules send. The credential type's injectors are taken from there - exactly what AWX would receive - rendered the
way AWX renders them when it launches a job, and a Railway module then runs against the Railway emulator with
exactly that environment and no token options.
"""
from __future__ import annotations

import copy
import itertools
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import DEFAULT_API_URL, RailwayClient
from support import REPO_ROOT, VENV_BIN, ansible_env, run_playbook, write_play

AWX_TOKEN = "fake-awx-oauth-token"
RAILWAY_CREDENTIAL = "backendops Railway"
RESOURCES = ("organizations", "credential_types", "credentials", "execution_environments", "projects", "inventories",
             "inventory_sources", "job_templates")
SURVEY_ENDPOINTS = ("job_templates",)


# -- AWX's credential injection, mirrored ------------------------------------------------------------------------------

def awx_validate_injectors(credential_type: dict) -> None:
    """What AWX checks when a credential type is saved (CredentialTypeInjectorField.validate): environment variable
    names, no ANSIBLE_* variables, and every template renders with StrictUndefined when each input has a value."""
    example = {field["id"]: "EXAMPLE" for field in credential_type["inputs"]["fields"]}
    for name, template in credential_type["injectors"]["env"].items():
        assert re.fullmatch(r"[a-zA-Z_]+[a-zA-Z0-9_]*", name), name
        assert not name.startswith("ANSIBLE_") and name not in ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "JOB_ID"), name
        ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(template).render(example)


def awx_render_env(credential_type: dict, inputs: dict[str, str]) -> dict[str, str]:
    """The environment AWX gives a job for one credential (CredentialType.inject_credential): only inputs with a value
    enter the template namespace, each env injector is rendered in an ImmutableSandboxedEnvironment with Jinja's
    default Undefined, and every variable is set - an unset input gives an empty string, not a missing variable."""
    namespace = {name: value for name, value in inputs.items() if isinstance(value, bool) or len(value)}
    sandbox = ImmutableSandboxedEnvironment()
    return {name: sandbox.from_string(template).render(**namespace) for name, template in credential_type["injectors"]["env"].items()}


# -- A stand-in for AWX's REST API ----------------------------------------------------------------------------------------

class FakeAWX(ThreadingHTTPServer):
    """/api/v2/ for the objects awx_configure.yml manages: lists filter by exact field value (and AWX's or__ lookups),
    POST creates, PATCH updates, job templates have survey_spec and credential associations, and secret credential
    inputs read back as $encrypted$ like in AWX. Every write is recorded."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeAWXHandler)
        self.objects: dict[str, dict[int, dict]] = {resource: {} for resource in RESOURCES}
        self.associations: dict[tuple[str, int, str], list[int]] = {}
        self.surveys: dict[int, dict] = {}
        self.writes: list[tuple[str, str]] = []
        self.ids = itertools.count(1)
        self.create("organizations", {"name": "Default"})

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server_address[1]

    def create(self, resource: str, fields: dict) -> dict:
        item_id = next(self.ids)
        self.objects[resource][item_id] = dict(fields)
        return self.render(resource, item_id)

    def find(self, resource: str, name: str) -> dict:
        (item,) = [self.render(resource, i) for i, obj in self.objects[resource].items() if obj.get("name") == name]
        return item

    def render(self, resource: str, item_id: int) -> dict:
        item = copy.deepcopy(self.objects[resource][item_id])
        url = f"/api/v2/{resource}/{item_id}/"
        item.update(id=item_id, url=url, type=resource[:-1] if not resource.endswith("ies") else resource[:-3] + "y",
                    related={"survey_spec": url + "survey_spec/", "credentials": url + "credentials/"}, summary_fields={})
        if resource == "projects":
            item["scm_revision"] = ""
        if resource == "credentials":
            secret = {field["id"] for field in self.objects["credential_types"][item["credential_type"]]["inputs"]["fields"]
                      if field.get("secret")}
            item["inputs"] = {key: "$encrypted$" if key in secret else value for key, value in item.get("inputs", {}).items()}
        return item

    def matches(self, obj_id: int, obj: dict, query: dict[str, str]) -> bool:
        alternatives = {key[4:]: value for key, value in query.items() if key.startswith("or__")}
        fields = dict(obj, id=obj_id)
        if alternatives and not any(str(fields.get(key)) == value for key, value in alternatives.items()):
            return False
        return all(str(fields.get(key)) == value for key, value in query.items() if not key.startswith("or__") and key != "page_size")


class FakeAWXHandler(BaseHTTPRequestHandler):
    server: FakeAWX

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: pytest shows failures."""

    def answer(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-API-Product-Name", "AWX")
        self.send_header("X-API-Product-Version", "24.6.1")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # pylint: disable=invalid-name
        self.handle_request("GET")

    def do_POST(self):  # pylint: disable=invalid-name
        self.handle_request("POST")

    def do_PATCH(self):  # pylint: disable=invalid-name
        self.handle_request("PATCH")

    def handle_request(self, method: str) -> None:
        if self.headers.get("Authorization") != f"Bearer {AWX_TOKEN}":
            self.answer(401, {"detail": "Authentication credentials were not provided."})
            return
        parts = urlsplit(self.path)
        segments = [segment for segment in parts.path.split("/") if segment][2:]  # after api/v2
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if method != "GET":
            self.server.writes.append((method, parts.path))
        resource = segments[0] if segments else ""
        if resource not in RESOURCES:
            self.answer(404, {"detail": "Not found."})
        elif len(segments) == 1 and method == "GET":
            query = dict(parse_qsl(parts.query))
            results = [self.server.render(resource, i) for i, obj in self.server.objects[resource].items() if self.server.matches(i, obj, query)]
            self.answer(200, {"count": len(results), "next": None, "previous": None, "results": results})
        elif len(segments) == 1 and method == "POST":
            self.answer(201, self.server.create(resource, body))
        elif int(segments[1]) not in self.server.objects[resource]:
            self.answer(404, {"detail": "Not found."})
        elif len(segments) == 2:
            if method == "PATCH":
                self.server.objects[resource][int(segments[1])].update(body)
            self.answer(200, self.server.render(resource, int(segments[1])))
        elif segments[2] == "survey_spec" and resource in SURVEY_ENDPOINTS:
            if method == "POST":
                self.server.surveys[int(segments[1])] = body
                self.answer(200)
            else:
                self.answer(200, self.server.surveys.get(int(segments[1]), {}))
        else:
            associated = self.server.associations.setdefault((resource, int(segments[1]), segments[2]), [])
            if method == "GET":
                self.answer(200, {"count": len(associated), "next": None, "previous": None, "results": [{"id": i} for i in associated]})
            else:
                if body.get("disassociate"):
                    associated.remove(body["id"])
                else:
                    associated.append(body["id"])
                self.answer(204)


@contextmanager
def running_awx() -> Iterator[FakeAWX]:
    server = FakeAWX()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(name="awx")
def awx_fixture() -> Iterator[FakeAWX]:
    with running_awx() as server:
        yield server


def configure(awx: FakeAWX, *args: str, **env: str):
    """Run playbooks/awx_configure.yml like an operator, with only the given RAILWAY_* variables exported."""
    variables = {"CONTROLLER_HOST": awx.url, "CONTROLLER_OAUTH_TOKEN": AWX_TOKEN, "RAILWAY_API_TOKEN": "", "RAILWAY_TOKEN": "", "RAILWAY_API_URL": ""}
    variables.update(env)
    return run_playbook("playbooks/awx_configure.yml", *args, env=variables)


SCM = ("-e", "backendops_awx_scm_url=https://git.example.com/backendops/stack.git")


# -- The configuration play --------------------------------------------------------------------------------------------

def test_awx_configure_defines_linked_objects_and_is_idempotent(awx):
    first = configure(awx, *SCM, RAILWAY_API_TOKEN="account-token-from-the-operator-shell")
    assert first.rc == 0, first.output
    assert first.recap()["changed"] > 0
    assert "account-token-from-the-operator-shell" not in first.output

    # The injectors reach AWX as written, not templated by the play.
    credential_type = awx.find("credential_types", "Railway API")
    assert credential_type["kind"] == "cloud"
    assert credential_type["injectors"] == {"env": {
        "RAILWAY_API_TOKEN": "{{ api_token }}", "RAILWAY_TOKEN": "{{ project_token }}", "RAILWAY_API_URL": "{{ api_url }}"}}
    assert {f["id"] for f in credential_type["inputs"]["fields"] if f.get("secret")} == {"api_token", "project_token"}

    # The credential holds only the inputs that were set.
    credential = awx.find("credentials", RAILWAY_CREDENTIAL)
    assert credential["credential_type"] == credential_type["id"]
    assert awx.objects["credentials"][credential["id"]]["inputs"] == {"api_token": "account-token-from-the-operator-shell"}

    project = awx.find("projects", "backendops.stack")
    assert project["scm_url"] == "https://git.example.com/backendops/stack.git" and project["scm_branch"] == "main"
    docker_hosts, railway = awx.find("inventories", "backendops Docker hosts"), awx.find("inventories", "backendops Railway")
    sources = {s["name"]: s for s in (awx.render("inventory_sources", i) for i in awx.objects["inventory_sources"])}
    assert {(s["inventory"], s["source"], s["source_project"], s["source_path"]) for s in sources.values()} == {
        (docker_hosts["id"], "scm", project["id"], "inventories/local/hosts.yml"),
        (railway["id"], "scm", project["id"], "inventories/production/hosts.yml")}

    local = awx.find("job_templates", "backendops local stack")
    assert (local["playbook"], local["inventory"], local["project"]) == ("playbooks/local.yml", docker_hosts["id"], project["id"])
    assert {q["variable"] for q in awx.surveys[local["id"]]["spec"]} == {
        "compose_stack_name", "compose_stack_mode", "compose_stack_backend_port", "compose_stack_state"}

    deploy, plan = awx.find("job_templates", "backendops Railway deploy"), awx.find("job_templates", "backendops Railway plan")
    for template in (deploy, plan):
        assert (template["playbook"], template["inventory"]) == ("playbooks/railway.yml", railway["id"])
        assert awx.associations[("job_templates", template["id"], "credentials")] == [credential["id"]]
        survey = {q["variable"]: q for q in awx.surveys[template["id"]]["spec"]}
        assert set(survey) == {"railway_environment", "railway_deploy_source", "railway_commit_sha", "railway_rollback_on_failure"}
        assert survey["railway_deploy_source"]["choices"] == ["upload", "auto", "commit", "redeploy"]
        assert survey["railway_commit_sha"]["max"] == 40
    assert (deploy["job_type"], deploy["ask_job_type_on_launch"]) == ("run", True)
    assert (plan["job_type"], plan["diff_mode"]) == ("check", True)

    # A pull request's environment: provisioned as an ephemeral copy of production, and removed without the vault.
    pr_env, pr_teardown = (awx.find("job_templates", f"backendops Railway PR {kind}") for kind in ("environment", "teardown"))
    assert (pr_env["playbook"], pr_teardown["playbook"]) == ("playbooks/railway.yml", "playbooks/railway_teardown.yml")
    assert json.loads(pr_env["extra_vars"]) == {
        "railway_provision": True, "railway_environment_source": "production", "railway_environment_ephemeral": True}
    for template in (pr_env, pr_teardown):
        assert template["inventory"] == railway["id"]
        assert awx.associations[("job_templates", template["id"], "credentials")] == [credential["id"]]
        (question,) = awx.surveys[template["id"]]["spec"]
        assert (question["variable"], question["required"], question["default"]) == ("railway_environment", True, "")

    writes = len(awx.writes)
    second = configure(awx, *SCM, RAILWAY_API_TOKEN="account-token-from-the-operator-shell")
    assert second.rc == 0, second.output
    assert second.recap()["changed"] == 0, second.output
    assert len(awx.writes) == writes, awx.writes[writes:]

    # --check on a configured AWX reports what would change and writes nothing.
    plan = configure(awx, *SCM, "-e", "backendops_awx_scm_branch=release", "--check", RAILWAY_API_TOKEN="account-token-from-the-operator-shell")
    assert plan.rc == 0, plan.output
    assert plan.recap()["changed"] == 1, plan.output
    assert len(awx.writes) == writes and awx.find("projects", "backendops.stack")["scm_branch"] == "main"


def test_awx_configure_registers_the_execution_environment(awx):
    image = "registry.example.com/backendops/stack-ee:0.1.0"
    # No token and no credential name: the Railway job templates ask for a credential at launch.
    result = configure(awx, *SCM, "-e", f"backendops_awx_ee_image={image}", "-e", "backendops_awx_railway_credential=")
    assert result.rc == 0, result.output
    ee = awx.find("execution_environments", "backendops.stack EE")
    assert ee["image"] == image
    assert {awx.render("job_templates", i)["execution_environment"] for i in awx.objects["job_templates"]} == {ee["id"]}
    assert awx.objects["credentials"] == {}
    deploy = awx.find("job_templates", "backendops Railway deploy")
    assert awx.associations[("job_templates", deploy["id"], "credentials")] == [] and deploy["ask_credential_on_launch"] is True


def test_awx_configure_uses_existing_railway_and_vault_credentials(awx):
    railway_type = awx.create("credential_types", {"name": "Railway API", "kind": "cloud", "inputs": {"fields": []}, "injectors": {}})
    vault_type = awx.create("credential_types", {"name": "Vault", "kind": "vault", "inputs": {"fields": []}, "injectors": {}})
    existing = awx.create("credentials", {"name": RAILWAY_CREDENTIAL, "credential_type": railway_type["id"], "inputs": {}})
    vault = awx.create("credentials", {"name": "backendops vault", "credential_type": vault_type["id"], "inputs": {}})
    result = configure(awx, *SCM, "-e", "backendops_awx_vault_credential='backendops vault'")
    assert result.rc == 0, result.output
    for name in ("backendops Railway deploy", "backendops Railway plan"):
        template = awx.find("job_templates", name)
        assert sorted(awx.associations[("job_templates", template["id"], "credentials")]) == sorted([existing["id"], vault["id"]])
    local = awx.find("job_templates", "backendops local stack")
    assert awx.associations[("job_templates", local["id"], "credentials")] == []


def test_awx_configure_refuses_missing_settings_before_any_change(awx):
    result = configure(awx)
    assert result.rc != 0
    assert "backendops_awx_scm_url" in result.output
    assert awx.writes == []

    both = configure(awx, *SCM, RAILWAY_API_TOKEN="a", RAILWAY_TOKEN="b")
    assert both.rc != 0 and "at most one Railway token" in both.output
    assert awx.writes == []

    no_credential = configure(awx, *SCM)
    assert no_credential.rc != 0
    assert "AWX has no credential named 'backendops Railway'" in no_credential.output
    assert awx.writes == []


# -- The credential type and the modules --------------------------------------------------------------------------------

@pytest.fixture(name="credential_type", scope="module")
def credential_type_fixture() -> dict:
    """The "Railway API" credential type as AWX receives it from playbooks/awx_configure.yml."""
    with running_awx() as server:
        result = configure(server, *SCM, "-e", "backendops_awx_railway_credential=")
        assert result.rc == 0, result.output
        credential_type = server.find("credential_types", "Railway API")
    awx_validate_injectors(credential_type)
    return credential_type


def test_unset_inputs_render_as_empty_variables(credential_type):
    assert awx_render_env(credential_type, {"project_token": "p-token"}) == {
        "RAILWAY_API_TOKEN": "", "RAILWAY_TOKEN": "p-token", "RAILWAY_API_URL": ""}
    # AWX treats an input saved as an empty string like a missing one.
    assert awx_render_env(credential_type, {"api_token": "a-token", "api_url": ""})["RAILWAY_API_URL"] == ""
    # The modules read an empty variable as unset: the project token decides, the API URL is Railway's.
    client = RailwayClient(environ=awx_render_env(credential_type, {"project_token": "p-token"}))
    assert client.api_url == DEFAULT_API_URL


def railway_info(tmp_path: Path, injected: dict[str, str], **options: str):
    """Run backendops.stack.railway_info with exactly the injected environment (no RAILWAY_* from this shell) and no
    token or URL options; returns the run and the module result."""
    result_file = tmp_path / "result.json"
    playbook = write_play(tmp_path / "railway_info.yml", [
        {"name": "Read", "backendops.stack.railway_info": options, "register": "info", "ignore_errors": True},
        {"name": "Keep the result", "ansible.builtin.copy": {"content": "{{ info | to_json }}", "dest": str(result_file), "mode": "0600"}},
    ], name="Read the Railway project with the credential's environment")
    env = {name: value for name, value in ansible_env().items() if not name.startswith("RAILWAY_")}
    env.update(injected)
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(playbook)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, json.loads(result_file.read_text(encoding="utf-8"))


@pytest.mark.parametrize("token_kind", ["account", "project"])
def test_railway_module_authenticates_with_the_injected_environment(credential_type, emulator, tmp_path, token_kind):
    if token_kind == "account":
        inputs, options = {"api_token": emulator.account_token, "api_url": emulator.url}, {"project": "backendops-demo", "environment": "production"}
    else:
        inputs, options = {"project_token": emulator.project_token, "api_url": emulator.url}, {}
    injected = awx_render_env(credential_type, inputs)
    assert injected[{"account": "RAILWAY_TOKEN", "project": "RAILWAY_API_TOKEN"}[token_kind]] == ""

    proc, result = railway_info(tmp_path, injected, **options)
    assert not result.get("failed"), result
    assert result["project"]["name"] == "backendops-demo"
    assert result["environment"]["name"] == "production"
    assert "backend" in {service["name"] for service in result["services"]}
    assert inputs.get("api_token", inputs.get("project_token")) not in proc.stdout + proc.stderr


def test_railway_module_rejects_a_wrong_injected_token(credential_type, emulator, tmp_path):
    injected = awx_render_env(credential_type, {"api_token": "not-a-railway-token", "api_url": emulator.url})
    proc, result = railway_info(tmp_path, injected, project="backendops-demo")
    assert result["failed"] is True
    assert "Not Authorized" in result["msg"]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "not-a-railway-token" not in proc.stdout + proc.stderr


def test_both_tokens_in_one_credential_fail_clearly(credential_type, emulator, tmp_path):
    injected = awx_render_env(credential_type, {"api_token": emulator.account_token, "project_token": emulator.project_token,
                                                "api_url": emulator.url})
    result = railway_info(tmp_path, injected, project="backendops-demo")[1]
    assert result["failed"] is True
    assert "RAILWAY_API_TOKEN" in result["msg"] and "RAILWAY_TOKEN" in result["msg"]


# -- The local stack's job template on a Docker host over SSH -----------------------------------------------------------

MACHINE_CREDENTIAL = "backendops Docker host"


def launch(awx: FakeAWX, name: str, workdir: Path, answers: dict, env: dict[str, str]):
    """Run a job template's playbook as AWX launches it: the inventory from its source, the Machine credential's user
    and key on the command line, become and diff as the template says, the survey's defaults under the answers."""
    template = awx.find("job_templates", name)
    (source,) = [awx.render("inventory_sources", i) for i, obj in awx.objects["inventory_sources"].items()
                 if obj["inventory"] == template["inventory"]]
    args = ["-i", source["source_path"]]
    for credential_id in awx.associations.get(("job_templates", template["id"], "credentials"), []):
        credential = awx.objects["credentials"][credential_id]
        if awx.objects["credential_types"][credential["credential_type"]]["kind"] == "ssh":
            key = workdir / "machine_credential_key"
            key.write_text(credential["inputs"]["ssh_key_data"], encoding="utf-8")
            key.chmod(0o600)
            args += ["-u", credential["inputs"]["username"], "--private-key", str(key)]
    args += ["--become"] if template["become_enabled"] else []
    args += ["--diff"] if template["diff_mode"] else []
    extra = {question["variable"]: question["default"] for question in awx.surveys[template["id"]]["spec"]} | answers
    return run_playbook(template["playbook"], *args, "-e", json.dumps(extra), env=env)


def test_local_stack_job_template_runs_on_an_ssh_docker_host(awx, ssh_stack, tmp_path):
    machine = awx.create("credential_types", {"name": "Machine", "kind": "ssh", "injectors": {}, "inputs": {"fields": [
        {"id": "username"}, {"id": "ssh_key_data", "secret": True}]}})
    credential = awx.create("credentials", {"name": MACHINE_CREDENTIAL, "credential_type": machine["id"], "inputs": {
        "username": ssh_stack.host.user, "ssh_key_data": ssh_stack.host.key.read_text(encoding="utf-8")}})
    # The project's inventory file lists the SSH host under docker_hosts, as inventories/local/hosts.yml shows how.
    inventory = ssh_stack.host.inventory(tmp_path / "docker_hosts.yml", with_credential=False)
    result = configure(awx, *SCM, "-e", f"backendops_awx_docker_host_credential='{MACHINE_CREDENTIAL}'",
                       "-e", f"backendops_awx_docker_hosts_source={inventory}", "-e", "backendops_awx_railway_credential=")
    assert result.rc == 0, result.output
    local = awx.find("job_templates", "backendops local stack")
    assert awx.associations[("job_templates", local["id"], "credentials")] == [credential["id"]]
    assert local["become_enabled"] is False

    # Survey answers for this stack; the source and image name as variables given at launch.
    answers = ssh_stack.extra_vars()
    job = launch(awx, "backendops local stack", tmp_path, answers, ssh_stack.host.env)
    assert job.rc == 0, job.output[-4000:]
    assert f"Stack {ssh_stack.name} (prod) is healthy" in job.stdout, job.output[-3000:]
    assert ssh_stack.secrets_file.stat().st_uid == ssh_stack.host.home.stat().st_uid
    assert not any(value in job.output for value in ssh_stack.secrets().values())
