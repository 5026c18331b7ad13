#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: build_context_digest
short_description: Content digest of a Docker build context, for content-addressed image tags
version_added: 0.1.0
description:
  - Computes a SHA-256 digest over a Docker build context directory, the way the context is sent to the engine.
    The digest covers the sorted relative paths, the entry types and permission bits, the file contents and symlink
    targets. Modification times, owners and the order in which the file system lists entries do not count, so the
    digest is stable across checkouts and runs.
  - Entries that the build's ignore file excludes do not count. Like BuildKit, the module uses
    C(<Dockerfile>.dockerignore) beside the Dockerfile when it exists (a Dockerfile kept outside the context), else the
    context's C(.dockerignore), with Docker's semantics
    (C(name), C(dir/), C(*.ext) at the context root, C(**/x) at any depth, C(!negation), last match wins).
    Nothing is excluded implicitly, not even C(.git) or C(node_modules).
  - The Dockerfile and the C(.dockerignore) file always count, even when C(.dockerignore) excludes them, since they
    shape the build.
  - This is the image tag rule of the backendops.stack collection - build an image only when no image is tagged
    with RV(tag) yet, and a second run builds nothing.
  - Runs on the Docker host, so the context is read where the engine builds it.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.common_attributes.read_only
options:
  path:
    description:
      - The build context directory.
    type: path
    required: true
  dockerfile:
    description:
      - The Dockerfile, relative to O(path) or absolute. It counts in the digest even when it lies outside the
        context or C(.dockerignore) excludes it.
    type: path
    default: Dockerfile
  extra:
    description:
      - Strings that change what is built without being files of the context, for example the base image ID or
        build arguments (C(NAME=value)). They are mixed into the digest in the given order.
      - Never put secret values here; mix in a hash of them if a secret must trigger a rebuild.
    type: list
    elements: str
    default: []
notes:
  - Character classes (C([a-z])) and C(?) follow Docker's pattern rules; like Docker, C(*) never matches a C(/),
    so C(*.log) excludes log files at the context root only and C(**/*.log) excludes them everywhere.
seealso:
  - module: community.docker.docker_image_build
  - name: Docker .dockerignore reference
    description: The pattern rules this module follows.
    link: https://docs.docker.com/build/concepts/context/#dockerignore-files
"""

EXAMPLES = r"""
- name: Digest the app's build context
  backendops.stack.build_context_digest:
    path: /srv/app
    extra:
      - "{{ base_image_info.images[0].Id }}"
      - "NODE_ENV=production"
  register: app_context

- name: Build the app image only when its content changed
  community.docker.docker_image_build:
    name: backendops/app
    tag: "{{ app_context.tag }}"
    path: /srv/app
"""

RETURN = r"""
digest:
  description: SHA-256 hex digest of the context, the Dockerfile and O(extra).
  returned: success
  type: str
  sample: 3f7a9c0d52e14b7f8a0c6e2d9b1f4a7c5e8d0b2a4c6e8f0a1b3c5d7e9f1a3b5c
tag:
  description: The first 12 hex characters of RV(digest), meant as the image tag.
  returned: success
  type: str
  sample: 3f7a9c0d52e1
files:
  description: Number of context entries (files, directories, symlinks) that count in the digest.
  returned: success
  type: int
  sample: 42
excluded:
  description: Number of context entries that C(.dockerignore) excluded (an excluded directory counts once).
  returned: success
  type: int
  sample: 3
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.build_context import TAG_LENGTH, ContextError, context_digest


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            dockerfile=dict(type="path", default="Dockerfile"),
            extra=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    context = os.path.abspath(module.params["path"])
    try:
        digest, counted, excluded = context_digest(context, module.params["extra"], module.params["dockerfile"])
    except ContextError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, digest=digest, tag=digest[:TAG_LENGTH], files=counted, excluded=excluded)


if __name__ == "__main__":
    main()
