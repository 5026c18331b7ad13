# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The local stack's files and plan: compose.yaml, .env and .env.docker.example rendered in Python, and what
differs between them and the project directory or between the rendered services and the running containers.

Pure Python (no Docker calls), used by the local_stack module; the module reads the engine and acts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

from ansible_collections.backendops.stack.plugins.module_utils import dotenv, local_stack
from ansible_collections.backendops.stack.plugins.module_utils.app_dockerfile import health_probe
from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import masked_lines

COMPOSE_FILE = "compose.yaml"
SECRETS_FILE = local_stack.SECRETS_FILE
EXAMPLE_FILE = ".env.docker.example"
MIGRATE = "migrate"
# The service one-off commands run in, and the Compose profiles that keep it and cron jobs from starting with the stack.
TASK = "task"
TASK_PROFILE = "task"
MANAGED = "# Managed by backendops.stack (local_stack module); local changes are overwritten."
SECRETS_DIGEST_LABEL = "backendops.stack/secrets-digest"

# The backend's entrypoint exports every file in /run/secrets as the variable it names, then runs the image's own
# entrypoint and command; a secret it cannot read (Compose 2.34.x copies them with mode 0440) stops it with a
# message rather than an empty value. `$$` is Compose's escape of `$`.
LOAD_SECRETS = (
    'for secret in /run/secrets/*; do if [ -f "$$secret" ]; then '
    'value=$$(cat "$$secret") || { echo "cannot read $$secret: Compose 2.20 or later gives secrets mode 0444" >&2; exit 1; }; '
    'export "$${secret##*/}=$$value"; fi; done;'
)


def escape(value):
    """A value Compose reads literally: it interpolates $NAME in compose.yaml."""
    return str(value).replace("$", "$$")


# ---- compose.yaml ----

def _scalar(value):
    # JSON scalars are YAML scalars; quoting every string keeps "yes", "no" or "0644" strings.
    return json.dumps(value)


def _is_flow(value):
    return isinstance(value, list) and all(not isinstance(item, (dict, list)) for item in value)


