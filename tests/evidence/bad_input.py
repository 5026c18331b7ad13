# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Malformed values for every role and module: each must fail before it changes anything, naming the value.

Roles run one playbook per case with the bad value as an extra var and every work directory pointed into a
sandbox, so "changed nothing" means: the play recap says changed=0, the sandbox stays empty and no container of
the stack exists. Modules run all their cases in one playbook (each task rescued), with one directory per case
that must stay empty and the Railway emulator's counters read around every task: no request may reach it.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence.fault_matrix import connection
from evidence.rows import Row
from evidence.runs import last_failure, run_json, run_tasks, shows_traceback
from support import REPO_ROOT, docker, free_port, stack_containers

from ansible_collections.backendops.stack.plugins.module_utils.app_profile import detect

# Secret values given as bad input: they must be refused without being shown.
SHORT_JWT_SECRET = "evidence-short-jwt"
# Unique per process, so that a report and a test run on one host do not share a stack or image.
EVIDENCE_STACK = f"evidence-badinput-{os.getpid()}"
EVIDENCE_IMAGE = f"backendops/{EVIDENCE_STACK}"
# The modules check the sample backend's contract, as the roles pass it from its profile.
SAMPLE_CONTRACT = detect(str(REPO_ROOT / "examples" / "backend"))["contract"]


@dataclass(frozen=True)
class BadInput:
    """One malformed value for one role or module option."""

    key: str
    target: str
    kind: str
    option: str
    value: Any
    # Texts the failure must contain: the option's name and, unless the value is secret, the value.
    named: tuple[str, ...]
    # Values that must not appear in any output.
    hidden: tuple[str, ...] = ()
    # Module cases: the task's other options.
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        shown = "(secret)" if self.hidden else json.dumps(self.value)
        return f"{self.target}: {self.option}={shown} ({self.kind})"


def named_by_default(option: str, value: Any, hidden: tuple[str, ...]) -> tuple[str, ...]:
    """The option's name, and a non-secret text value (a state, name, URL or path is quoted so it can be found)."""
    name = option.split(".")[-1]
    return (name, value) if isinstance(value, str) and value and not hidden else (name,)


def role_case(key, target, kind, option, value, *named, hidden=()):
    return BadInput(key, target, kind, option, value, named or named_by_default(option, value, hidden), hidden)


def env_case(key, kind, name, value, *named, hidden=()):
    """A bad value in compose_stack_env (the app's environment), through playbooks/local.yml."""
    return role_case(key, "playbooks/local.yml", kind, f"compose_stack_env.{name}", value, *named, hidden=hidden)


ROLE_CASES = (
    role_case("stack-state", "playbooks/local.yml", "unknown state", "compose_stack_state", "running"),
    role_case("stack-port-type", "playbooks/local.yml", "wrong type", "compose_stack_backend_port", "http"),
    role_case("stack-port-range", "playbooks/local.yml", "out of range", "compose_stack_backend_port", 70000),
    role_case("stack-name", "playbooks/local.yml", "bad name", "compose_stack_name", "Bad Name"),
    role_case("stack-mode", "playbooks/local.yml", "unknown state", "compose_stack_mode", "staging"),
    role_case("stack-env-type", "playbooks/local.yml", "wrong type", "compose_stack_env", ["SUPABASE_URL"],
              "compose_stack_env", "dict"),
    role_case("stack-timeout-type", "playbooks/local.yml", "wrong type", "compose_stack_wait_timeout", "soon"),
    env_case("env-url", "bad URL", "SUPABASE_URL", "ftp://project-ref.supabase.co"),
    env_case("env-database-url", "bad URL", "DATABASE_URL", "mysql://app@db/app", "DATABASE_URL", "postgres"),
    env_case("env-empty-secret", "empty secret", "SUPABASE_ANON_KEY", "", "SUPABASE_ANON_KEY"),
    env_case("env-short-secret", "weak secret", "JWT_SECRET", SHORT_JWT_SECRET, "JWT_SECRET", "at least 32",
             hidden=(SHORT_JWT_SECRET,)),
    env_case("env-bad-name", "bad name", "lower-case", "x", "lower-case"),
    role_case("image-target", "role app_image", "unknown state", "app_image_target", "staging"),
    role_case("image-port-type", "role app_image", "wrong type", "app_image_profile_overrides", {"port": "http"}, "port", "http"),
    role_case("image-name", "role app_image", "bad name", "app_image_name", "Bad Name"),
    role_case("image-source", "role app_image", "bad path", "app_image_source_dir", "/nonexistent/evidence-app"),
    role_case("image-base", "role app_image", "bad name", "app_image_base_image", "no-such-image:evidence"),
    role_case("base-source", "role base_images", "unknown state", "base_images_source", "docker-hub"),
    role_case("base-timeout-type", "role base_images", "wrong type", "base_images_pull_timeout", "slow"),
    role_case("base-mirror", "role base_images", "bad URL", "base_images_debian_mirror", "not a url"),
    role_case("base-node-major", "role base_images", "out of range", "base_images_node_majors", [24, 18]),
    role_case("base-npm-registry", "role base_images", "bad URL", "base_images_npm_registry", "not a url"),
    role_case("engine-manager", "role docker_engine", "unknown state", "docker_engine_service_manager", "upstart"),
    role_case("engine-timeout-type", "role docker_engine", "wrong type", "docker_engine_start_timeout", "soon"),
    # The module docker_engine checks the URL and names its own option, apt_mirror (the role passes the variable on).
    role_case("engine-mirror", "role docker_engine", "bad URL", "docker_engine_apt_mirror", "not a url", "apt_mirror",
              "not a url"),
)


