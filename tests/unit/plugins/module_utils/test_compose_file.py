# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The local stack's files rendered in Python and its plan: what differs -> what is written and started."""
from __future__ import annotations

import os
import stat

import yaml

from ansible_collections.backendops.stack.plugins.module_utils import compose_file, dotenv, local_stack

PROFILE = {"port": 3000, "services": {"postgres": True, "redis": True}, "migrate_command": "prisma migrate deploy",
           "source_dir": "/src/app", "source_roots": ["src", "prisma"],
           "health": {"path": "/api/health", "details": None},
           "contract": [{"name": "JWT_SECRET", "secret": True, "generate": True, "required": True, "description": "Signs tokens."},
                        {"name": "LOG_LEVEL", "description": None, "required": False}]}


def spec(**changes):
    secrets = {"JWT_SECRET": "jwt-$ecret", "DATABASE_URL": "postgresql://app:pw@postgres:5432/app"}
    values = dict(secrets, LOG_LEVEL="info", GREETING="costs $5")
    names = sorted(secrets)
    base = dict(name="unit", project_name="backendops-unit", mode="prod", profile=PROFILE, bind_address="127.0.0.1",
                backend_port=3100, postgres_port=None, redis_port=None, db_user="app", db_name="app",
                backend_image="backend:prod", migrate_image="backend:build", postgres_image="postgres:15", redis_image="redis:7",
                entrypoint=["docker-entrypoint.sh"], command=["node", "server.js"], workdir="/app", health_path="/api/health",
                secret_names=names, settings={k: v for k, v in values.items() if k not in names},
                secret_files=compose_file.secret_files(names, values, {"POSTGRES_PASSWORD": "pg-pw"}, True))
    base.update(changes)
    return base


def rendered(**changes):
    return yaml.safe_load(compose_file.compose_text(spec(**changes)))