def to_yaml(value, indent=0):
    """Block-style YAML for mappings and lists of mappings, flow style for lists of scalars (no PyYAML on the host)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append("%s%s:" % (pad, key))
                lines.extend(to_yaml(item, indent + 2))
            elif isinstance(item, list) and not _is_flow(item):
                lines.append("%s%s:" % (pad, key))
                lines.extend(to_yaml(item, indent + 2))
            elif isinstance(item, dict):
                lines.append("%s%s: {}" % (pad, key))
            elif _is_flow(item):
                lines.append("%s%s: [%s]" % (pad, key, ", ".join(_scalar(entry) for entry in item)))
            else:
                lines.append("%s%s: %s" % (pad, key, _scalar(item)))
    else:
        for item in value:
            nested = to_yaml(item, indent + 2)
            lines.append("%s- %s" % (pad, nested[0].lstrip()))
            lines.extend(nested[1:])
    return lines


def secret_files(secret_names, backend_env, secrets, postgres):
    """Keys of .env: <SERVICE>__<file name in /run/secrets>."""
    files = {"BACKEND__" + name: backend_env[name] for name in secret_names}
    if postgres:
        files["POSTGRES__POSTGRES_PASSWORD"] = secrets["POSTGRES_PASSWORD"]
    return files


def secrets_digest(files):
    """Compose copies secrets in only when it creates a container, so compose.yaml carries this digest to make a
    changed secret recreate the container. It covers the long generated secrets, so it gives none of them away.
    Same text as the role's earlier `to_json(sort_keys=true) | hash('sha256')`, so upgraded stacks keep their containers.
    """
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()


def _health_test(port, path):
    return ["CMD", "node", "-e", health_probe("'http://127.0.0.1:%s%s'" % (port, path or "/"), path)]


def process_service(process, backend, mode):
    """A worker (or, run on demand, a cron job) from the backend's image, with the backend's secrets and variables.

    No published port and never the web port's health check the image carries: its own command's, or none.
    """
    command = process["command"]
    if mode == "dev" and re.match(r"^node\s", command) and "--watch" not in command:
        command = "node --watch " + command[len("node "):].lstrip()  # reloads on edits, as the web process does
    service = {key: value for key, value in backend.items() if key not in ("ports", "healthcheck", "command", "restart")}
    service["command"] = ["sh", "-c", "exec " + escape(command)]
    if process.get("health_command"):
        service["healthcheck"] = {"test": ["CMD-SHELL", escape(process["health_command"])], "interval": "10s",
                                  "timeout": "5s", "retries": 5, "start_period": "60s"}
    else:
        # "The process runs": Compose's --wait refuses a disabled check for an image that has one (the web port's).
        service["healthcheck"] = {"test": ["CMD-SHELL", "kill -0 1"], "interval": "5s", "timeout": "5s", "retries": 3}
    if process["kind"] == "cron":
        # Not started with the stack: `docker compose run --rm NAME` runs it on demand.
        service["profiles"] = ["cron"]
        service["restart"] = "no"
    else:
        service["restart"] = "unless-stopped"
    return service


def compose_definition(spec):
    """The compose project as a dict, from spec (the module's resolved settings, see local_stack module)."""
    profile = spec["profile"]
    services = profile["services"]
    postgres, redis = bool(services.get("postgres")), bool(services.get("redis"))
    bind = spec["bind_address"]
    definition = {"name": spec["project_name"], "services": {}}
    out = definition["services"]
    if postgres:
        out["postgres"] = {
            "image": spec["postgres_image"],
            "environment": {"POSTGRES_USER": escape(spec["db_user"]), "POSTGRES_DB": escape(spec["db_name"]),
                            "POSTGRES_PASSWORD_FILE": "/run/secrets/POSTGRES_PASSWORD"},
            "secrets": [{"source": "POSTGRES__POSTGRES_PASSWORD", "target": "POSTGRES_PASSWORD"}],
            "volumes": ["pgdata:/var/lib/postgresql/data"],
        }
        if spec.get("postgres_port"):
            out["postgres"]["ports"] = ["%s:%s:5432" % (bind, spec["postgres_port"])]
        out["postgres"].update({
            "healthcheck": {"test": ["CMD", "pg_isready", "-U", escape(spec["db_user"]), "-d", escape(spec["db_name"]),
                                     "-h", "127.0.0.1"],
                            "interval": "5s", "timeout": "5s", "retries": 30, "start_period": "10s"},
            "restart": "unless-stopped", "networks": ["backend"]})
    if redis:
        out["redis"] = {"image": spec["redis_image"], "command": ["redis-server", "--appendonly", "yes"],
                        "volumes": ["redisdata:/data"]}
        if spec.get("redis_port"):
            out["redis"]["ports"] = ["%s:%s:6379" % (bind, spec["redis_port"])]
        out["redis"].update({"healthcheck": {"test": ["CMD", "redis-cli", "ping"], "interval": "5s", "timeout": "5s",
                                             "retries": 30},
                             "restart": "unless-stopped", "networks": ["backend"]})

    digest = secrets_digest(spec["secret_files"])
    entrypoint = ["sh", "-c", LOAD_SECRETS + ' exec "$$@"', "backendops-load-secrets"] + list(spec.get("entrypoint") or [])

    def app_service(image, command):
        service = {"image": image,
                   "environment": {name: escape(value) for name, value in sorted(spec["settings"].items())},
                   "secrets": [{"source": "BACKEND__" + name, "target": name} for name in spec["secret_names"]],
                   "labels": {SECRETS_DIGEST_LABEL: digest},
                   "entrypoint": entrypoint}
        if not service["environment"]:
            del service["environment"]
        if not service["secrets"]:
            del service["secrets"]
        if command:
            service["command"] = list(command)
        service["networks"] = ["backend"]
        return service

    if profile.get("prisma_dir") not in (None, ".") and profile.get("app_dir", ".") != profile.get("prisma_dir"):
        # Prisma's CLI reads its config and schema where the workspace package that holds them is.
        spec = dict(spec, prisma_workdir="/app/" + profile["prisma_dir"])
    migrate_command = profile.get("migrate_command")
    if migrate_command:
        # The release step, from the build stage (the prod image has no Prisma CLI), with the app's own binaries on
        # PATH; it runs to completion before the backend starts, as Railway's pre-deploy command does.
        out[MIGRATE] = app_service(spec["migrate_image"] or spec["backend_image"],
                                   ["sh", "-c", 'PATH="$$PWD/node_modules/.bin:$$PATH"; exec ' + escape(migrate_command)])
        if spec.get("prisma_workdir"):
            out[MIGRATE]["working_dir"] = spec["prisma_workdir"]
        if postgres:
            out[MIGRATE]["depends_on"] = {"postgres": {"condition": "service_healthy"}}
        out[MIGRATE]["restart"] = "no"

    backend = app_service(spec["backend_image"], spec.get("command"))
    if spec["mode"] == "dev" and profile.get("source_roots"):
        # Hot reload: the dev command restarts on edits of the bind-mounted source.
        # Source roots are relative to the build context: the image's workdir, or /app for a workspace's app.
        workdir = (spec.get("workdir") or "/app") if profile.get("app_dir", ".") == "." else "/app"
        backend["volumes"] = ["%s/%s:%s/%s:ro" % (profile["source_dir"], root, workdir, root) for root in profile["source_roots"]]
    backend["ports"] = ["%s:%s:%s" % (bind, spec["backend_port"], profile["port"])]
    depends = {}
    if postgres:
        depends["postgres"] = {"condition": "service_healthy"}
    if redis:
        depends["redis"] = {"condition": "service_healthy"}
    if migrate_command:
        depends[MIGRATE] = {"condition": "service_completed_successfully"}
    if depends:
        backend["depends_on"] = depends
    backend["healthcheck"] = {"test": _health_test(profile["port"], spec["health_path"]), "interval": "5s",
                              "timeout": "5s", "retries": 10, "start_period": "120s"}
    backend["restart"] = "unless-stopped"
    out["backend"] = backend

    for process in profile.get("processes") or ():
        out[process["name"]] = process_service(process, backend, spec["mode"])

    # One-off commands (`docker compose run --rm task CMD`): the build image has every dependency and the CLIs.
    task = app_service(spec["migrate_image"] or spec["backend_image"], None)
    task.update({"profiles": [TASK_PROFILE], "restart": "no"})
    if spec.get("prisma_workdir"):
        task["working_dir"] = spec["prisma_workdir"]
    out[TASK] = task

    definition["networks"] = {"backend": {}}
    volumes = {name: {} for name, used in (("pgdata", postgres), ("redisdata", redis)) if used}
    if volumes:
        definition["volumes"] = volumes
    if spec["secret_files"]:
        definition["secrets"] = {name: {"environment": name} for name in sorted(spec["secret_files"])}
    return definition


def compose_text(spec):
    header = [MANAGED,
              "# Stack %s (%s mode). Secrets live in .env (mode 0600) beside this file;" % (spec["name"], spec["mode"]),
              "# Compose copies each one into its container as a file in /run/secrets, so none is container environment."]
    return "\n".join(header + to_yaml(compose_definition(spec))) + "\n"


def secrets_text(spec):
    return dotenv.render(spec["secret_files"], [
        "Secrets of stack %s. Docker Compose reads this file and copies each value into its" % spec["name"],
        "container as a file: BACKEND__NAME becomes /run/secrets/NAME in the backend. Generated ones are kept across runs."])


def example_text(spec):
    """The commented example env file for humans: the contract's variables, secret values as <secret>."""
    lines = [MANAGED,
             "# The variables the backend of stack %s gets, from its environment contract. The role sets them" % spec["name"],
             "# itself; this file only explains them. Secret values are shown as <secret>: they are kept in .env (mode 0600) beside",
             "# this file and reach the container as files in /run/secrets, which its entrypoint exports; the others are",
             "# environment in compose.yaml."]
    for variable in spec["profile"].get("contract") or ():
        name = variable["name"]
        lines.append("#")
        lines.append("# %s%s%s" % (variable.get("description") or name, " (required)" if variable.get("required") else "",
                                   " (generated once, kept across runs)" if variable.get("generate") else ""))
        secret = variable.get("secret") or name in spec["secret_names"]
        lines.append("%s=%s" % (name, "<secret>" if secret else spec["settings"].get(name, "")))
    return "\n".join(lines) + "\n"


# ---- files: what differs ----

def read_file(path):
    """(bytes, mode) of a regular file, or (None, None) when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        raise OSError("%s exists but is not a regular file: remove it" % path)
    with open(path, "rb") as handle:
        return handle.read(), stat.S_IMODE(st.st_mode)


def plan_files(project_dir, wanted):
    """Which of wanted ({name: (text, mode)}) differ from the files in project_dir: [(name, before_text or None)]."""
    changes = []
    for name, (text, mode) in wanted.items():
        data, current_mode = read_file(os.path.join(project_dir, name))
        if data != text.encode("utf-8") or current_mode != mode:
            changes.append((name, None if data is None else data.decode("utf-8", "replace")))
    return changes


def write_file(path, text, mode):
    """Replace path with text (a stack file: .env is 0600 from the temporary file's creation on)."""
    replace_file(path, text.encode("utf-8"), mode)


def secrets_diff(before_text, after_values):
    """(before, after) of the .env for the diff: every value is a secret, masked; '(changed)' after one that changes."""
    try:
        before_values = dotenv.parse(before_text) if before_text is not None else {}
        before = masked_lines(before_values)
    except dotenv.DotenvError:
        before_values, before = {}, "(not readable as an env file)\n"
    changed = [name for name in after_values if before_values.get(name) != after_values[name]]
    return before, masked_lines(after_values, changed=changed)


# ---- containers: what compose up would change ----

def stack_containers(containers):
    """(service, labels, container) of each container of the stack's own services (`docker inspect` documents);
    the containers of `docker compose run` (one-off commands, cron jobs) are not the stack's."""
    for container in containers:
        labels = (container.get("Config") or {}).get("Labels") or {}
        if labels.get("com.docker.compose.oneoff") != "True":
            yield labels.get("com.docker.compose.service"), labels, container


def process_name(service):
    """The app's name for the process a service runs: the backend runs web."""
    return "web" if service == "backend" else service


def plan_services(config_hashes, containers, image_ids):
    """Why `docker compose up` would change something: [(service, reason)], empty when nothing.

    config_hashes: {service: hash} from `docker compose config --hash '*'`; containers: `docker inspect` of the
    project's containers; image_ids: {service: image ID it should run, or None when the image is missing}.
    The one-shot migrate service counts as up to date once it exited 0 with the same configuration and image.
    """
    reasons = []
    by_service = {}
    for service, labels, container in stack_containers(containers):
        by_service.setdefault(service, []).append((labels, container))
    for service in sorted(set(by_service) - set(config_hashes)):
        reasons.append((service, "orphan container to remove"))
    for service, wanted_hash in sorted(config_hashes.items()):
        found = by_service.get(service)
        if not found:
            reasons.append((service, "no container yet"))
            continue
        labels, container = found[0]
        state = container.get("State") or {}
        if labels.get("com.docker.compose.config-hash") != wanted_hash:
            reasons.append((service, "configuration changed"))
        elif image_ids.get(service) != container.get("Image"):
            reasons.append((service, "image changed"))
        elif service == MIGRATE:
            if state.get("Status") != "exited" or state.get("ExitCode") != 0:
                reasons.append((service, "not run to completion"))
        elif not state.get("Running"):
            reasons.append((service, "not running"))
        elif (state.get("Health") or {}).get("Status") == "unhealthy":
            reasons.append((service, "unhealthy"))
    return reasons


def is_change(reasons):
    """A plan that only re-runs the one-shot migrate service changes nothing."""
    return any(service != MIGRATE or reason in ("configuration changed", "image changed") for service, reason in reasons)


def started_services(services):
    """The services a plain `docker compose up` starts, but the one-shot migrate: those without a Compose profile."""
    return [name for name, service in services.items() if name != MIGRATE and not service.get("profiles")]