def module_case(key, module, kind, option, value, args, *named, hidden=()):
    return BadInput(key, f"module {module}", kind, option, value, named or named_by_default(option, value, hidden),
                    hidden, args)


ENV = {"NODE_ENV": "production", "PORT": 3000, "DATABASE_URL": "postgresql://app:pw@db:5432/app",
       "REDIS_URL": "redis://redis:6379", "SUPABASE_URL": "https://x.supabase.co", "SUPABASE_ANON_KEY": "anon-evidence",
       "JWT_SECRET": "j" * 40, "HEALTH_TOKEN": "h" * 20}
DEPLOY = {"service": "backend", "poll_interval": 0.2, "wait_timeout": 30}
MODULE_CASES = (
    module_case("env_file-type", "env_file", "wrong type", "variables", ["NODE_ENV"], {}, "variables", "dict"),
    module_case("env_file-name", "env_file", "bad name", "variables", {"lower-case": "x"}, {}, "lower-case"),
    module_case("env_file-empty-secret", "env_file", "empty secret", "variables.SUPABASE_ANON_KEY", "", {},
                "SUPABASE_ANON_KEY"),
    module_case("env_file-url", "env_file", "bad URL", "variables.SUPABASE_URL", "supabase.example.com", {}),
    module_case("env_file-mode", "env_file", "bad mode", "mode", "0999", {}),
    module_case("env_file-owner", "env_file", "bad name", "owner", "no-such-user-evidence", {}),
    module_case("env_contract-type", "env_contract", "wrong type", "variables.PORT", "http", {}),
    module_case("env_contract-state", "env_contract", "unknown state", "variables.NODE_ENV", "staging", {}),
    module_case("digest-path", "build_context_digest", "bad path", "path", "/nonexistent/evidence-context", {}),
    module_case("digest-dockerfile", "build_context_digest", "bad path", "dockerfile", "no/such/Dockerfile", {}),
    module_case("info-url", "railway_info", "bad URL", "api_url", "ftp://backboard.railway.com/graphql/v2", {}),
    module_case("info-values", "railway_info", "unknown state", "variable_values", "all", {}),
    module_case("info-history-type", "railway_info", "wrong type", "deployment_history", "many", {}),
    module_case("info-empty-token", "railway_info", "empty secret", "api_token", "", {}, "api_token"),
    module_case("variables-state", "railway_variables", "unknown state", "state", "gone", {"service": "backend"}),
    module_case("variables-type", "railway_variables", "wrong type", "variables", ["A"], {"service": "backend"},
                "variables", "dict"),
    module_case("variables-name", "railway_variables", "bad name", "variables", {"bad name": "x"}, {"service": "backend"},
                "bad name"),
    module_case("variables-empty-token", "railway_variables", "empty secret", "project_token", "",
                {"service": "backend", "variables": {"A": "1"}, "api_token": None}, "project_token"),
    module_case("service-path", "railway_service", "bad path", "healthcheck_path", "health", {"service": "backend"}),
    module_case("service-policy", "railway_service", "unknown state", "restart_policy", "SOMETIMES", {"service": "backend"}),
    module_case("service-replicas", "railway_service", "out of range", "replicas", -1, {"service": "backend"}),
    module_case("service-timeout-type", "railway_service", "wrong type", "healthcheck_timeout", "soon", {"service": "backend"}),
    module_case("service-name", "railway_service", "empty name", "service", "", {}, "service", "empty"),
    module_case("service-domain-port", "railway_service", "out of range", "domain_port", 70000, {"service": "backend", "state": "present"}),
    module_case("service-volume-path", "railway_service", "bad path", "volume_mount_path", "data", {"service": "backend", "state": "present"}),
    module_case("service-cron", "railway_service", "out of range", "cron_schedule", "*/2 * * * *", {"service": "backend"}),
    module_case("environment-name", "railway_environment", "empty name", "environment", "", {}, "environment", "empty"),
    module_case("environment-state", "railway_environment", "unknown state", "state", "gone", {"environment": "pr-1"}),
    module_case("database-kind", "railway_database", "unknown state", "kind", "mysql", {}),
    module_case("deploy-source", "railway_deploy", "unknown state", "source", "git", DEPLOY),
    module_case("deploy-commit", "railway_deploy", "bad name", "commit", "abc", {**DEPLOY, "source": "commit"}),
    module_case("deploy-path", "railway_deploy", "bad path", "path", "/nonexistent/evidence-app", {**DEPLOY, "source": "upload"}),
    module_case("deploy-timeout", "railway_deploy", "out of range", "wait_timeout", -1, DEPLOY),
    module_case("deploy-poll", "railway_deploy", "out of range", "poll_interval", 0, DEPLOY),
)


