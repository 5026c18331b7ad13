#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: env_file
short_description: Write the backend's env file for Docker Compose, validated against the environment contract
version_added: 0.1.0
description:
  - Writes an env file that Docker Compose reads (C(env_file:) of a service, or C(--env-file)) with exactly the
    given values - one C(NAME=value) line per variable, sorted by name, quoted where a value needs it.
  - Validates the variables against the environment contract first (see M(backendops.stack.env_contract)); a bad
    value fails the task with one line naming every bad variable, and nothing is written.
  - Writes atomically (a temporary file in the same directory, private from its creation, renamed over the old one)
    with mode V(0600) unless told otherwise, so the secrets in the file are never readable by others, not even while
    it is written. O(unsafe_writes) is not used - the file is always replaced whole. Mode, owner, group and the SELinux and file attributes are
    set by Ansible's common file arguments (see M(ansible.builtin.file)).
  - Reports a change only when the content, the mode or the ownership differ.
  - Secret values never appear in the result, the diff, warnings or errors.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.env_contract
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details: Reports whether the file would change, and the diff, without writing anything.
  diff_mode:
    support: full
    details:
      - Shows the variables before and after as C(NAME=value) lines. Secret values show as C(NAME=********);
        a secret whose value changes shows as C(NAME=******** (changed)) afterwards.
      - Mode and ownership changes show as a second diff.
  idempotent:
    support: full
    details: A second run with the same input reports no change.
