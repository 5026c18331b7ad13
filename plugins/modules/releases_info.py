#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: releases_info
short_description: List the releases recorded for a local stack or a Railway environment
version_added: 0.1.0
description:
  - Reads the release record - one JSON line per run that changed something - that
    M(backendops.stack.local_stack) keeps in the stack's C(releases.jsonl) and M(backendops.stack.railway_release)
    keeps per project and environment, and returns the records and a table of them.
  - A record holds who released what, when, from which host, the commit and digests, the migrations applied, the
    backup taken before them and the outcome; it never holds a variable's value.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.common_attributes.read_only
options:
  path:
    description:
      - The record file. A missing file has no records.
    type: path
    required: true
  limit:
    description:
      - How many of the newest records to return; V(0) returns all.
    type: int
    default: 20
seealso:
  - module: backendops.stack.local_stack
  - module: backendops.stack.railway_release
"""

EXAMPLES = r"""
---
- name: Read the local stack's releases
  backendops.stack.releases_info:
    path: ~/.local/share/backendops/stacks/dev/releases.jsonl
  register: releases

- name: Show them as a table
  ansible.builtin.debug:
    msg: "{{ releases.table }}"
"""

RETURN = r"""
records:
  description: The newest records (at most O(limit)), oldest first.
  returned: always
  type: list
  elements: dict
  sample:
    - {time: "2026-12-06T18:02:11+00:00", user: me, host: laptop, target: dev, outcome: restored,
       migrations: [20261206_add_orders], backup: backups/dev-20261206T180200Z.dump}
table:
  description: The same records as aligned text lines, a header first.
  returned: always
  type: list
  elements: str
  sample: ["time                       user  host    target  outcome   commit  migrations  backup"]
total:
  description: How many records the file holds.
  returned: always
  type: int
  sample: 12
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.release_record import read, table


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            limit=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    if module.params["limit"] < 0:
        module.fail_json(msg="limit must be 0 (all records) or more, not %d" % module.params["limit"])
    try:
        records = read(module.params["path"])
    except OSError as exc:
        module.fail_json(msg="The release record %s cannot be read: %s" % (module.params["path"], exc.strerror or exc))
    shown = records[-module.params["limit"]:] if module.params["limit"] else records
    module.exit_json(changed=False, records=shown, table=table(shown), total=len(records))


if __name__ == "__main__":
    main()
