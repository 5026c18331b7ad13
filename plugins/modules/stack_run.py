#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_run
short_description: Run a one-off command, or a cron process, in a local stack's context
version_added: 0.1.0
description:
  - Runs O(command) in a new container of the stack's C(task) service - the app's build image, with every dependency
    and the CLIs (C(prisma db seed), C(prisma migrate status), a script) - with the stack's variables, its secrets
    as files in C(/run/secrets) (exported before the command runs) and its network, like C(kamal app exec).
  - Or runs the app's cron process O(process) once, as its schedule would.
  - The container is removed afterwards; nothing else of the stack changes. Returns the command's output and exit
    code and fails when the exit code is not 0.
  - The stack's secret values are masked in the output.
  - The stack must have been brought up by M(backendops.stack.local_stack) (its C(compose.yaml) in O(project_dir)).
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
attributes:
  check_mode:
    support: full
    details: Runs nothing and reports what would run.
  diff_mode:
    support: none
  idempotent:
    support: none
    details: The command runs on every call, as M(ansible.builtin.command) does.
options:
  name:
    description: Name of the stack.
    type: str
    required: true
  project_dir:
    description: The stack's directory on the Docker host.
    type: path
    required: true
  command:
    description: Shell command to run in the C(task) service, from the app's folder. Exclusive with O(process).
    type: str
  process:
    description: Name of one of the app's cron processes to run once. Exclusive with O(command).
    type: str
seealso:
  - module: backendops.stack.local_stack
"""

EXAMPLES = r"""
---
- name: Seed the database of the local stack dev
  backendops.stack.stack_run:
    name: dev
    project_dir: ~/.local/share/backendops/stacks/dev
    command: npx prisma db seed

- name: Run the report cron job once
  backendops.stack.stack_run:
    name: dev
    project_dir: ~/.local/share/backendops/stacks/dev
    process: report
"""

RETURN = r"""
rc:
  description: The command's exit code.
  returned: when run
  type: int
stdout:
  description: What the command printed on its standard output.
  returned: when run
  type: str
stderr:
  description: What it printed on its standard error (Compose's own progress lines included).
  returned: when run
  type: str
msg:
  description: One line saying what ran and how it ended.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils import compose_file, local_stack
from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli, DockerError, last_lines
from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import hide_values


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            project_dir=dict(type="path", required=True),
            command=dict(type="str"),
            process=dict(type="str"),
        ),
        required_one_of=[("command", "process")],
        mutually_exclusive=[("command", "process")],
        supports_check_mode=True,
    )
    name, project_dir = module.params["name"], module.params["project_dir"]
    if not os.path.isfile(os.path.join(project_dir, compose_file.COMPOSE_FILE)):
        module.fail_json(msg="Stack %s has no %s in %s: bring it up first (backendops.stack.local_stack, "
                             "as make local and playbooks/local.yml run it)" % (name, compose_file.COMPOSE_FILE, project_dir))
    try:
        secrets = local_stack.read_previous_secrets(project_dir)
    except (DotenvError, UnicodeDecodeError, OSError) as exc:
        module.fail_json(msg="the secrets file of stack %s in %s cannot be read (%s)" % (name, project_dir, exc))
    hide_values(module, secrets.values())
    command, process = module.params["command"], module.params["process"]
    what = "%r" % command if command else "process %s" % process
    if module.check_mode:
        module.exit_json(changed=False, msg="Stack %s: would run %s" % (name, what))
    docker = DockerCli(module, project_dir)
    # -T: no terminal (output is captured); --no-deps: the stack's services already run.
    argv = ["run", "--rm", "--no-deps", "-T"]
    argv += [compose_file.TASK, "sh", "-c", command] if command else [process]
    try:
        if process:
            services = docker.compose("--profile", "cron", "config", "--services")[1].split()
            if process not in services:
                crons = sorted(set(services) - {"backend", "migrate", "postgres", "redis", compose_file.TASK})
                module.fail_json(msg="Stack %s has no cron process %s: its processes are %s (the app profile's "
                                     "processes with a schedule)" % (name, process, ", ".join(crons) or "none"))
            argv = ["--profile", "cron"] + argv
        rc, out, err = docker.compose(*argv, check=False)
    except DockerError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=True, rc=rc, stdout=out, stderr=err,
                  msg="Stack %s: %s exited with %d" % (name, what, rc))
    if rc != 0:
        result["msg"] += ": %s" % last_lines(err or out)
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
