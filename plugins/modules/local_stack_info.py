#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_stack_info
short_description: Read a local stack's processes and their last log lines
version_added: 0.1.0
description:
  - Reads the containers of the Compose stack whose files M(backendops.stack.local_stack) keeps in O(project_dir) -
    each process's state, exit code and restart count - and the last O(log_lines) log lines of every process.
  - Runs on the Docker host, with the C(docker) command-line client; changes nothing.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.common_attributes.read_only
options:
  project_dir:
    description:
      - The stack's directory, where its C(compose.yaml) is.
    type: path
    required: true
  log_lines:
    description:
      - How many of the last log lines of each process to return; V(0) returns none.
    type: int
    default: 50
seealso:
  - module: backendops.stack.local_stack
"""

EXAMPLES = r"""
---
- name: Read the stack's processes and logs
  backendops.stack.local_stack_info:
    project_dir: ~/.local/share/backendops/stacks/dev
    log_lines: 100
  register: stack

- name: Show the logs
  ansible.builtin.debug:
    msg: "{{ stack.logs }}"
"""

RETURN = r"""
processes:
  description: Each container of the stack's own services (one-off commands left out), by service name.
  returned: always
  type: list
  elements: dict
  sample: [{service: backend, process: web, status: running, exit_code: 0, restarts: 0}]
logs:
  description: The last O(log_lines) log lines of every process, each prefixed by its service, as Compose prints them.
  returned: always
  type: list
  elements: str
  sample: ["backend-1  | listening on :3000"]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils import compose_file
from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli, DockerError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            log_lines=dict(type="int", default=50),
        ),
        supports_check_mode=True,
    )
    project_dir = module.params["project_dir"]
    if not os.path.isfile(os.path.join(project_dir, compose_file.COMPOSE_FILE)):
        module.fail_json(msg="No stack in %s: it has no %s (backendops.stack.local_stack writes it)"
                         % (project_dir, compose_file.COMPOSE_FILE))
    if module.params["log_lines"] < 0:
        module.fail_json(msg="log_lines must be 0 or more, not %d" % module.params["log_lines"])
    docker = DockerCli(module, project_dir)
    try:
        containers = docker.containers()
        processes = [{"service": service, "process": compose_file.process_name(service),
                      "status": (container.get("State") or {}).get("Status"),
                      "exit_code": (container.get("State") or {}).get("ExitCode"),
                      "restarts": container.get("RestartCount", 0)}
                     for service, _labels, container in compose_file.stack_containers(containers)]
        logs = []
        if module.params["log_lines"]:
            logs = docker.compose_logs(tail=module.params["log_lines"], check=True)[1].splitlines()
    except DockerError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, processes=sorted(processes, key=lambda process: process["service"] or ""), logs=logs)


if __name__ == "__main__":
    main()