@dataclass
class BadInputRow:
    """What one case produced."""

    case: BadInput
    failed: bool
    message: str
    changed: list[str]
    traceback: bool
    shown: list[str]

    @property
    def missing_names(self) -> list[str]:
        return [text for text in self.case.named if text not in self.message]

    @property
    def ok(self) -> bool:
        return self.failed and not self.changed and not self.traceback and not self.shown and not self.missing_names

    def as_row(self) -> Row:
        if not self.failed:
            figure = "accepted"
        else:
            figure = "failed, " + ("names the value" if not self.missing_names else "does not name " + ", ".join(self.missing_names))
        figure += f"; {len(self.changed)} change(s)"
        problems = [f"changed: {what}" for what in self.changed]
        problems += ["a Python traceback appeared"] if self.traceback else []
        problems += [f"secret value shown: {value}" for value in self.shown]
        detail = "; ".join(problems + ([f"msg: {self.message}"] if self.message else []))
        return Row("bad input", self.case.label, figure, "fails first, names it, 0 changes", self.ok,
                   "" if self.ok else detail)


def node_base_image() -> str:
    """The Node.js image backendops.stack.base_images left on this host, so app_image cases get past that check."""
    listing = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=backendops/node", check=False)
    return next(iter(listing.stdout.split()), "node:20-alpine")


def _summary(what: str, entries: list[str], shown: int = 4) -> list[str]:
    """At most one line per kind of change: the first few entries and how many more."""
    if not entries:
        return []
    more = f" and {len(entries) - shown} more" if len(entries) > shown else ""
    return [f"{what} {', '.join(entries[:shown])}{more}"]


def _sandbox_entries(sandbox: Path) -> list[str]:
    return sorted(str(path.relative_to(sandbox)) for path in sandbox.rglob("*"))


def _role_playbook(case: BadInput, sandbox: Path) -> Path:
    if case.target == "playbooks/local.yml":
        return REPO_ROOT / "playbooks/local.yml"
    role = case.target.split()[-1]
    path = sandbox.parent / f"{sandbox.name}.yml"
    path.write_text(f"- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: backendops.stack.{role}\n",
                    encoding="utf-8")
    return path


def _role_vars(case: BadInput, sandbox: Path) -> dict[str, Any]:
    values = {
        "compose_stack_name": EVIDENCE_STACK, "compose_stack_backend_port": free_port(),
        "compose_stack_project_dir": str(sandbox / "stack"), "app_image_work_dir": str(sandbox / "app-image"),
        "app_image_name": EVIDENCE_IMAGE, "base_images_work_dir": str(sandbox / "base-images"),
        "docker_engine_work_dir": str(sandbox / "docker-engine"), "app_image_base_image": node_base_image(),
    }
    if case.option.startswith("compose_stack_env."):
        env = {"SUPABASE_URL": "https://project-ref.supabase.co", "SUPABASE_ANON_KEY": "anon-evidence"}
        env[case.option.split(".", 1)[1]] = case.value
        values["compose_stack_env"] = env
    else:
        values[case.option] = case.value
    return values


