#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_variables
short_description: Manage Railway service or shared variables
version_added: 0.1.0
description:
  - Sets or removes variables of a Railway service, or the shared variables of an environment.
  - Compares against the current B(unrendered) values, so reference variables such as
    C(${{Postgres.DATABASE_URL}}) stay literal and are only changed when their text differs.
  - All additions and updates go to Railway in a single C(variableCollectionUpsert) request; removals use one
    C(variableDelete) request per name.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.railway
  - backendops.stack.common_attributes
  - backendops.stack.railway.attributes
  - backendops.stack.railway.sealed
attributes:
  check_mode:
    support: full
    details:
      - Reads the current variables and reports what would change without sending a mutation.
  diff_mode:
    support: full
    details:
      - The diff lists variable names; every value is masked.
      - A sealed variable's value cannot be read; it counts as changed when its value here is not the one this
        module sent last (remembered by digest).
  idempotent:
    support: full
options:
  service:
    description:
      - Name or ID of the service whose variables to manage.
      - When omitted, the shared variables of O(environment) are managed.
    type: str
  variables:
    description:
      - Variables as a mapping of name to value. Values are secret and never shown.
      - Numbers and booleans are sent as text (V(true)/V(false) for booleans).
      - With O(state=absent) only the names matter.
    type: dict
  names:
    description:
      - Names of variables to remove; only with O(state=absent), as an alternative to O(variables).
    type: list
    elements: str
  state:
    description:
      - V(present) makes sure the variables exist with the given values.
      - V(absent) removes the named variables; names that do not exist are ignored.
    type: str
    choices: [present, absent]
    default: present
  replace:
    description:
      - With O(state=present), also remove every variable of the service (or the shared variables) that is not in
        O(variables), including reference variables set by hand in the dashboard.
    type: bool
    default: false
  skip_deploys:
    description:
      - Tell Railway not to redeploy the affected services when variables are added or changed, so a playbook can
        change variables and settings and deploy once at the end with M(backendops.stack.railway_deploy).
      - Railway's C(variableDelete) has no such switch; removing variables may start a deployment.
    type: bool
    default: true
notes:
  - Reference values contain C({{), which Ansible would template; mark them C(!unsafe) as in the examples.
  - Ansible masks the values of O(variables) wherever they appear in the task result, so a short value such as
    V(production) also shows as C(********) in other fields that happen to contain it.
  - Railway-provided variables (C(RAILWAY_*)) are not returned by the unrendered read and are never touched.
  - Returned values never include variable values; use M(backendops.stack.railway_info) with
    O(backendops.stack.railway_info#module:variable_values) to read them.
seealso:
  - module: backendops.stack.railway_info
  - module: backendops.stack.railway_deploy
  - name: Railway variables
    description: Reference variables, shared variables and the API for them.
    link: https://docs.railway.com/variables
"""

EXAMPLES = r"""
---
- name: Configure and deploy the backend
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/backendops.stack.railway:
      project: backendops-demo
      environment: production
  tasks:
    - name: Set the backend's variables, keeping the references literal
      backendops.stack.railway_variables:
        service: backend
        variables:
          NODE_ENV: production
          DATABASE_URL: !unsafe "${{Postgres.DATABASE_URL}}"
          REDIS_URL: !unsafe "${{Redis.REDIS_URL}}"
          JWT_SECRET: "{{ vault_jwt_secret }}"
      register: backend_variables

    - name: Set a shared variable of the environment
      backendops.stack.railway_variables:
        variables:
          LOG_LEVEL: info

    - name: Create the signing key sealed (Railway never returns its value)
      backendops.stack.railway_variables:
        service: backend
        variables:
          JWT_SECRET: "{{ vault_jwt_secret }}"
        sealed: [JWT_SECRET]

    - name: Make the service's variables exactly this set
      backendops.stack.railway_variables:
        service: backend
        replace: true
        variables:
          NODE_ENV: production
          DATABASE_URL: !unsafe "${{Postgres.DATABASE_URL}}"

    - name: Remove an old variable
      backendops.stack.railway_variables:
        service: backend
        state: absent
        names:
          - LEGACY_API_KEY

    - name: Deploy once after all changes
      backendops.stack.railway_deploy:
        service: backend
        source: redeploy
      when: backend_variables is changed
"""

RETURN = r"""
added:
  description: Names of variables that were (or in check mode would be) created.
  returned: always
  type: list
  elements: str
  sample: [JWT_SECRET]
updated:
  description: Names of variables whose value was (or would be) changed.
  returned: always
  type: list
  elements: str
  sample: [NODE_ENV]
removed:
  description: Names of variables that were (or would be) removed.
  returned: always
  type: list
  elements: str
  sample: [LEGACY_API_KEY]
sealed:
  description: Names of the variables that are sealed on Railway after the task (their values are never read).
  returned: always
  type: list
  elements: str
  sample: [JWT_SECRET]
  version_added: 0.1.0
variable_names:
  description: Names of all variables of the service (or shared variables) after the task.
  returned: always
  type: list
  elements: str
  sample: [DATABASE_URL, JWT_SECRET, NODE_ENV, REDIS_URL]
target:
  description: The resolved project, environment and service (absent for shared variables).
  returned: always
  type: dict
  sample:
    project: {id: 1a2b..., name: backendops-demo}
    environment: {id: 3c4d..., name: production}
    service: {id: 5e6f..., name: backend}
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
  sample: 4
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.module import SEALED_ARGS, RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import variable_text
from ansible_collections.backendops.stack.plugins.module_utils.railway.variables import (
    bad_variable_names,
    sealed_memory,
    set_variables,
    unknown_sealed,
)


def main():
    railway = RailwayModule(
        argument_spec=dict(
            service=dict(type="str"),
            variables=dict(type="dict", no_log=True),
            names=dict(type="list", elements="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            replace=dict(type="bool", default=False),
            skip_deploys=dict(type="bool", default=True),
            **SEALED_ARGS,
        ),
        mutually_exclusive=[("variables", "names")],
        required_if=[("state", "present", ("variables",))],
        required_one_of=[("variables", "names")],
    )
    railway.run(manage_variables)


def manage_variables(railway):
    params = railway.params
    state = params["state"]
    if params["names"] is not None and state != "absent":
        railway.fail("names is only used with state=absent; use variables to set values")
    if params["replace"] and state != "present":
        railway.fail("replace is only used with state=present")
    problem = bad_variable_names(params["names"] or params["variables"] or {}) or unknown_sealed(
        params["sealed"], params["variables"] or {}, "variables")
    if problem:
        railway.fail(problem)
    if state == "absent":
        desired = {name: None for name in (params["names"] or list(params["variables"]))}
    else:
        try:
            desired = {str(name): variable_text(name, value) for name, value in params["variables"].items()}
        except ValueError as exc:
            railway.fail(str(exc))

    target = railway.resolve(params["service"])
    current = railway.client.variables(target.project_id, target.environment_id, target.service_id, unrendered=True)
    memory = sealed_memory(params["sealed_state_dir"], target, current, params["sealed"])
    result = set_variables(railway, target, current, desired, state, params["replace"], params["skip_deploys"],
                           sealed=params["sealed"], memory=memory)
    railway.exit(target=target.as_dict(), **result)


if __name__ == "__main__":
    main()
