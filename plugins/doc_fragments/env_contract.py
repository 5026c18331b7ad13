# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # The app's contract and its own extra variable definitions, shared by env_contract and env_file
    # (CONTRACT_ARGUMENT_SPEC and EXTRA_ARGUMENT_SPEC in plugins/module_utils/env_contract.py).
    DOCUMENTATION = r"""
options:
  contract:
    description:
      - The environment contract to check against, one definition per variable - usually the C(contract) of the
        app's profile (M(backendops.stack.app_profile)), which adds the app's own variables to the base contract.
      - Without it, the base contract of an app with PostgreSQL and Redis - C(NODE_ENV), C(PORT), C(DATABASE_URL) and
        C(REDIS_URL), all required.
    type: list
    elements: dict
    # One definition of a variable's fields, for both options.
    suboptions: &definition
      name:
        description:
          - Name of the variable; must match C(^[A-Z_][A-Z0-9_]*$).
        type: str
        required: true
      required:
        description:
          - Whether the variable must be set to a non-empty value.
        type: bool
        default: false
      format:
        description:
          - What a value must look like.
          - V(string) is any text, V(choice) one of C(choices), V(integer) a whole number,
            V(positive_integer) a whole number of at least 1, V(port) an integer from 1 to 65535,
            V(boolean) V(true) or V(false), V(url) a URL with a host and one of C(schemes),
            V(origins) V(*) or a comma-separated list of http(s) origins.
        type: str
        choices: [string, choice, integer, positive_integer, port, boolean, url, origins]
        default: string
      secret:
        description:
          - Whether the value is secret. Secret values never appear in errors, diffs or results.
        type: bool
        default: false
      choices:
        description:
          - The allowed values, for C(format=choice).
        type: list
        elements: str
      schemes:
        description:
          - The allowed URL schemes (without C(://)), for C(format=url); defaults to V(http) and V(https).
        type: list
        elements: str
      min_length:
        description:
          - The least number of characters of a value.
        type: int
        default: 0
      description:
        description:
          - What the variable is for; documentation only.
        type: str
        default: ""
      required_when:
        description:
          - "Variables and values that make this variable required, for example C({NODE_ENV: production})."
        type: dict
      generate:
        description:
          - The local stack generates a random value on its first run and keeps it (a secret such as C(JWT_SECRET)).
        type: bool
        default: false
  extra:
    description:
      - Definitions of further variables, checked like those of O(contract). Variables in neither count as
        secret, so declare non-secret ones here with O(extra[].secret=false) to see their values in diffs and errors.
      - A name that the contract already defines, or a definition that does not add up (for example O(extra[].choices)
        without O(extra[].format=choice)), is reported as an error.
    type: list
    elements: dict
    default: []
    suboptions: *definition
"""
