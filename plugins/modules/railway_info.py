#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_info
short_description: Read a Railway project, its services, deployments and variables
version_added: 0.1.0
description:
  - Returns the project, its environments and, for one environment, every service (or one) with its build and
    deploy settings, latest deployment and status, domains and variable names.
  - Variable values are only returned when O(variable_values) asks for them.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.railway
  - backendops.stack.common_attributes
  - backendops.stack.railway.attributes
  - backendops.stack.common_attributes.read_only
options:
  service:
    description:
      - Name or ID of a service to limit the result to. By default all services of the project are returned.
      - Each service costs one API request (settings, latest deployment, domains and variables together).
    type: str
  variable_values:
    description:
      - Whether to return variable values besides their names.
      - V(none) returns names only.
      - V(unrendered) returns values as stored, with references such as C(${{Postgres.DATABASE_URL}}) kept literal.
      - V(rendered) returns values with references resolved, as the service sees them.
      - Values are secrets. Use C(no_log) on the task when asking for them.
    type: str
    choices: [none, unrendered, rendered]
    default: none
  deployment_history:
    description:
      - Number of recent deployments to list for each service, newest first, in RV(services[].deployments).
      - The latest deployment is always returned; each service with a history costs one more API request.
    type: int
    default: 0
  log_lines:
    description:
      - Number of build and of deploy log lines of each service's latest deployment to return in
        RV(services[].latest_deployment.build_logs) and RV(services[].latest_deployment.deploy_logs), for example to
        show why a deployment that went live does not answer. Costs two API requests per deployed service.
    type: int
    default: 0
  shared_variables:
    description:
      - Whether to read the environment's shared variables (one API request) for RV(shared_variable_names) and
        RV(shared_variables). Set V(false) when only the service's own variables matter.
    type: bool
    default: true
  scale_settings:
    description:
      - Whether to also read each service's resource limits and regions (C(cpu_limit), C(memory_limit_gb),
        C(regions) in RV(services[].settings); one API request per service). Unread, they are V(null).
    type: bool
    default: false
    version_added: 0.1.0
seealso:
  - module: backendops.stack.railway_variables
  - module: backendops.stack.railway_service
  - module: backendops.stack.railway_deploy
"""

EXAMPLES = r"""
---
- name: Inspect the production environment
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read the project
      backendops.stack.railway_info:
        project: backendops-demo
        environment: production
      register: railway

    - name: Show the status of every service's latest deployment
      ansible.builtin.debug:
        msg: "{{ item.name }}: {{ item.latest_deployment.status | default('never deployed') }}"
      loop: "{{ railway.services }}"
      loop_control:
        label: "{{ item.name }}"

    - name: Read the backend's rendered variables (secret)
      backendops.stack.railway_info:
        project: backendops-demo
        environment: production
        service: backend
        variable_values: rendered
      register: backend
      no_log: true

    - name: Check that the backend reaches the database
      ansible.builtin.assert:
        that:
          - "'DATABASE_URL' in backend.services[0].variable_names"
        quiet: true
"""

RETURN = r"""
project:
  description: The project.
  returned: always
  type: dict
  sample: {id: 1a2b..., name: backendops-demo}
environment:
  description: The environment the services are read from.
  returned: always
  type: dict
  sample: {id: 3c4d..., name: production}
environments:
  description:
    - All environments of the project that the token can see.
    - Empty when O(project_id), O(environment_id) and O(service_id) were given, since then nothing is looked up.
  returned: always
  type: list
  elements: dict
  sample: [{id: 3c4d..., name: production}, {id: 7a8b..., name: staging}]
