#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_stack
short_description: Bring the backend's local Docker Compose stack to its wanted state, changing only what differs
version_added: 0.1.0
description:
  - Reads the stack's previous secrets (C(.env)), keeps them or generates new ones, and validates the backend's
    variables against the environment contract; a bad value fails with one line naming every bad variable, and
    nothing is changed.
  - Renders C(compose.yaml), the secrets file C(.env) (mode 0600, in a directory of mode 0700) and a commented
    C(.env.docker.example) into O(project_dir), and writes only the files that differ.
  - Compares the rendered services with the project's containers (Compose's configuration hash, the image, the state)
    and runs C(docker compose up --detach --wait) only when something is to change. Re-running the one-shot
    C(migrate) service alone is not a change.
  - A release runs the C(migrate) service with the new image first, and recreates the backend and the processes only
    once it succeeded; after a failed migration the previous containers keep serving.
  - When the migrations may change the schema (the digest of the app's Prisma migrations differs from the serving
    release's, or an own migrate command) and the database has data, it first takes a C(pg_dump) (custom format)
    into C(backups/) of O(project_dir) (mode 0600, the last O(backups_keep) kept); a failed migration restores it,
    and the failure line says so.
  - One release per stack at a time - a lock file C(.release.lock) in O(project_dir) names its holder (host, user,
    PID, start time); another run waits up to O(lock_timeout) seconds, then fails in one line naming it. A lock left
    by a process that died is taken over with a warning.
  - Each run that changes the stack appends one JSON line to C(releases.jsonl) in O(project_dir) (time, user, host,
    images, migrations digest and migrations applied, backup, outcome); no secret goes in.
  - Waits for the backend's health path (or, without one, for any HTTP answer at C(/)), reads the detailed health
    view the app profile names with its token and checks its fields, checks that the migrate step reported no
    migration pending (Prisma's C(migrate deploy) and C(db push)) and that every process (web and workers) runs and
    does not restart.
  - Secrets reach the containers as files in C(/run/secrets), never as container environment; no secret value
    appears in the result, the diff or an error.
  - With O(validate_only=true) it only keeps or generates the secrets in memory and validates the contract; it needs
    no Docker engine and changes nothing.
  - Runs on the Docker host, with the C(docker) CLI and Compose 2.20 or later.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.env_contract
attributes:
  check_mode:
    support: full
    details:
      - Plans without writing or starting anything. A new stack is reported as to be created and started; for an
        existing one, changed files and the services Compose would create, recreate or start are reported.
  diff_mode:
    support: full
    details:
      - Shows C(compose.yaml) and C(.env.docker.example) before and after; C(.env) shows its names only, each value as
        C(********), with C((changed)) after a value that changes.
  idempotent:
    support: partial
    details: Idempotent for O(state=present), V(stopped) and V(absent); O(state=restarted), V(rolled_back) and V(restored) always act.
options:
  name:
    description: Name of the stack, lowercase letters, digits, C(-) and C(_); the Compose project is C(backendops-<name>).
    type: str
    required: true
  project_dir:
    description: Directory on the Docker host for the stack's files.
    type: path
    required: true
  state:
    description:
      - V(present) writes the files, starts what differs and verifies health.
      - V(restarted) restarts the stack's containers (when its C(compose.yaml) exists) and verifies health.
      - V(rolled_back) starts the images of the release before the serving one (from C(releases.jsonl)), without their
        migrate step (PostgreSQL and Redis keep the images they run; the image's own entrypoint and command unless
        O(entrypoint) or O(command) are given), and verifies health; when the release rolled back from took a backup
        before its migration, the result names it and the command that restores it. The database is not rolled back
        by itself.
      - V(restored) restores the database from the backup O(backup), the app's processes stopped meanwhile.
      - V(stopped) stops every running container of the stack; V(absent) removes them and the stack's network, and
        with O(remove_volumes), O(remove_files) and O(remove_images) its data, its files and the app's images. Neither
        reads O(profile), so a stack whose app no longer builds can always be stopped or removed.
    type: str
    choices: [present, restarted, rolled_back, restored, stopped, absent]
    default: present
  validate_only:
    description: Only validate the stack's settings and environment contract; no Docker engine needed, nothing changes.
    type: bool
    default: false
  profile:
    description: The app profile, as M(backendops.stack.app_profile) returns it. Required for V(present) and V(restarted).
    type: dict
  env:
    description:
      - The app's environment, merged over the profile's C(local_env) and the computed variables (C(NODE_ENV),
        C(PORT), C(DATABASE_URL), C(REDIS_URL), the generated secrets); values here win.
    type: dict
    default: {}
  mode:
    description: V(prod) runs the optimized image; V(dev) bind-mounts the source roots and reloads on edits.
    type: str
    choices: [prod, dev]
    default: prod
  db_name:
    description: Database created on the first start.
    type: str
    default: app
  db_user:
    description: Database owner created on the first start.
    type: str
    default: app
  secret_length:
    description: Length of the secrets generated on the first run.
    type: int
    default: 48
  backend_image:
    description: The backend's image (also its workers'). Required for V(present) and V(restarted).
    type: str
  migrate_image:
    description: Image of the one-shot C(migrate) service (the build stage); empty uses O(backend_image).
    type: str
  postgres_image:
    description: PostgreSQL 15 image.
    type: str
    default: postgres:15-alpine
  redis_image:
    description: Redis 7 image.
    type: str
    default: redis:7-alpine
  entrypoint:
    description: The image's own entrypoint, run after the secrets are exported.
    type: list
    elements: str
    default: []
  command:
    description: The image's command; empty keeps the image's own.
    type: list
    elements: str
    default: []
  workdir:
    description: The image's working directory, where dev mode mounts the source roots.
    type: str
    default: /app
  bind_address:
    description: Host address the published ports bind to.
    type: str
    default: 127.0.0.1
  backend_port:
    description: Host port of the backend.
    type: int
    default: 3000
  postgres_port:
    description: Host port for PostgreSQL; unset keeps it on the stack's network only.
    type: int
  redis_port:
    description: Host port for Redis; unset keeps it on the stack's network only.
    type: int
  wait_timeout:
    description: Seconds to wait for the stack to become healthy.
    type: int
    default: 300
  health_path:
    description: HTTP path of the health check; empty takes the profile's, and without one any HTTP answer at C(/) counts.
    type: str
    default: ""
  verify:
    description: Check the health endpoints after starting.
    type: bool
    default: true
  log_lines:
    description: Lines of the backend's (or a failing process's) log in the error when the stack does not come up.
    type: int
    default: 40
  remove_volumes:
    description: With V(absent), also remove the stack's volumes (its PostgreSQL and Redis data).
    type: bool
    default: false
  remove_files:
    description: With V(absent), also remove O(project_dir) - C(compose.yaml) and the C(.env) holding the secrets.
    type: bool
    default: false
  remove_images:
    description: With V(absent), also remove every tag of these image repositories (the app's images).
    type: list
    elements: str
    default: []
  lock_timeout:
    description: Seconds to wait for another release of the stack (its lock) before failing.
    type: int
    default: 300
  backups_keep:
    description: How many database backups C(backups/) keeps; older ones are removed after a new one is taken.
    type: int
    default: 5
  backup:
    description: With O(state=restored), the backup to restore - V(latest) or a file name in C(backups/).
    type: str
    default: latest
notes:
  - Every process of the profile besides web (C(processes) of kind V(worker)) runs as a service of its own from the
    backend's image, with the same variables and secrets, no published port and its own health check or none; a
    V(cron) process is a service of the Compose profile C(cron), run on demand with C(docker compose run --rm NAME).
seealso:
  - module: backendops.stack.app_profile
  - module: backendops.stack.env_contract
"""

EXAMPLES = r"""
---
- name: Run the sample's local stack
  hosts: docker_hosts
  module_defaults:
    backendops.stack.local_stack:
      name: dev
      project_dir: ~/.local/share/backendops/stacks/dev
      profile: "{{ app_image_profile }}"  # from backendops.stack.app_profile
      backend_image: backendops/backend:latest
      env:
        SUPABASE_URL: https://project-ref.supabase.co
  tasks:
    - name: Validate before anything changes (no engine needed)
      backendops.stack.local_stack:
        validate_only: true

    - name: Bring the stack up and verify its health
      backendops.stack.local_stack:
      register: stack

    - name: Show where it answers
      ansible.builtin.debug:
        msg: "{{ stack.msg }}"
"""

RETURN = r"""
msg:
  description: What the module did or would do, in one line (the URL and health when verified).
  returned: always
  type: str
  sample: "Stack dev (prod) is healthy: http://127.0.0.1:3000/api/health (version 1.0.0, migrations 2); files in /home/me/.local/share/backendops/stacks/dev"
url:
  description: Base URL of the backend.
  returned: always
  type: str
  sample: http://127.0.0.1:3000
project_dir:
  description: The stack's directory, expanded.
  returned: always
  type: str
names:
  description: Names of the backend's variables, sorted.
  returned: always
  type: list
  elements: str
secret_names:
  description: Names among RV(names) that reach the backend as files in C(/run/secrets).
  returned: always
  type: list
  elements: str
files:
  description: Files of the stack that were (or in check mode would be) written or removed.
  returned: success
  type: list
  elements: str
  sample: [compose.yaml, .env]
services:
  description: "What C(docker compose up) was run (or would be run) for, as C(service: reason)."
  returned: success
  type: list
  elements: str
  sample: ["backend: configuration changed"]
started:
  description: Whether C(docker compose up) (or C(restart)) ran.
  returned: success
  type: bool
removed:
  description: What O(state=absent) removed (or would remove).
  returned: when O(state=absent)
  type: list
  elements: str
health:
  description: The health check's result; C(details) holds the detailed view's expected fields as shown.
  returned: when verified
  type: dict
  sample: {url: "http://127.0.0.1:3000/api/health", version: "1.0.0", migrations: 2, details: {database: up},
           processes: [web, worker]}
backup:
  description: The database backup taken (or in check mode to be taken) before migrating, or restored; a file in C(backups/).
  returned: when O(state=present) or V(restored)
  type: str
  sample: 20261206T183000Z.dump
images:
  description: The app's images by service that O(state=rolled_back) brought back.
  returned: when O(state=rolled_back)
  type: dict
  sample: {backend: "backendops/dev-backend:3f2a9c1e", migrate: "backendops/dev-backend:3f2a9c1e-build"}
"""

import json
import os
import shutil
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.backendops.stack.plugins.module_utils import (
    compose_file,
    health,
    local_stack,
    pg_backup,
    release_record,
)
from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli, DockerError, last_lines
from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError
from ansible_collections.backendops.stack.plugins.module_utils.env_contract import (
    CONTRACT_ARGUMENT_SPEC,
    EXTRA_ARGUMENT_SPEC,
    failure_message,
    public_values,
    validate,
)
from ansible_collections.backendops.stack.plugins.module_utils.pg_backup import BackupError
from ansible_collections.backendops.stack.plugins.module_utils.release_lock import LockError, ReleaseLock
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import hide_values


# Seconds between the two looks at the processes' containers.
PROCESS_SETTLE_SECONDS = 3
# Between two GETs of the health URL while the stack starts.
HEALTH_POLL_SECONDS = 2


class StackError(Exception):
    """An expected failure, reported as one line."""


def check_settings(params):
    """One line for a bad stack name or port, naming the options (a role adds its own variables' names)."""
    ports = [params["backend_port"], params["postgres_port"], params["redis_port"]]
    name_ok = local_stack.valid_stack_name(params["name"])
    if name_ok and 1 <= ports[0] <= 65535 and all(port is None or 1 <= port <= 65535 for port in ports[1:]):
        return
    raise StackError(
        "Bad stack settings: name %s must be lowercase letters, digits, '-' or '_' (it names the compose project); "
        "backend_port %s, postgres_port %s and redis_port %s must be ports from 1 to 65535 (or unset for PostgreSQL "
        "and Redis)."
        % (json.dumps(params["name"]), ports[0], ports[1], ports[2]))


def port_in_use(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Stack:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.project_name = "backendops-" + self.name
        self.project_dir = self.params["project_dir"]
        self.docker = DockerCli(module, self.project_dir)
        self.url = "http://%s:%s" % (self.params["bind_address"], self.params["backend_port"])
        self.profile = self.params["profile"] or {}
        self.health_path = self.params["health_path"] or (self.profile.get("health") or {}).get("path") or ""
        self.diffs = []
        self.files = []
        self.releases_file = os.path.join(self.project_dir, local_stack.RELEASES_FILE)
        # What the record of this run says; filled as the release goes.
        self.release = dict(kind="release", images={}, migrations_digest=None, migrations=[], backup=None)
        # The stack's release lock while this run holds it (see lock()).
        self.held = None

    # ---- the environment ----

    def environment(self):
        params, profile = self.params, self.profile
        if not isinstance(profile.get("services"), dict) or "port" not in profile:
            raise StackError("profile must be an app profile (the profile of backendops.stack.app_profile)")
        try:
            previous = local_stack.read_previous_secrets(self.project_dir)
        except (DotenvError, UnicodeDecodeError, OSError) as exc:
            raise StackError("a secrets file of stack %s in %s cannot be read (%s): fix or remove it"
                             % (self.name, self.project_dir, exc)) from None
        env = local_stack.stack_environment(profile, previous, params["env"], params["mode"], params["db_user"],
                                            params["db_name"], params["secret_length"])
        contract = params["contract"] if params["contract"] is not None else profile.get("contract")
        result = validate(env["backend_env"], params["extra"], contract=contract)
        # Everything secret is masked in any output, the generated secrets too; the rest reads normally.
        hide_values(self.module, list(env["secrets"].values()) + [result.values[name] for name in result.secret_names],
                    shown=public_values(result))
        if result.errors:
            raise StackError(failure_message(result.errors))
        self.previous, self.result = previous, result
        secret_names = sorted(result.secret_names)
        postgres = bool(profile["services"].get("postgres"))
        self.spec = dict(
            name=self.name, project_name=self.project_name, mode=params["mode"], profile=profile,
            bind_address=params["bind_address"], backend_port=params["backend_port"],
            postgres_port=params["postgres_port"], redis_port=params["redis_port"],
            db_user=params["db_user"], db_name=params["db_name"],
            backend_image=params["backend_image"], migrate_image=params["migrate_image"],
            postgres_image=params["postgres_image"], redis_image=params["redis_image"],
            entrypoint=params["entrypoint"], command=params["command"], workdir=params["workdir"],
            health_path=self.health_path, secret_names=secret_names,
            settings={name: value for name, value in result.values.items() if name not in secret_names},
            secret_files=compose_file.secret_files(secret_names, result.values, env["secrets"], postgres))

    def base_result(self, **more):
        return dict(url=self.url, project_dir=self.project_dir, names=list(self.result.names),
                    secret_names=list(self.result.secret_names), **more)

    # ---- present ----

    def refuse_unsafe_starts(self, containers):
        backend_running = any(
            ((c.get("Config") or {}).get("Labels") or {}).get("com.docker.compose.service") == "backend"
            and (c.get("State") or {}).get("Running") for c in containers)
        # Another process on the port would make compose fail half-way, with a message about the container.
        if not backend_running and port_in_use(self.params["bind_address"], self.params["backend_port"]):
            raise StackError("Port %s on %s is already in use by another process. Stop it or choose another port with "
                             "backend_port." % (self.params["backend_port"], self.params["bind_address"]))
        # PostgreSQL keeps the password of the volume's first start; a newly generated one would lock the backend out.
        volume = self.project_name + "_pgdata"
        database = bool(self.profile["services"].get("postgres")) and self.docker.volume_exists(volume)
        if database and "POSTGRES_PASSWORD" not in self.previous:
            raise StackError("Stack %s has a database volume (%s) but %s/.env with its password is gone. Restore that "
                             ".env, or start with an empty database: docker volume rm %s"
                             % (self.name, volume, self.project_dir, volume))
        return database

    def wanted_files(self):
        return {compose_file.COMPOSE_FILE: (compose_file.compose_text(self.spec), 0o644),
                compose_file.SECRETS_FILE: (compose_file.secrets_text(self.spec), 0o600),
                compose_file.EXAMPLE_FILE: (compose_file.example_text(self.spec), 0o644)}

    def plan_and_write_files(self):
        wanted = self.wanted_files()
        new_dir = not os.path.isdir(self.project_dir)
        changes = [(name, None) for name in wanted] if new_dir else compose_file.plan_files(self.project_dir, wanted)
        for name, before in changes:
            self.files.append(name)
            if self.module._diff:
                if name == compose_file.SECRETS_FILE:
                    shown_before, shown_after = compose_file.secrets_diff(before, self.spec["secret_files"])
                else:
                    shown_before, shown_after = before or "", wanted[name][0]
                self.diffs.append(dict(before=shown_before, after=shown_after,
                                       before_header="%s/%s%s" % (self.project_dir, name, " (absent)" if before is None else ""),
                                       after_header="%s/%s" % (self.project_dir, name)))
        dir_mode_wrong = not new_dir and (os.stat(self.project_dir).st_mode & 0o777) != 0o700
        if dir_mode_wrong:
            self.files.append("./ (mode 0700)")
        if self.module.check_mode:
            return new_dir
        try:
            if new_dir:
                os.makedirs(self.project_dir, mode=0o700)
            if new_dir or dir_mode_wrong:
                os.chmod(self.project_dir, 0o700)
            for name, _before in changes:
                text, mode = wanted[name]
                compose_file.write_file(os.path.join(self.project_dir, name), text, mode)
        except OSError as exc:
            raise StackError("cannot write the files of stack %s in %s: %s - fix the permissions of that directory"
                             % (self.name, self.project_dir, exc.strerror or exc)) from None
        return new_dir

    def plan_services(self, containers):
        """Why compose up would change something; read only (config hashes, images, containers)."""
        out = self.docker.compose("config", "--hash", "*")[1]
        hashes = dict(line.split(None, 1) for line in out.splitlines() if len(line.split(None, 1)) == 2)
        images = {service: spec["image"] for service, spec in compose_file.compose_definition(self.spec)["services"].items()}
        ids = self.docker.image_ids(images.values())
        return compose_file.plan_services(hashes, containers, {service: ids.get(ref) for service, ref in images.items()})

    def up(self, *options):
        rc, out, err = self.docker.compose(
            "up", "--detach", "--wait", "--wait-timeout", str(self.params["wait_timeout"]), "--remove-orphans",
            "--pull", "never", "--no-build", *options, check=False)
        if rc == 0:
            return
        raise StackError("Stack %s did not become healthy: %s. %s `make logs` (playbooks/logs.yml) shows more."
                         % (self.name, last_lines(err or out), self.log_tail(self.failing_service())))

    def running_services(self):
        """The services whose container runs now, sorted."""
        return sorted({service for service, _labels, container in
                       compose_file.stack_containers(self.docker.containers(self.project_name))
                       if service and (container.get("State") or {}).get("Running")})

    def failing_service(self):
        """The service whose container stopped or restarts (a failed migrate first), else the backend."""
        for service, _labels, container in compose_file.stack_containers(self.docker.containers(self.project_name)):
            state = container.get("State") or {}
            if not service:
                continue
            if service == compose_file.MIGRATE:
                if state.get("Status") == "exited" and state.get("ExitCode") != 0:
                    return service
            elif state.get("Restarting") or state.get("Status") == "exited" or container.get("RestartCount", 0) > 0:
                return service
        return "backend"

    def log_tail(self, service):
        """The last log lines of the service's process, and the devDependency hint when they show a pruned module."""
        read, logs = self.docker.compose_logs(service, tail=self.params["log_lines"], prefix=False)
        return "Process %s's last log lines: %s.%s" % (
            compose_file.process_name(service), last_lines(logs, self.params["log_lines"]),
            local_stack.pruned_module_hint(logs if read else "", self.profile))

    def present(self):
        containers = self.docker.containers(self.project_name)
        database = self.refuse_unsafe_starts(containers)
        # After the refusals, which leave no directory behind; before anything is planned from the files.
        self.lock(create=True)
        new_dir = self.plan_and_write_files()
        self.release["images"] = self.images()
        self.release["migrations_digest"] = local_stack.migrations_digest(self.profile)
        self.release["commit"] = self.source_commit()
        if self.module.check_mode and new_dir:
            # Compose cannot plan a project whose files are not written yet.
            return self.base_result(changed=True, files=self.files, services=[], started=False,
                                    msg="Would create stack %s in %s and start it" % (self.name, self.project_dir))
        if self.module.check_mode and {compose_file.COMPOSE_FILE, compose_file.SECRETS_FILE} & set(self.files):
            # Compose plans from the files on disk, which check mode leaves as they are.
            reasons = [("stack", "files changed")]
        else:
            reasons = self.plan_services(containers)
        changed = bool(self.files) or compose_file.is_change(reasons)
        services = ["%s: %s" % reason for reason in reasons]
        backup = self.backup_to_take(database) if reasons else None
        if self.module.check_mode:
            steps = ((["write " + ", ".join(self.files)] if self.files else [])
                     + (["back up the database to %s/%s before migrating" % (pg_backup.BACKUP_DIR, backup)] if backup else [])
                     + (["start " + ", ".join(services)] if reasons else []))
            return self.base_result(changed=changed, files=self.files, services=services, started=False, backup=backup,
                                    msg="Stack %s: would %s" % (self.name, "; ".join(steps) or "change nothing"))
        try:
            if reasons:
                serving = any(service == "backend" and (container.get("State") or {}).get("Running")
                              for service, _labels, container in compose_file.stack_containers(containers))
                self.start(backup, serving)
            out = self.base_result(changed=changed, files=self.files, services=services, started=bool(reasons),
                                   backup=self.release["backup"])
            out.update(self.verified())
        except (StackError, DockerError, BackupError) as exc:
            if changed:
                self.record("restored" if self.release.get("restored") else "failed", str(exc))
            raise
        if changed:
            self.record("released", out["msg"])
        return out

    def images(self):
        """The app's images this run deploys, by service (the record's `images`; what a rollback brings back)."""
        images = {"backend": self.spec["backend_image"]}
        if self.profile.get("migrate_command"):
            images[compose_file.MIGRATE] = self.spec["migrate_image"] or self.spec["backend_image"]
        for service in local_stack.DATA_SERVICES:
            if self.profile["services"].get(service):
                images[service] = self.spec[service + "_image"]
        return images

    def source_commit(self):
        """The app source's git commit when it is a checkout, else None."""
        git = self.module.get_bin_path("git")
        if not git or not self.profile.get("source_dir"):
            return None
        rc, out, _err = self.module.run_command([git, "-C", self.profile["source_dir"], "rev-parse", "HEAD"])
        return out.strip() if rc == 0 and out.strip() else None

    def backup_to_take(self, database):
        """The name of the backup to take before migrating, or None: no data yet, or no migration pending."""
        if not database or not self.profile.get("migrate_command"):
            return None
        if not local_stack.schema_may_change(self.release["migrations_digest"], self.records()):
            return None
        return pg_backup.backup_name()

    def records(self):
        return release_record.read(self.releases_file)

    def record(self, outcome, detail):
        """One line in the stack's releases.jsonl; the detail with every secret value masked."""
        fields = {key: value for key, value in self.release.items() if key in release_record.RECORD_FIELDS}
        release_record.append(self.releases_file, release_record.new_record(
            self.name, outcome=outcome, detail=remove_values(detail, self.module.no_log_values), **fields))

    def start(self, backup, serving):
        """The migrate step first, with the new image; the backend and the processes only once it succeeded."""
        definition = compose_file.compose_definition(self.spec)["services"]
        if compose_file.MIGRATE not in definition:
            self.up()
            return
        if "postgres" in definition:
            self.up("postgres")
        if backup:
            self.take_backup(backup)
        self.migrate(backup, serving)
        # The whole project, as Compose hashes its services' configuration with their dependencies (a subset with
        # --no-deps would hash otherwise, and the next run would see a change); migrate runs once more, finding
        # nothing to apply.
        self.up()

    def take_backup(self, name):
        try:
            pg_backup.dump(self.docker, self.service_container("postgres"), self.params["db_user"],
                           self.params["db_name"], self.project_dir, name)
        except (BackupError, OSError) as exc:
            raise StackError("Stack %s: the database backup before migrating failed, so nothing was migrated or "
                             "swapped: %s" % (self.name, exc)) from None
        self.release["backup"] = name
        pg_backup.prune(self.project_dir, self.params["backups_keep"])

    def service_container(self, service):
        ids = self.docker.compose("ps", "--all", "--quiet", service)[1].split()
        if not ids:
            raise StackError("Stack %s has no %s container" % (self.name, service))
        return ids[0]

    def migrate(self, backup, serving):
        """Runs the migrate service to its end; a failure restores the backup and says so in one line."""
        # With its dependency (PostgreSQL, healthy already): Compose hashes the service with its depends_on.
        rc, out, err = self.docker.compose("up", "--detach", "--pull", "never", "--no-build", compose_file.MIGRATE,
                                           check=False)
        why = last_lines(err or out)
        if rc == 0:
            rc = int(self.docker.run("wait", self.service_container(compose_file.MIGRATE))[1].strip() or 1)
            why = "exit code %s" % rc
        read, logs = self.docker.compose_logs(compose_file.MIGRATE, prefix=False)
        self.release["migrations"] = local_stack.applied_migrations(logs if read else "")
        if rc == 0:
            return
        kept = "the previous containers keep serving" if serving else "the backend was not started"
        restored = ""
        if backup:
            try:
                pg_backup.restore(self.docker, self.service_container("postgres"), self.params["db_user"],
                                  self.params["db_name"], self.project_dir, backup)
                self.release["restored"] = True
                restored = "; the database was restored from %s/%s, taken before the migration" % (
                    pg_backup.BACKUP_DIR, backup)
            except (BackupError, DockerError, OSError) as exc:
                restored = ("; restoring the database from %s/%s failed too (%s): restore it with "
                            "`make restore BACKUP=%s`" % (pg_backup.BACKUP_DIR, backup, exc, backup))
        raise StackError("Stack %s: the migration failed (%s), so the new image was not swapped in and %s%s. %s"
                         % (self.name, why, kept, restored, self.log_tail(compose_file.MIGRATE)))

    def restarted(self):
        if not os.path.exists(os.path.join(self.project_dir, compose_file.COMPOSE_FILE)):
            return self.base_result(changed=False, started=False, msg="Stack %s has no compose.yaml in %s: nothing to restart"
                                    % (self.name, self.project_dir))
        self.docker.run("info", "--format", "{{.ServerVersion}}")
        if not self.module.check_mode:
            # The running services only: the one-shot migrate, restarted beside PostgreSQL, would run before the
            # database answers again; `up` runs it once PostgreSQL is healthy.
            running = [service for service in self.running_services() if service != compose_file.MIGRATE]
            if running:
                self.docker.compose("restart", *running)
            # restart returns before the services are healthy, and a published port accepts connections (Docker's
            # proxy) before the app listens: wait as a start does, on the same containers.
            self.up("--no-recreate")
        out = self.base_result(changed=True, started=not self.module.check_mode)
        out.update(self.verified() if not self.module.check_mode else {"msg": "Would restart stack %s" % self.name})
        return out

    # ---- rolled_back and restored: from the stack's records and backups ----

    def rolled_back(self):
        """The previous recorded release's images, started without their migrate step; the database stays as it is."""
        current, target, why = local_stack.rollback_target(self.records())
        if target is None:
            raise StackError("Stack %s cannot roll back: %s in %s" % (self.name, why, self.releases_file))
        # The app's images of that release; PostgreSQL and Redis stay as they run (the playbook builds no image here).
        running = {service: (container.get("Config") or {}).get("Image") for service, _labels, container in
                   compose_file.stack_containers(self.docker.containers(self.project_name))}
        kept = {service: current["images"].get(service) or running.get(service)
                for service in local_stack.DATA_SERVICES if self.profile["services"].get(service)}
        images = dict(target["images"], **kept)
        present = self.docker.image_ids(images.values())
        missing = sorted(ref for ref in set(images.values()) if ref not in present)
        if missing:
            raise StackError("Stack %s cannot roll back to the release of %s: its image(s) %s are no longer on this "
                             "host" % (self.name, target.get("time"), ", ".join(missing)))
        self.spec.update(backend_image=images["backend"], migrate_image=images.get(compose_file.MIGRATE) or "",
                         **{service + "_image": ref for service, ref in images.items() if service in local_stack.DATA_SERVICES})
        if not self.params["entrypoint"] and not self.params["command"]:
            # The playbook built nothing, so the image's own entrypoint and command come from the image itself
            # (the profile's start command first, as app_image gives it for prod).
            config = self.docker.image_config(images["backend"])
            start = self.profile.get("start_command") if self.params["mode"] == "prod" else None
            self.spec.update(entrypoint=config.get("Entrypoint") or [], workdir=config.get("WorkingDir") or "/app",
                             command=["sh", "-c", "exec " + start] if start else config.get("Cmd") or [])
        # The database keeps the newer schema: its digest stays the one a next release compares with.
        self.release.update(kind="rollback", images=images, migrations_digest=current.get("migrations_digest"))
        self.plan_and_write_files()
        backup = current.get("backup")
        offer = (" The release rolled back from changed the schema; the backup taken before its migration is %s/%s: "
                 "`make restore BACKUP=%s` brings that database back (its newer rows are lost)."
                 % (pg_backup.BACKUP_DIR, backup, backup)) if backup else ""
        what = "the release of %s (%s)" % (target.get("time"), images["backend"])
        if self.module.check_mode:
            return self.base_result(changed=True, files=self.files, started=False, images=images,
                                    msg="Stack %s: would roll back to %s.%s" % (self.name, what, offer))
        try:
            self.up("--no-deps", *compose_file.started_services(compose_file.compose_definition(self.spec)["services"]))
            out = self.base_result(changed=True, files=self.files, started=True, images=images)
            out.update(self.verified())
        except (StackError, DockerError) as exc:
            self.record("failed", str(exc))
            raise
        out["msg"] = "Rolled back to %s. %s%s" % (what, out["msg"], offer)
        self.record("rolled back", out["msg"])
        return out

    def restored(self):
        """The database from a backup: the app's processes stopped meanwhile, started again after (healthy)."""
        try:
            name = pg_backup.resolve(self.project_dir, self.params["backup"])
        except BackupError as exc:
            raise StackError("Stack %s: %s" % (self.name, exc)) from None
        running = self.running_services()
        if "postgres" not in running:
            raise StackError("Stack %s: its PostgreSQL does not run; start the stack first (`make restart`)" % self.name)
        app = [service for service in running if service not in local_stack.DATA_SERVICES]
        where = "%s/%s" % (pg_backup.BACKUP_DIR, name)
        if self.module.check_mode:
            return dict(changed=True, project_dir=self.project_dir, url=self.url, backup=name,
                        msg="Stack %s: would restore the database from %s%s" % (
                            self.name, where, ", with %s stopped meanwhile" % ", ".join(app) if app else ""))
        if app:
            self.docker.compose("stop", *app)
        try:
            pg_backup.restore(self.docker, self.service_container("postgres"), self.params["db_user"],
                              self.params["db_name"], self.project_dir, name)
        finally:
            if app:
                # Started again as they were (no migrate step), and waited for until healthy.
                self.up("--no-recreate", "--no-deps", *app)
        msg = "Stack %s: database %s restored from %s%s" % (
            self.name, self.params["db_name"], where, "; %s started again" % ", ".join(app) if app else "")
        self.release.update(kind="restore", backup=name)
        self.record("restored", msg)
        return dict(changed=True, project_dir=self.project_dir, url=self.url, backup=name, msg=msg)

    def lock(self, create=False):
        """Takes the stack's release lock, held until the module ends (none in check mode, none for a stack whose
        directory is not there unless create)."""
        if self.module.check_mode or (not create and not os.path.isdir(self.project_dir)):
            return
        try:
            os.makedirs(self.project_dir, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StackError("cannot create the directory of stack %s, %s: %s"
                             % (self.name, self.project_dir, exc.strerror or exc)) from None
        lock = ReleaseLock(self.project_dir, self.params["lock_timeout"])
        lock.acquire("stack %s" % self.name)
        self.held = lock
        if lock.stale:
            self.module.warn("Took over the release lock of stack %s from a run that ended without releasing it (%s)"
                             % (self.name, lock.stale))

    # ---- stopped and absent: the stack's containers, volumes and files; never the app or its profile ----

    def stopped(self):
        running = [c for c in self.docker.containers(self.project_name) if (c.get("State") or {}).get("Running")]
        if running and not self.module.check_mode:
            self.docker.run("stop", *[c["Id"] for c in running])
        names = sorted({((c.get("Config") or {}).get("Labels") or {}).get("com.docker.compose.service", "?") for c in running})
        verb = "would stop" if self.module.check_mode else "stopped"
        return dict(changed=bool(running), project_dir=self.project_dir, url=self.url,
                    msg="Stack %s: %s" % (self.name, "%s %s" % (verb, ", ".join(names)) if names else "nothing runs"))

    def absent(self):
        label = "label=com.docker.compose.project=" + self.project_name
        containers = [c["Id"] for c in self.docker.containers(self.project_name)]
        networks = self.docker.run("network", "ls", "--quiet", "--filter", label)[1].split()
        volumes = self.docker.run("volume", "ls", "--quiet", "--filter", label)[1].split() if self.params["remove_volumes"] else []
        images = []
        for name in self.params["remove_images"]:
            listed = self.docker.run("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name)[1].split()
            images += [ref for ref in listed if not ref.endswith(":<none>")]
        files = self.params["remove_files"] and os.path.lexists(self.project_dir)
        removed = (["%d container(s)" % len(containers)] if containers else []) + \
                  (["network(s) %s" % ", ".join(networks)] if networks else []) + \
                  (["volume(s) %s" % ", ".join(volumes)] if volumes else []) + \
                  (["image(s) %s" % ", ".join(images)] if images else []) + \
                  (["%s (its .env with the secrets)" % self.project_dir] if files else [])
        if not self.module.check_mode:
            if containers:
                self.docker.run("rm", "--force", "--volumes", *containers)
            if networks:
                self.docker.run("network", "rm", *networks)
            if volumes:
                self.docker.run("volume", "rm", *volumes)
            if images:
                self.docker.run("image", "rm", *images)
            if files:
                shutil.rmtree(self.project_dir)
        verb = "would remove" if self.module.check_mode else "removed"
        return dict(changed=bool(removed), project_dir=self.project_dir, url=self.url, removed=removed,
                    msg="Stack %s: %s" % (self.name, "%s %s" % (verb, "; ".join(removed)) if removed else "nothing to remove"))

    # ---- health ----

    def verified(self):
        files = "files in %s" % self.project_dir
        if not self.params["verify"]:
            return {"msg": "Stack %s (%s) is up: %s (not verified); %s" % (self.name, self.params["mode"], self.url, files)}
        url = self.url + self.health_path if self.health_path else self.url
        # Without a health path any HTTP answer counts: the app serves. A direct request: the stack runs on this
        # host, an HTTP proxy must not answer for it.
        answer = health.wait_until_answers(url, self.params["wait_timeout"], HEALTH_POLL_SECONDS,
                                           any_answer=not self.health_path, use_proxy=False)
        if answer.get("failed"):
            raise StackError("Stack %s did not answer at %s within %s s: %s"
                             % (self.name, url, self.params["wait_timeout"], health.answer_text(answer)))
        result = {"url": url}
        details = (self.profile.get("health") or {}).get("details")
        shown = ""
        if details:
            result.update(self.read_details(details))
            shown = " (version %s, migrations %d)" % (result.get("version"), result.get("migrations"))
        where = url if self.health_path else self.url + " (answers HTTP)"
        self.migrations_applied()
        processes = self.processes_running()
        result["processes"] = processes
        running = "; processes %s running" % ", ".join(processes) if len(processes) > 1 else ""
        return {"health": result, "msg": "Stack %s (%s) is healthy: %s%s%s; %s" % (
            self.name, self.params["mode"], where, shown, running, files)}

    def migrations_applied(self):
        """No migration left pending: the migrate step's own report (Prisma's), read from its container's log."""
        command = self.profile.get("migrate_command")
        if not command:
            return
        read, logs = self.docker.compose_logs(compose_file.MIGRATE, prefix=False)
        pending = local_stack.migrations_pending(command, logs if read else "")
        if pending:
            raise StackError("Stack %s: %s, so migrations may be pending. The migrate step's last log lines: %s"
                             % (self.name, pending, last_lines(logs, self.params["log_lines"])))

    def processes_running(self):
        """The long-running processes (web and workers), each running and not restarting; else one line with its log."""
        names = ["backend"] + [process["name"] for process in self.profile.get("processes") or ()
                               if process.get("kind") != "cron"]
        if len(names) == 1:
            return ["web"]
        seen = {}
        # Twice, a few seconds apart: a worker that exits at once is restarted by its policy and may look running.
        for attempt in range(2):
            if attempt:
                time.sleep(PROCESS_SETTLE_SECONDS)
            for service, _labels, container in compose_file.stack_containers(self.docker.containers(self.project_name)):
                if service in names:
                    state = container.get("State") or {}
                    restarts = container.get("RestartCount", 0)
                    if not state.get("Running") or state.get("Restarting") or (service in seen and restarts > seen[service]):
                        raise StackError("Stack %s: process %s is not running (%s, exit code %s, %s restarts). %s"
                                         % (self.name, compose_file.process_name(service), state.get("Status"),
                                            state.get("ExitCode"), restarts, self.log_tail(service)))
                    seen[service] = restarts
        missing = [name for name in names if name not in seen]
        if missing:
            raise StackError("Stack %s: no container runs process(es) %s" % (self.name, ", ".join(missing)))
        return [compose_file.process_name(name) for name in names]

    def read_details(self, details):
        token = details.get("token")
        found = health.read_details(self.url + details["path"], details, self.result.values.get(token, "") if token else None,
                                    timeout=30, use_proxy=False)
        if "problem" in found:
            raise StackError(found["problem"])
        return {"version": found["version"], "migrations": found["migrations"], "details": found["fields"]}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            project_dir=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "restarted", "rolled_back", "restored", "stopped", "absent"],
                       default="present"),
            validate_only=dict(type="bool", default=False),
            profile=dict(type="dict"),
            env=dict(type="dict", default={}, no_log=True),
            contract=CONTRACT_ARGUMENT_SPEC,
            extra=EXTRA_ARGUMENT_SPEC,
            mode=dict(type="str", choices=["prod", "dev"], default="prod"),
            db_name=dict(type="str", default="app"),
            db_user=dict(type="str", default="app"),
            secret_length=dict(type="int", default=48, no_log=False),
            backend_image=dict(type="str"),
            migrate_image=dict(type="str"),
            postgres_image=dict(type="str", default="postgres:15-alpine"),
            redis_image=dict(type="str", default="redis:7-alpine"),
            entrypoint=dict(type="list", elements="str", default=[]),
            command=dict(type="list", elements="str", default=[]),
            workdir=dict(type="str", default="/app"),
            bind_address=dict(type="str", default="127.0.0.1"),
            backend_port=dict(type="int", default=3000),
            postgres_port=dict(type="int"),
            redis_port=dict(type="int"),
            wait_timeout=dict(type="int", default=300),
            health_path=dict(type="str", default=""),
            verify=dict(type="bool", default=True),
            log_lines=dict(type="int", default=40),
            remove_volumes=dict(type="bool", default=False),
            remove_files=dict(type="bool", default=False),
            remove_images=dict(type="list", elements="str", default=[]),
            lock_timeout=dict(type="int", default=300),
            backups_keep=dict(type="int", default=5),
            backup=dict(type="str", default="latest"),
        ),
        required_if=[("state", "present", ["profile", "backend_image"]), ("state", "restarted", ["profile", "backend_image"]),
                     ("state", "rolled_back", ["profile"])],
        supports_check_mode=True,
    )
    stack = Stack(module)
    state = module.params["state"]
    try:
        check_settings(module.params)
        if state in ("stopped", "absent", "restored"):
            stack.lock()
            module.exit_json(**getattr(stack, state)())
        stack.environment()
        if module.params["validate_only"]:
            module.exit_json(**stack.base_result(changed=False, msg="Stack %s: settings and environment contract valid"
                                                 % stack.name))
        if state != "present":  # present takes it once its refusals passed
            stack.lock()
        result = getattr(stack, state)()
        if stack.diffs:
            result["diff"] = stack.diffs
        module.exit_json(**result)
    except (StackError, DockerError, BackupError, LockError) as exc:
        # Files already written (a start that failed) are a change.
        module.fail_json(msg=str(exc), changed=bool(stack.files) and not module.check_mode)
    finally:
        # exit_json and fail_json end the module by SystemExit: the lock is released on the way out.
        if stack.held is not None:
            stack.held.release()


if __name__ == "__main__":
    main()
