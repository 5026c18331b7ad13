#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: source_sync
short_description: Copy an app's source from the controller to the Docker host, only when it changed
version_added: 0.1.0
description:
  - Packs O(src) on the controller into one archive, compares its digest with the copy at O(dest) on the host and,
    only when they differ, uploads the archive and brings O(dest) to exactly its files, in place. No rsync or other
    tool is needed on the host.
  - What is copied follows the rules of a Railway upload (M(backendops.stack.railway_deploy)) - C(.gitignore) and
    C(.railwayignore) at every level are honoured, and C(.git), C(node_modules), env files (C(.env), C(.env.*),
    C(*.env)) and private keys (C(*.pem), C(*.key), C(id_rsa*), C(id_ed25519*)) are never copied, nor an
    C(.npmrc) that holds a credential (C(_authToken), C(_auth) or C(_password) with a value other than a
    C(${VARIABLE}) reference).
  - Symbolic links are followed within O(src) only; a link that leads out of O(src) or onto one of those names is
    left out with a warning and listed in RV(withheld).
  - Files at O(dest) that the archive does not have are removed. Directories are updated file by file, so a
    container that bind-mounts one of them (dev mode) sees the new files.
  - The app_image role runs it when the Docker host is not the controller (C(app_image_source_copy)).
author:
  - backendops.stack maintainers (@backendops)
attributes:
  action:
    support: full
    description: An action plugin packs O(src) on the controller; the module runs on the host.
  check_mode:
    support: full
    description: Reports whether the copy would change; uploads and writes nothing.
  diff_mode:
    support: none
    description: RV(written) and RV(removed) list the files that changed.
  idempotent:
    support: full
    description: An unchanged source is not uploaded again and reports no change.
options:
  src:
    description:
      - The app's source directory on the controller.
    type: path
    required: true
  dest:
    description:
      - The directory on the Docker host that holds the copy. Created when missing; only its files are managed, so
        give it a directory of its own.
    type: path
    required: true
  digest:
    description:
      - Set by the action plugin - the digest of the packed source. Do not set it.
    type: str
    required: true
  archive:
    description:
      - Set by the action plugin - the uploaded archive on the host. Do not set it.
    type: path
notes:
  - The copy has modes 0644 and 0755 (executable files) and the connecting user's ownership.
seealso:
  - module: backendops.stack.build_context_digest
  - module: backendops.stack.railway_deploy
"""

EXAMPLES = r"""
- name: Copy the app's source to the Docker host
  backendops.stack.source_sync:
    src: ~/src/my-api
    dest: ~/.cache/backendops/app-image/my-api/source
  register: app_source

- name: Build from the copy
  community.docker.docker_image_build:
    name: my-api
    tag: latest
    path: "{{ app_source.path }}"
"""

RETURN = r"""
path:
  description: The absolute path of the copy on the host.
  type: str
  returned: always
  sample: /home/deploy/.cache/backendops/app-image/my-api/source
digest:
  description: SHA-256 of the packed source (names, modes and contents of its files).
  type: str
  returned: always
  sample: 3f1c0e9a5d7b2e48c6a1f0d9b8e7c6a5d4f3e2b1a0c9d8e7f6a5b4c3d2e1f0a9
files:
  description: How many files the source has.
  type: int
  returned: always
  sample: 42
withheld:
  description:
    - What was left out for safety, with the pattern each matched (directories with a trailing C(/)). Entries for
      symbolic links also have C(link) - the resolved path within O(src), or V(null) when it leads out of it
      (pattern C(symlink outside the source)).
  type: list
  elements: dict
  returned: always
  sample: [{path: .env, pattern: .env}, {path: app.conf, pattern: .env, link: .env}]
written:
  description: Files of the copy that were written (relative paths).
  type: list
  elements: str
  returned: when the copy changed and not in check mode
  sample: [src/server.js]
removed:
  description: Files removed from the copy because the source no longer has them.
  type: list
  elements: str
  returned: when the copy changed and not in check mode
  sample: [src/old.js]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.source_archive import SourceError
from ansible_collections.backendops.stack.plugins.module_utils.source_sync import sync_tree, tree_digest


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            digest=dict(type="str", required=True),
            archive=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    dest = os.path.abspath(module.params["dest"])
    result = dict(changed=False, path=dest, digest=module.params["digest"])
    if tree_digest(dest) == module.params["digest"]:
        module.exit_json(**result)
    result["changed"] = True
    # Without the archive this is the action plugin asking whether to upload it (and the answer in check mode).
    if module.check_mode or not module.params["archive"]:
        module.exit_json(**result)
    try:
        result["written"], result["removed"] = sync_tree(dest, module.params["archive"])
    except (OSError, SourceError) as exc:
        module.fail_json(msg="Cannot write the app's source to %s on the Docker host: %s. Give app_image_source_copy_dir "
                         "a directory the connecting user may write." % (dest, getattr(exc, "strerror", None) or exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
