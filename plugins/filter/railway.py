# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the railway role (documentation in railway_variables.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError, parse
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import service_variables


def railway_variables(defaults, variables=None, env_text=None, drop=None):
    """The service's variables as Railway stores them: defaults (less drop), then variables, then the env file."""
    for name, value in (("defaults", defaults), ("variables", variables)):
        if value is not None and not isinstance(value, dict):
            raise AnsibleFilterError("railway_variables: %s must be a dict of NAME: value, got %s" % (name, type(value).__name__))
    try:
        from_file = parse(env_text) if env_text else {}
    except DotenvError as exc:
        raise AnsibleFilterError("railway_variables: the env file cannot be read: %s" % exc) from None
    # Secrets may contain {{ }}; they are data, never templates.
    return wrap_var(service_variables([defaults or {}, variables or {}, from_file], drop or ()))


class FilterModule:
    """backendops.stack filters of the railway role."""

    def filters(self):
        return {"railway_variables": railway_variables}
