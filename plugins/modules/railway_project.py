#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_project
short_description: Make sure a Railway project exists in a workspace
version_added: 0.2.0
description:
  - Looks the project up by name (or ID) in a workspace and creates it with C(projectCreate) when it is missing,
    with one environment named O(environment).
  - Projects are never deleted by this module.
  - Only account and workspace tokens can create projects; a project token is reported as such, in one line.
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
      - Reads only; reports the project that would be created.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  workspace:
    description:
      - Name or ID of the workspace the project is in, or is created in.
      - With an account token a name is matched against the account's workspaces; unset, the account's only workspace
        (or, with several, all of them are searched and Railway's default is used for creation).
      - A workspace token sees only its own workspace, by ID; leave it out to use the token's workspace.
    type: str
  environment:
    description:
      - Name of the environment a new project is created with.
    type: str
    default: production
  description:
    description:
      - Description of a new project.
    type: str
seealso:
  - module: backendops.stack.railway_environment
  - module: backendops.stack.railway_service
  - module: backendops.stack.railway_database
"""

EXAMPLES = r"""
---
- name: A project for the backend
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Create it when missing
      backendops.stack.railway_project:
        project: shop
        workspace: Acme
      register: shop

    - name: Show its ID
      ansible.builtin.debug:
        msg: "{{ shop.project.id }} ({{ shop.environments | join(', ') }})"
"""

RETURN = r"""
project:
  description: The project; in check mode a project still to be created has V(null) as ID.
  returned: always
  type: dict
  sample: {id: 1a2b..., name: shop}
environments:
  description: Names of the project's environments.
  returned: always
  type: list
  elements: str
  sample: [production]
planned:
  description: What was (or in check mode would be) created, one line each.
  returned: always
  type: list
  elements: str
  sample: ["project shop in workspace Acme (environment production)"]
token_kind:
  description: The kind of token used, V(account token), V(workspace token) or V(project token).
  returned: always
  type: str
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway.client import API_TOKEN_ENV
from ansible_collections.backendops.stack.plugins.module_utils.railway.provision import ACCOUNT, Provisioner, refuse_project_token


def main():
    argument_spec = dict(
        workspace=dict(type="str"),
        environment=dict(type="str", default="production"),
        description=dict(type="str"),
    )
    railway = RailwayModule(argument_spec=argument_spec)
    railway.run(manage_project)


def manage_project(railway):
    params = railway.params
    name = params["project_id"] or params["project"]
    provisioner = Provisioner(railway.client)
    if not name and provisioner.token is None:
        railway.fail("project is required with an account or workspace token (api_token): give its name or ID")
    project = provisioner.find_project(name, params["workspace"])
    planned = []
    if not project.exists:
        workspace = project.workspace
        if workspace is None and not params["workspace"] and provisioner.token == ACCOUNT:
            # Railway would not pick one of several workspaces for the account: say which option to set.
            railway.fail("workspace is required to create project %s: this account token (%s) belongs to several workspaces; "
                         "give the workspace's name or ID" % (project.name, API_TOKEN_ENV))
        planned.append("project %s%s (environment %s)" % (
            project.name, " in workspace %s" % workspace["name"] if workspace else "", params["environment"]))
        refuse_project_token(railway.client, planned[-1])
        if not railway.check_mode:
            project = provisioner.create_project(project.name, workspace["id"] if workspace else params["workspace"],
                                                 params["environment"], params["description"])
    result = dict(
        changed=bool(planned),
        planned=planned,
        project={"id": project.id, "name": project.name},
        environments=[e["name"] for e in project.environments] or ([params["environment"]] if planned else []),
        token_kind=provisioner.token,
    )
    if railway.diff_mode:
        result["diff"] = {"before": {"project": None if planned else project.name}, "after": {"project": project.name}}
    railway.exit(**result)


if __name__ == "__main__":
    main()
