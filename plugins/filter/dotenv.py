# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The dotenv filter: the variables of an env file's text (documentation in dotenv.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError, parse


def dotenv(text):
    """Variables (name -> value) of env-file text, read the way Docker Compose reads it."""
    if text is None:
        return {}
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise AnsibleFilterError("dotenv: the input is not UTF-8 text") from None
    if not isinstance(text, str):
        raise AnsibleFilterError("dotenv: expected the text of an env file, got %s - decode slurp output with b64decode first"
                                 % type(text).__name__)
    try:
        values = parse(text)
    except DotenvError as exc:
        raise AnsibleFilterError("dotenv: %s" % exc) from None
    # Secrets may contain {{ }}; they are data, never templates.
    return wrap_var(values)


class FilterModule:
    """backendops.stack filters."""

    def filters(self):
        return {"dotenv": dotenv}