def run_role_case(case: BadInput, workdir: Path) -> BadInputRow:
    """One role case in its own sandbox; whatever it created is removed again afterwards."""
    sandbox = workdir / f"bad-{case.key}"
    sandbox.mkdir(parents=True)
    variables = _role_vars(case, sandbox)
    try:
        outcome = run_json(_role_playbook(case, sandbox), "-e", json.dumps(variables), timeout=1200)
        stats = json.loads(outcome.run.stdout)["stats"].get("localhost", {})
        changed = [f"{stats['changed']} task(s) reported changed"] if stats.get("changed") else []
        changed += _summary("wrote", _sandbox_entries(sandbox))
        changed += _summary("container", stack_containers(str(variables["compose_stack_name"]), check=False))
        return BadInputRow(case, outcome.run.rc != 0, last_failure(outcome.results), changed,
                           shows_traceback(outcome.run, *outcome.results),
                           [value for value in case.hidden if value in outcome.run.output])
    finally:
        stack = sandbox / "stack"
        if (stack / "compose.yaml").exists():
            docker("compose", "--project-directory", str(stack), "down", "--volumes", "--remove-orphans", check=False)
        images = docker("image", "ls", "--quiet", "--filter", f"reference={EVIDENCE_IMAGE}", check=False).stdout.split()
        if images:
            docker("image", "rm", "--force", *sorted(set(images)), check=False)
        shutil.rmtree(sandbox, ignore_errors=True)


def _module_task(case: BadInput, directory: Path) -> dict[str, Any]:
    module = case.target.split()[-1]
    if module == "env_file":
        variables = dict(ENV)
        args = {"path": str(directory / "app.env"), "variables": variables, "contract": SAMPLE_CONTRACT}
    elif module == "env_contract":
        variables = dict(ENV)
        args = {"variables": variables, "contract": SAMPLE_CONTRACT}
    elif module == "build_context_digest":
        (directory / "context").mkdir()
        args = {"path": str(directory / "context")}
        variables = None
    else:
        args, variables = {}, None
    args.update(case.args)
    if case.option.startswith("variables."):
        variables[case.option.split(".", 1)[1]] = case.value
    else:
        args[case.option] = case.value
    return {"name": f"case {case.key}", "block": [{"name": f"run {case.key}", f"backendops.stack.{module}": args}],
            "rescue": [{"name": f"rescued {case.key}", "ansible.builtin.debug": {"msg": "failed as it should"}}]}


def run_module_cases(emulator, workdir: Path, cases=MODULE_CASES) -> list[BadInputRow]:
    """All module cases in one playbook; the emulator's counters are reset before and read after each task."""
    directories = {}
    tasks = []
    for case in cases:
        directories[case.key] = workdir / f"bad-{case.key}"
        directories[case.key].mkdir(parents=True)
        reset = {"url": emulator.admin_url + "/counters/reset", "method": "POST"}
        read = {"url": emulator.admin_url + "/counters", "return_content": True}
        tasks += [{"name": f"reset {case.key}", "ansible.builtin.uri": reset},
                  _module_task(case, directories[case.key]),
                  {"name": f"counters {case.key}", "ansible.builtin.uri": read}]
    outcome = run_tasks(workdir / "bad-modules.yml", tasks, module_defaults=connection(emulator))
    by_name = outcome.by_name()
    rows = []
    for case in cases:
        result = by_name.get(f"run {case.key}", {"failed": False, "msg": "the task did not run"})
        counters = by_name.get(f"counters {case.key}", {}).get("json", {})
        changed = ["reported changed"] if result.get("changed") else []
        # Reads that resolve names change nothing; mutations and uploads do.
        changed += [f"{counters[kind]} {kind} sent to Railway" for kind in ("mutations", "uploads") if counters.get(kind)]
        directory = directories[case.key]
        changed += _summary("wrote", [entry for entry in _sandbox_entries(directory) if entry != "context"])
        text = json.dumps(result)
        rows.append(BadInputRow(case, bool(result.get("failed")), str(result.get("msg", "")), changed,
                                shows_traceback(outcome.run, result),
                                [value for value in case.hidden if value in text]))
    return rows


def bad_input_rows(emulator, workdir: Path) -> list[Row]:
    rows = [run_role_case(case, workdir).as_row() for case in ROLE_CASES]
    return rows + [row.as_row() for row in run_module_cases(emulator, workdir)]