options:
  path:
    description:
      - The env file to write. Its directory must exist.
      - When O(path) is a symbolic link, the file it points to is written.
    type: path
    required: true
  variables:
    description:
      - The variables, as a mapping of name to value.
      - Numbers and booleans are written as text (V(true) and V(false) for booleans); a V(null) value leaves the
        variable out.
      - Values cannot contain line breaks.
    type: dict
    required: true
  mode:
    description:
      - Permissions of the file, as a quoted octal string such as C('0600'). YAML reads an unquoted C(600) as the
        decimal number 600, which is a different mode. Symbolic modes (C(u=rw)) are refused, so that the private
        default cannot be widened by accident.
    type: raw
    default: '0600'
  owner:
    description:
      - User that owns the file, by name or numeric ID. When omitted, an existing file keeps its owner and a new
        one belongs to the user the module runs as.
    type: str
  group:
    description:
      - Group of the file, by name or numeric ID. When omitted, an existing file keeps its group.
    type: str
  header:
    description:
      - Comment lines written at the top of the file, one list item per line; C(# ) is added where missing.
      - Keep them stable (no timestamps), or every run changes the file.
    type: list
    elements: str
    default: []
  validate_contract:
    description:
      - Check the variables against the environment contract (required variables and formats) before writing.
      - With V(false), only names, value types and O(extra) definitions are checked - for env files of other
        services that need a subset of the variables.
    type: bool
    default: true
  allow_references:
    description:
      - Accept values holding Railway reference variables (C(${{...}})) without checking their format.
      - Docker Compose does not resolve them - they end up literally in the container - so leave this V(false)
        unless the file feeds something that does.
    type: bool
    default: false
notes:
  - Values are quoted so that Docker Compose reads them literally - C($), C(#), quotes, backslashes and leading or
    trailing spaces included; Compose does not interpolate anything in a file written by this module.
  - Use the P(backendops.stack.dotenv#filter) filter to read an existing file back, for example to keep generated
    secrets across runs.
seealso:
  - module: backendops.stack.env_contract
  - plugin: backendops.stack.dotenv
    plugin_type: filter
  - module: community.docker.docker_compose_v2
  - name: Docker Compose env_file reference
    description: How Compose reads env files.
    link: https://docs.docker.com/reference/compose-file/services/#env_file
"""

EXAMPLES = r"""
---
- name: Read the existing env file, if any, to keep its generated secrets
  ansible.builtin.slurp:
    path: /srv/backend/.env
  register: current_env_file
  failed_when: false

- name: Keep the JWT secret of the last run, or make a new one
  ansible.builtin.set_fact:
    backend_jwt_secret: >-
      {{ (current_env_file.content | default('') | b64decode | backendops.stack.dotenv).JWT_SECRET
         | default(lookup('ansible.builtin.password', '/dev/null', length=48, chars=['ascii_letters', 'digits'])) }}
  no_log: true

- name: Write the backend's env file
  backendops.stack.env_file:
    path: /srv/backend/.env
    header:
      - Managed by Ansible (backendops.stack.env_file); local changes are overwritten.
    variables:
      NODE_ENV: production
      PORT: 3000
      DATABASE_URL: "postgresql://app:{{ db_password }}@postgres:5432/app"
      REDIS_URL: redis://redis:6379
      SUPABASE_URL: https://abcd.supabase.co
      SUPABASE_ANON_KEY: "{{ supabase_anon_key }}"
      JWT_SECRET: "{{ backend_jwt_secret }}"
      HEALTH_TOKEN: "{{ health_token }}"
      FEATURE_FLAGS: beta-ui
    extra:
      - name: FEATURE_FLAGS
        description: Comma-separated feature switches.
  register: env_file

- name: Restart the stack when the environment changed
  community.docker.docker_compose_v2:
    project_src: /srv/backend
    state: restarted
  when: env_file.changed
"""

RETURN = r"""
path:
  description: The path of the env file, as given.
  returned: always
  type: str
  sample: /srv/backend/.env
names:
  description: Names of the variables in the file, sorted.
  returned: success
  type: list
  elements: str
  sample: [DATABASE_URL, JWT_SECRET, NODE_ENV, PORT, REDIS_URL, SUPABASE_ANON_KEY, SUPABASE_URL]
changed_names:
  description:
    - Names of the variables that were added, removed or changed in value, sorted. Empty when only the mode,
      the ownership, the header or the quoting changed.
    - When the old file could not be read as an env file, every variable counts as changed.
  returned: success
  type: list
  elements: str
  sample: [JWT_SECRET, PORT]
secret_names:
  description: Names among RV(names) whose values are secret (and so masked in the diff).
  returned: success
  type: list
  elements: str
  sample: [DATABASE_URL, JWT_SECRET, REDIS_URL, SUPABASE_ANON_KEY]
"""

import grp
import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file
from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError, parse, render, render_value
from ansible_collections.backendops.stack.plugins.module_utils.env_contract import (
    CONTRACT_ARGUMENT_SPEC,
    EXTRA_ARGUMENT_SPEC,
    definitions,
    failure_message,
    is_secret,
    public_values,
    validate,
)
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import hide_values, masked_lines

_OCTAL_MODE_RE = re.compile(r"(?:0o?)?[0-7]{1,4}\Z")


class EnvFileError(Exception):
    """An expected failure, reported as one line."""


def file_mode(mode):
    """The numeric mode of the mode option: an octal string, or a number as YAML read it."""
    if isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    elif isinstance(mode, str) and _OCTAL_MODE_RE.match(mode.strip()):
        value = int(mode.strip().replace("0o", ""), 8)
    else:
        raise EnvFileError("mode %r is not an octal file mode: give it as a quoted string like '0600'" % (mode,))
    if not 0 <= value <= 0o7777:
        raise EnvFileError("mode %r is out of range: give it as a quoted octal string like '0600'" % (mode,))
    return value


def user_id(owner):
    if owner is None:
        return None
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        if owner.isdigit():
            return int(owner)
        raise EnvFileError("owner %r does not exist on the target host: create the user first or fix the name" % owner) from None


def group_id(group):
    if group is None:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        if group.isdigit():
            return int(group)
        raise EnvFileError("group %r does not exist on the target host: create the group first or fix the name" % group) from None


def read_current(target):
    """The bytes of the current file, or None when there is none."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnvFileError("cannot inspect %s: %s" % (target, exc.strerror)) from exc
    if not stat.S_ISREG(st.st_mode):
        raise EnvFileError("%s exists but is not a regular file: remove it or choose another path" % target)
    try:
        with open(target, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise EnvFileError("cannot read %s: %s - run the task with become or fix the permissions" % (target, exc.strerror)) from exc


def current_values(data):
    """Variables of the current file, or None (and why) when it is not an env file Compose could read."""
    try:
        return parse(data.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text"
    except DotenvError as exc:
        return None, str(exc)


def changed_names(before, after):
    if before is None:
        return sorted(after)
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def shown_value(name, value):
    """A non-secret value as the file holds it, for the diff."""
    try:
        return render_value(name, value)
    except DotenvError:
        return "(a value with a line break)"


def diff_view(values, secret, changed=()):
    """NAME=value lines for the diff, with secret values masked."""
    return masked_lines(values, secret, changed, shown_value)


def leading_comments(text):
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


def run(module):
    params = module.params
    result = validate(params["variables"], params["extra"], params["allow_references"], check_values=params["validate_contract"],
                      contract=params["contract"])
    hide_values(module, (), shown=public_values(result))
    if result.errors:
        raise EnvFileError(failure_message(result.errors))

    path = params["path"]
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    # In check mode the task that creates the directory has not run: the file would be new.
    if not os.path.isdir(directory) and not module.check_mode:
        raise EnvFileError("directory %s of %s does not exist: create it first (ansible.builtin.file with state=directory)"
                           % (directory, path))
    # AnsibleModule sets mode, owner and group; these checks only make a bad value one clear line before anything.
    file_args = module.load_file_common_arguments(params, path=target)
    file_args["mode"] = file_mode(params["mode"])
    user_id(params["owner"])
    group_id(params["group"])
    try:
        new_text = render(result.values, params["header"])
    except DotenvError as exc:
        raise EnvFileError(str(exc)) from exc
    new_data = new_text.encode("utf-8")

    old_data = read_current(target)
    old_values = None
    if old_data is not None:
        old_values, unreadable = current_values(old_data)
        if unreadable:
            module.warn("%s could not be read as an env file (%s); it is replaced as a whole" % (path, unreadable))

    content_changed = old_data != new_data
    names_changed = changed_names(old_values, result.values)
    diffs = []
    if module._diff and content_changed:
        by_name = definitions(params["extra"], params["contract"])[0]
        diffs.append(diff_for(path, old_data, old_values, result.values, params["header"],
                              lambda name: is_secret(name, by_name), names_changed))
    try:
        attributes_changed = False
        if old_data is not None:
            # The file that is replaced gets the wanted attributes first; atomic_move carries them over to the new
            # content. Unset owner and group mean "keep what the file has". Check mode only compares.
            attributes = dict(before_header="%s (attributes)" % path, after_header="%s (attributes)" % path)
            attributes_changed = module.set_fs_attributes_if_different(file_args, False, diff=attributes)
            if attributes_changed and module._diff:
                diffs.append(attributes)
        if content_changed and not module.check_mode:
            kept = {}
            if old_data is not None:
                # The new file is the writer's: the replaced file's owner and group are set again (or it fails).
                st = os.stat(target)
                kept = dict(owner=file_args["owner"] or st.st_uid, group=file_args["group"] or st.st_gid)
            # Private (0600) from its creation until it gets the wanted mode; the secrets are never readable by others.
            replace_file(target, new_data, file_args["mode"])
            module.set_fs_attributes_if_different(dict(file_args, **kept), True)
    except OSError as exc:
        raise EnvFileError("cannot write %s: %s - run the task with become or fix the permissions of %s"
                           % (path, exc.strerror, directory)) from exc

    output = dict(changed=content_changed or attributes_changed, path=path, names=list(result.names),
                  changed_names=names_changed, secret_names=list(result.secret_names))
    if diffs:
        output["diff"] = diffs
    return output


def diff_for(path, old_data, old_values, new_values, header, secret, names_changed):
    """The content diff: variables as NAME=value lines, secrets masked, old comments only when they are the header."""
    new_header = render({}, header)
    if old_data is None:
        before, before_header = "", "%s (absent)" % path
    elif old_values is None:
        before, before_header = "(not readable as an env file)\n", path
    else:
        # Any other old comment might be a commented-out secret.
        old_header = "".join(line + "\n" for line in leading_comments(old_data.decode("utf-8")))
        before_comments = new_header if old_header == new_header else ("# (other comments)\n" if old_header else "")
        before, before_header = before_comments + diff_view(old_values, secret), path
    # Added and removed lines speak for themselves; a secret that keeps its name needs the marker.
    replaced = [name for name in names_changed if old_values and name in old_values and name in new_values]
    return dict(before_header=before_header, before=before, after_header=path,
                after=new_header + diff_view(new_values, secret, replaced))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            variables=dict(type="dict", required=True, no_log=True),
            # The file arguments come from add_file_common_args; only the private default differs.
            mode=dict(type="raw", default="0600"),
            header=dict(type="list", elements="str", default=[]),
            validate_contract=dict(type="bool", default=True),
            contract=CONTRACT_ARGUMENT_SPEC,
            extra=EXTRA_ARGUMENT_SPEC,
            allow_references=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    try:
        output = run(module)
    except EnvFileError as exc:
        module.fail_json(msg=str(exc), path=module.params["path"])
    module.exit_json(**output)


if __name__ == "__main__":
    main()
