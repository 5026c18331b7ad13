#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_environment
short_description: Create, copy or delete a Railway environment
version_added: 0.2.0
description:
  - Makes sure an environment exists in a project (C(environmentCreate)), optionally as a copy of another one
    (O(source_environment)) with its services, settings, variables and volumes, as Railway's per-pull-request
    environments are; or that it does not (C(environmentDelete)).
  - An existing environment is left as it is; it is not compared with its source.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.railway
  - backendops.stack.common_attributes
  - backendops.stack.railway.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads only. In check mode a project still to be created is planned, not read.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  environment:
    description:
      - Name of the environment, for example V(pr-123).
    type: str
    required: true
  state:
    description:
      - V(present) creates the environment when missing, V(absent) deletes it with all its deployments, variables and
        volume data; an environment or project that does not exist is nothing to delete (no change).
    type: str
    choices: [present, absent]
    default: present
  source_environment:
    description:
      - Name or ID of the environment a new one is created as a copy of, for example V(production).
    type: str
  ephemeral:
    description:
      - Mark a new environment as ephemeral (a short-lived one, like Railway's PR environments).
    type: bool
    default: false
  skip_initial_deploys:
    description:
      - Do not deploy the copied services right away.
    type: bool
    default: false
  protected:
    description:
      - Names (or IDs) of environments that O(state=absent) refuses to delete, compared case-insensitively with the
        name and ID of the environment that O(environment) resolves to.
    type: list
    elements: str
    default: [production]
  workspace:
    description:
      - Name or ID of the workspace of O(project), as in M(backendops.stack.railway_project).
    type: str
seealso:
  - module: backendops.stack.railway_project
  - name: Environments
    description: Railway's environments and PR environments.
    link: https://docs.railway.com/reference/environments
"""

EXAMPLES = r"""
---
- name: A pull request's own environment
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Copy production to pr-123
      backendops.stack.railway_environment:
        project: shop
        environment: pr-123
        source_environment: production
        ephemeral: true

    - name: Remove it again when the pull request closes
      backendops.stack.railway_environment:
        project: shop
        environment: pr-123
        state: absent
"""

RETURN = r"""
environment:
  description: The environment; V(null) ID when it is (or would be) gone, or is still to be created in check mode.
  returned: always
  type: dict
  sample: {id: 3c4d..., name: pr-123}
planned:
  description: What was (or in check mode would be) created or deleted, one line each.
  returned: always
  type: list
  elements: str
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway.provision import Provisioner, not_found_yet, refuse_project_token


def main():
    argument_spec = dict(
        environment=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        source_environment=dict(type="str"),
        ephemeral=dict(type="bool", default=False),
        skip_initial_deploys=dict(type="bool", default=False),
        protected=dict(type="list", elements="str", default=["production"]),
        workspace=dict(type="str"),
    )
    railway = RailwayModule(argument_spec=argument_spec)
    railway.run(manage_environment)


def manage_environment(railway):
    params = railway.params
    name = params["environment"].strip()
    if not name:
        railway.fail("environment is empty: give the environment's name, for example pr-123")
    provisioner = Provisioner(railway.client)
    project = provisioner.find_project(params["project_id"] or params["project"], params["workspace"])
    if not project.exists and params["state"] == "absent":
        # A teardown of what was never created (or is already gone) has nothing to remove.
        railway.exit(changed=False, planned=[], environment={"id": None, "name": name}, project={"id": None, "name": project.name})
    if not project.exists:
        not_found_yet(railway, "project %r" % project.name)
    current = project.environment(name) if project.exists else None
    planned, environment = [], current
    if params["state"] == "absent":
        # The lookup takes an ID, or a name in any case: compare what it resolved to, not what was typed.
        protected = {p.strip().lower() for p in params["protected"]}
        if current is not None and protected & {current["id"].lower(), current["name"].lower()}:
            railway.fail("environment %s is protected (option protected): nothing was deleted" % current["name"])
        if current is not None:
            planned.append("delete environment %s of project %s" % (current["name"], project.name))
            refuse_project_token(railway.client, planned[-1])
            if not railway.check_mode:
                provisioner.delete_environment(current["id"])
        environment = {"id": None, "name": name}
    elif current is None:
        source = None
        if params["source_environment"]:
            source = project.environment(params["source_environment"]) if project.exists else {"id": None, "name": params["source_environment"]}
            if source is None:
                railway.fail("source_environment %r not found in project %s; existing: %s" % (
                    params["source_environment"], project.name, ", ".join(e["name"] for e in project.environments)))
        planned.append("environment %s%s" % (name, " (a copy of %s)" % source["name"] if source else ""))
        environment = {"id": None, "name": name}
        refuse_project_token(railway.client, planned[-1])
        if not railway.check_mode:
            environment = provisioner.create_environment(project.id, name, source["id"] if source else None,
                                                         params["ephemeral"], params["skip_initial_deploys"])
    result = dict(changed=bool(planned), planned=planned, environment=environment,
                  project={"id": project.id, "name": project.name})
    if railway.diff_mode:
        result["diff"] = {"before": {"environment": current["name"] if current else None},
                          "after": {"environment": None if params["state"] == "absent" else name}}
    railway.exit(**result)


if __name__ == "__main__":
    main()