def test_secrets_are_files_in_run_secrets_and_never_environment():
    text = compose_file.compose_text(spec())
    for secret in ("jwt-", "pg-pw", "postgres://app:pw"):
        assert secret not in text
    compose = yaml.safe_load(text)
    backend = compose["services"]["backend"]
    assert backend["secrets"] == [{"source": "BACKEND__DATABASE_URL", "target": "DATABASE_URL"},
                                  {"source": "BACKEND__JWT_SECRET", "target": "JWT_SECRET"}]
    assert set(backend["environment"]) == {"GREETING", "LOG_LEVEL"}
    # Compose interpolates $ in compose.yaml: a literal value is escaped.
    assert backend["environment"]["GREETING"] == "costs $$5"
    assert compose["secrets"] == {name: {"environment": name} for name in
                                  ("BACKEND__DATABASE_URL", "BACKEND__JWT_SECRET", "POSTGRES__POSTGRES_PASSWORD")}
    postgres = compose["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/POSTGRES_PASSWORD"
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    # The backend's entrypoint exports the secret files, then runs the image's own entrypoint and command.
    assert backend["entrypoint"][:2] == ["sh", "-c"] and backend["entrypoint"][3:] == ["backendops-load-secrets",
                                                                                       "docker-entrypoint.sh"]
    assert backend["command"] == ["node", "server.js"]


def test_a_changed_secret_changes_the_digest_label_and_nothing_gives_it_away():
    label = compose_file.SECRETS_DIGEST_LABEL
    before = rendered()["services"]["backend"]["labels"][label]
    changed = spec()
    changed["secret_files"] = dict(changed["secret_files"], BACKEND__JWT_SECRET="rotated")
    after = yaml.safe_load(compose_file.compose_text(changed))["services"]["backend"]["labels"][label]
    assert before != after and len(after) == 64
    assert rendered()["services"]["migrate"]["labels"][label] == before


def test_migrate_is_a_one_shot_from_the_build_stage_before_the_backend():
    compose = rendered()
    migrate, backend = compose["services"]["migrate"], compose["services"]["backend"]
    assert migrate["image"] == "backend:build" and migrate["restart"] == "no"
    assert migrate["command"][-1].endswith("exec prisma migrate deploy")
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert backend["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert backend["depends_on"]["redis"] == {"condition": "service_healthy"}
    # Without a migrate image the backend's image runs it; without a migrate command there is no migrate service.
    assert rendered(migrate_image="")["services"]["migrate"]["image"] == "backend:prod"
    bare = rendered(profile=dict(PROFILE, migrate_command=None))
    assert "migrate" not in bare["services"] and "migrate" not in bare["services"]["backend"]["depends_on"]


def test_health_checks_volumes_network_and_ports():
    compose = rendered(postgres_port=5433, bind_address="0.0.0.0")
    backend = compose["services"]["backend"]
    assert "fetch('http://127.0.0.1:3000/api/health')" in backend["healthcheck"]["test"][-1]
    assert backend["ports"] == ["0.0.0.0:3100:3000"]
    assert compose["services"]["postgres"]["ports"] == ["0.0.0.0:5433:5432"]
    assert "ports" not in compose["services"]["redis"]
    assert compose["networks"] == {"backend": {}} and compose["volumes"] == {"pgdata": {}, "redisdata": {}}
    assert all(service["networks"] == ["backend"] for service in compose["services"].values())
    probe = rendered(health_path="")["services"]["backend"]["healthcheck"]["test"][-1]
    # Without a path, any HTTP answer: a port that only accepts connections is not an app that serves.
    assert "fetch('http://127.0.0.1:3000/').then(() => process.exit(0)" in probe


def test_dev_mode_bind_mounts_the_source_roots():
    assert "volumes" not in rendered()["services"]["backend"]
    assert rendered(mode="dev")["services"]["backend"]["volumes"] == ["/src/app/src:/app/src:ro", "/src/app/prisma:/app/prisma:ro"]


def test_an_app_without_services_gets_no_postgres_redis_or_volumes():
    compose = rendered(profile=dict(PROFILE, services={"postgres": False, "redis": False}),
                       secret_files={"BACKEND__JWT_SECRET": "x"}, secret_names=["JWT_SECRET"])
    assert set(compose["services"]) == {"migrate", "backend", "task"}
    assert "volumes" not in compose and "depends_on" not in compose["services"]["migrate"]
    assert compose["services"]["backend"]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}


def test_the_example_file_shows_secrets_as_placeholders():
    text = compose_file.example_text(spec())
    assert "# Signs tokens. (required) (generated once, kept across runs)\nJWT_SECRET=<secret>\n" in text
    assert "# LOG_LEVEL\nLOG_LEVEL=info\n" in text and "jwt-" not in text


def test_only_files_that_differ_are_planned_and_written(tmp_path):
    wanted = {compose_file.COMPOSE_FILE: ("a: 1\n", 0o644), compose_file.SECRETS_FILE: ("X=1\n", 0o600)}
    planned = [name for name, _before in compose_file.plan_files(str(tmp_path), wanted)]
    assert planned == [compose_file.COMPOSE_FILE, compose_file.SECRETS_FILE]
    for name, (text, mode) in wanted.items():
        compose_file.write_file(str(tmp_path / name), text, mode)
    assert stat.S_IMODE(os.stat(tmp_path / ".env").st_mode) == 0o600
    assert compose_file.plan_files(str(tmp_path), wanted) == []
    os.chmod(tmp_path / ".env", 0o644)  # a wrong mode is a difference too
    assert compose_file.plan_files(str(tmp_path), wanted) == [(compose_file.SECRETS_FILE, "X=1\n")]
    wanted[compose_file.COMPOSE_FILE] = ("a: 2\n", 0o644)
    assert compose_file.plan_files(str(tmp_path), wanted)[0] == (compose_file.COMPOSE_FILE, "a: 1\n")


def test_the_secrets_diff_masks_every_value_and_marks_the_changed_ones():
    before, after = compose_file.secrets_diff("A=old\nB=same\n", {"A": "new", "B": "same", "C": "added"})
    assert before == "A=********\nB=********\n"
    assert after == "A=******** (changed)\nB=********\nC=******** (changed)\n"
    assert "old" not in before + after and "new" not in after


def test_the_secrets_file_round_trips_and_previous_secrets_are_read_back(tmp_path):
    text = compose_file.secrets_text(spec())
    assert dotenv.parse(text)["BACKEND__JWT_SECRET"] == "jwt-$ecret"
    (tmp_path / ".env").write_text(text)
    previous = local_stack.read_previous_secrets(str(tmp_path))
    assert previous["POSTGRES_PASSWORD"] == "pg-pw" and previous["JWT_SECRET"] == "jwt-$ecret"


def container(service, config_hash, image="sha256:b", running=True, status="running", exit_code=0, health=None):
    state = {"Running": running, "Status": status, "ExitCode": exit_code}
    if health:
        state["Health"] = {"Status": health}
    return {"Config": {"Labels": {"com.docker.compose.service": service, "com.docker.compose.config-hash": config_hash}},
            "Image": image, "State": state}


HASHES = {"backend": "h1", "migrate": "h2"}
IMAGES = {"backend": "sha256:b", "migrate": "sha256:b"}


def up_to_date():
    return [container("backend", "h1"), container("migrate", "h2", running=False, status="exited")]


def test_a_stack_that_matches_plans_nothing():
    assert compose_file.plan_services(HASHES, up_to_date(), IMAGES) == []


def test_each_difference_is_a_reason_to_run_compose_up():
    assert compose_file.plan_services(HASHES, [], IMAGES) == [("backend", "no container yet"), ("migrate", "no container yet")]
    changed = up_to_date()
    changed[0] = container("backend", "other")
    assert compose_file.plan_services(HASHES, changed, IMAGES) == [("backend", "configuration changed")]
    assert compose_file.plan_services(HASHES, up_to_date(), dict(IMAGES, backend="sha256:new")) == [("backend", "image changed")]
    stopped = up_to_date()
    stopped[0] = container("backend", "h1", running=False, status="exited")
    assert compose_file.plan_services(HASHES, stopped, IMAGES) == [("backend", "not running")]
    failed = up_to_date()
    failed[1] = container("migrate", "h2", running=False, status="exited", exit_code=1)
    assert compose_file.plan_services(HASHES, failed, IMAGES) == [("migrate", "not run to completion")]
    orphan = up_to_date() + [container("worker", "h9")]
    assert compose_file.plan_services(HASHES, orphan, IMAGES) == [("worker", "orphan container to remove")]
    sick = up_to_date()
    sick[0] = container("backend", "h1", health="unhealthy")
    assert compose_file.plan_services(HASHES, sick, IMAGES) == [("backend", "unhealthy")]


def test_re_running_the_migrate_one_shot_alone_is_no_change():
    assert not compose_file.is_change([("migrate", "not run to completion"), ("migrate", "no container yet")])
    assert compose_file.is_change([("migrate", "configuration changed")])
    assert compose_file.is_change([("backend", "not running")])
    assert not compose_file.is_change([])


def test_workers_run_the_backends_image_and_secrets_without_its_port_or_health_check():
    processes = [{"name": "worker", "command": "node dist/worker.js", "kind": "worker", "schedule": None,
                  "health_command": None},
                 {"name": "report", "command": "node dist/report.js", "kind": "cron", "schedule": "*/15 * * * *",
                  "health_command": None}]
    compose = rendered(profile=dict(PROFILE, processes=processes))
    backend, worker, report = (compose["services"][name] for name in ("backend", "worker", "report"))
    assert worker["image"] == backend["image"] and worker["secrets"] == backend["secrets"]
    assert worker["environment"] == backend["environment"] and worker["depends_on"] == backend["depends_on"]
    assert worker["command"] == ["sh", "-c", "exec node dist/worker.js"]
    assert "ports" not in worker and worker["healthcheck"]["test"] == ["CMD-SHELL", "kill -0 1"] and worker["restart"] == "unless-stopped"
    # A cron job does not start with the stack; `docker compose run --rm report` runs it.
    assert report["profiles"] == ["cron"] and report["restart"] == "no"
    dev = rendered(mode="dev", profile=dict(PROFILE, processes=processes))["services"]["worker"]
    assert dev["command"] == ["sh", "-c", "exec node --watch dist/worker.js"] and dev["volumes"]


def test_one_off_commands_run_in_the_build_image_with_the_stacks_secrets():
    task = rendered()["services"]["task"]
    assert task["image"] == rendered()["services"]["migrate"]["image"] and task["profiles"] == ["task"]
    assert task["secrets"] == rendered()["services"]["backend"]["secrets"] and "command" not in task


def test_the_services_started_after_the_migration_leave_out_migrate_and_the_on_demand_ones():
    profile = dict(PROFILE, processes=[{"name": "worker", "kind": "worker", "command": "node worker.js"},
                                       {"name": "nightly", "kind": "cron", "command": "node nightly.js"}])
    services = compose_file.compose_definition(spec(profile=profile))["services"]
    assert sorted(compose_file.started_services(services)) == ["backend", "postgres", "redis", "worker"]