services:
  description: The services, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Service ID.
      type: str
    name:
      description: Service name.
      type: str
    settings:
      description: Build and deploy settings, named like the options of M(backendops.stack.railway_service).
      type: dict
      sample: {healthcheck_path: /api/health, pre_deploy_command: [npx prisma migrate deploy], replicas: 1}
    latest_deployment:
      description: The newest deployment, or V(null) when the service was never deployed.
      type: dict
      sample:
        id: 9f8e...
        status: SUCCESS
        created_at: "2026-11-27T10:00:00.000Z"
        url: https://backend-production.up.railway.app
        meta: {message: "sha256:..."}
        serving: true
      contains:
        serving:
          description: Whether this deployment serves the service (it succeeded, or sleeps after inactivity).
          type: bool
          returned: always
        build_logs:
          description: The last O(log_lines) build log lines.
          type: list
          elements: str
          returned: when O(log_lines) is more than 0 and the service has a deployment
        deploy_logs:
          description: The last O(log_lines) deploy log lines.
          type: list
          elements: str
          returned: when O(log_lines) is more than 0 and the service has a deployment
    deployments:
      description: The newest deployments (O(deployment_history) of them), newest first.
      type: list
      elements: dict
      returned: when O(deployment_history) is more than 0
    domains:
      description: Service (Railway-generated) and custom domains.
      type: list
      elements: dict
      sample: [{domain: backend-production.up.railway.app, kind: service, target_port: null}]
    url:
      description: C(https://) URL of the first domain, or V(null) without a domain.
      type: str
      sample: https://backend-production.up.railway.app
    variable_names:
      description: Names of the service's variables (without Railway-provided C(RAILWAY_*) variables).
      type: list
      elements: str
      sample: [DATABASE_URL, NODE_ENV]
    variables:
      description: Name to value mapping. B(Secret.)
      type: dict
      returned: when O(variable_values) is not V(none)
shared_variable_names:
  description: Names of the shared variables of the environment.
  returned: unless O(shared_variables=false)
  type: list
  elements: str
  sample: [LOG_LEVEL]
shared_variables:
  description: Shared variables, name to value. B(Secret.)
  returned: when O(variable_values) is not V(none) and O(shared_variables=true)
  type: dict
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
  sample: 9
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import (
    deployment_view,
    domain_list,
    instance_settings,
    log_messages,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RailwayModule


def main():
    railway = RailwayModule(
        argument_spec=dict(
            service=dict(type="str"),
            variable_values=dict(type="str", default="none", choices=["none", "unrendered", "rendered"]),
            deployment_history=dict(type="int", default=0),
            log_lines=dict(type="int", default=0),
            shared_variables=dict(type="bool", default=True),
            scale_settings=dict(type="bool", default=False),
        ),
    )
    railway.run(read_project)


def read_project(railway):
    params = railway.params
    for option in ("deployment_history", "log_lines"):
        if params[option] < 0:
            railway.fail("%s must be zero or more, not %d" % (option, params[option]))
    with_values = params["variable_values"] != "none"
    unrendered = params["variable_values"] != "rendered"
    client = railway.client
    target = railway.resolve(params["service"], list_services=not (params["service"] or params["service_id"]))
    services = [target.service] if target.service else sorted(target.services, key=lambda s: s["name"].lower())

    service_results = []
    for service in services:
        instance, variables = client.service_state(target.project_id, target.environment_id, service["id"],
                                                   unrendered=unrendered)
        domains = domain_list(instance.get("domains"))
        entry = {
            "id": service["id"],
            "name": service["name"],
            "settings": instance_settings(instance, client.service_scale(target.environment_id, service["id"])
                                          if params["scale_settings"] else None),
            "latest_deployment": deployment_view(instance.get("latestDeployment")),
            "domains": domains,
            "url": "https://" + domains[0]["domain"] if domains else None,
            "variable_names": sorted(variables),
        }
        latest = instance.get("latestDeployment")
        if params["log_lines"] and latest:
            entry["latest_deployment"].update(
                build_logs=log_messages(client.build_logs(latest["id"], params["log_lines"])),
                deploy_logs=log_messages(client.deployment_logs(latest["id"], params["log_lines"])))
        if params["deployment_history"]:
            entry["deployments"] = [deployment_view(d) for d in client.deployments(
                target.project_id, target.environment_id, service["id"], first=params["deployment_history"])]
        if with_values:
            entry["variables"] = variables
        service_results.append(entry)

    result = dict(
        changed=False,
        project=target.project,
        environment=target.environment,
        environments=target.environments,
        services=service_results,
    )
    if params["shared_variables"]:
        shared = client.variables(target.project_id, target.environment_id, None, unrendered=unrendered)
        result["shared_variable_names"] = sorted(shared)
        if with_values:
            result["shared_variables"] = shared
    railway.exit(**result)


if __name__ == "__main__":
    main()
