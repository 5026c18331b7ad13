# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the local stack (documentation in stack_previous_secrets.yml, stack_environment.yml, build_failure.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError
from ansible_collections.backendops.stack.plugins.module_utils import local_stack


def stack_previous_secrets(files):
    """Secrets of an earlier run, from the slurp results of the stack's files."""
    try:
        return wrap_var(local_stack.previous_secrets(files))
    except (DotenvError, UnicodeDecodeError, ValueError) as exc:
        raise AnsibleFilterError("stack_previous_secrets: a secrets file of the stack cannot be read (%s)" % exc) from None


def stack_environment(profile, previous, user_env, mode, db_user="app", db_name="app", secret_length=48):
    """Generated secrets (kept across runs) and the backend's variables, from the app profile."""
    if not isinstance(profile, dict) or "services" not in profile:
        raise AnsibleFilterError("stack_environment: expects an app profile (backendops.stack.app_profile) as input")
    if not isinstance(user_env, dict):
        raise AnsibleFilterError("stack_environment: compose_stack_env must be a dict of NAME: value, got %s"
                                 % type(user_env).__name__)
    # Secrets may contain {{ }}; they are data, never templates.
    return wrap_var(local_stack.stack_environment(profile, previous or {}, user_env, mode, db_user, db_name,
                                                  int(secret_length)))


def build_failure(result, image):
    """One line naming the failing Dockerfile step of a failed docker_image_build, with its last output lines."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("build_failure: expects the result of a failed docker_image_build task")
    return local_stack.build_failure(result, image)


class FilterModule:
    """backendops.stack filters of the local stack."""

    def filters(self):
        return {"stack_previous_secrets": stack_previous_secrets, "stack_environment": stack_environment,
                "build_failure": build_failure}
