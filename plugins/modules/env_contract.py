#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: env_contract
short_description: Validate the backend's environment variables against the environment contract
version_added: 0.1.0
description:
  - Checks a set of environment variables against the environment contract of the backend - the one definition
    of its variables (names, required or optional, format, secret) that the local env file and the Railway
    variables both follow. See C(docs/environment-contract.md) in the collection for the table.
  - Run it before anything changes, so a bad value stops the play with one line that names every bad variable,
    says what is expected and never shows a secret value.
  - The contract is the app's (O(contract), from M(backendops.stack.app_profile)), else the base one.
    Variables outside it are allowed when their names match C(^[A-Z_][A-Z0-9_]*$); declare them in
    O(extra) to check them as well.
  - Changes nothing.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.common_attributes.read_only
  - backendops.stack.env_contract
options:
  variables:
    description:
      - The variables to check, as a mapping of name to value.
      - Numbers and booleans count as their text (V(true) and V(false) for booleans); a V(null) value counts as
        not set, and so does an empty value of an optional variable.
      - Ansible hides these values in the task output; the module unmasks the values of non-secret variables
        so that error messages can quote them.
    type: dict
    required: true
  allow_references:
    description:
      - Accept Railway reference variables such as C(${{Postgres.DATABASE_URL}}) - values that hold one or more
        C(${{...}}) references, alone or inside other text - without checking their format, since Railway
        renders them later. A malformed reference is still an error.
      - Leave it V(false) for env files, which Docker Compose reads literally.
    type: bool
    default: false
  sealed:
    description:
      - Names of variables that Railway holds sealed, whose values cannot be read (listed with a V(null) value);
        they count as set, and their format is not checked.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
notes:
  - Reference values contain C({{), which Ansible would template; mark them C(!unsafe) or wrap them in
    C({% raw %}) as in the examples.
seealso:
  - module: backendops.stack.env_file
  - module: backendops.stack.railway_variables
"""

EXAMPLES = r"""
---
- name: Check the backend's environment before deploying anything
  backendops.stack.env_contract:
    variables:
      NODE_ENV: production
      PORT: 3000
      DATABASE_URL: "postgresql://app:{{ db_password }}@db:5432/app"
      REDIS_URL: redis://redis:6379
      SUPABASE_URL: https://abcd.supabase.co
      SUPABASE_ANON_KEY: "{{ supabase_anon_key }}"
      JWT_SECRET: "{{ jwt_secret }}"
      HEALTH_TOKEN: "{{ health_token }}"
      STRIPE_WEBHOOK_SECRET: "{{ stripe_webhook_secret }}"
    extra:
      - name: STRIPE_WEBHOOK_SECRET
        required: true
        secret: true
        min_length: 20
  register: contract

- name: Check Railway variables, which may reference other services
  backendops.stack.env_contract:
    variables:
      NODE_ENV: production
      PORT: 8080
      DATABASE_URL: !unsafe "${{Postgres.DATABASE_URL}}"
      REDIS_URL: !unsafe "${{Redis.REDIS_URL}}"
      SUPABASE_URL: https://abcd.supabase.co
      SUPABASE_ANON_KEY: "{{ supabase_anon_key }}"
      JWT_SECRET: !unsafe "${{shared.JWT_SECRET}}"
      HEALTH_TOKEN: "{{ health_token }}"
    allow_references: true

- name: Show which variables are secret
  ansible.builtin.debug:
    msg: "{{ contract.secret_names | join(', ') }}"
"""

RETURN = r"""
names:
  description: Names of the given variables that are set, sorted.
  returned: success
  type: list
  elements: str
  sample: [DATABASE_URL, JWT_SECRET, NODE_ENV, PORT, REDIS_URL, SUPABASE_ANON_KEY, SUPABASE_URL]
secret_names:
  description:
    - Names among RV(names) whose values are secret - by the contract, by O(extra), or because the variable is
      neither in the contract nor in O(extra).
  returned: success
  type: list
  elements: str
  sample: [DATABASE_URL, JWT_SECRET, REDIS_URL, SUPABASE_ANON_KEY]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.env_contract import (
    CONTRACT_ARGUMENT_SPEC,
    EXTRA_ARGUMENT_SPEC,
    failure_message,
    public_values,
    validate,
)
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import hide_values


def main():
    module = AnsibleModule(
        argument_spec=dict(
            variables=dict(type="dict", required=True, no_log=True),
            contract=CONTRACT_ARGUMENT_SPEC,
            extra=EXTRA_ARGUMENT_SPEC,
            allow_references=dict(type="bool", default=False),
            sealed=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    result = validate(module.params["variables"], module.params["extra"], module.params["allow_references"],
                      contract=module.params["contract"], sealed=module.params["sealed"])
    hide_values(module, (), shown=public_values(result))
    if result.errors:
        module.fail_json(msg=failure_message(result.errors))
    module.exit_json(changed=False, names=list(result.names), secret_names=list(result.secret_names))


if __name__ == "__main__":
    main()
