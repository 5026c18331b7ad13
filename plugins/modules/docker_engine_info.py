#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_engine_info
short_description: Tell in one call what a Docker host has - engine, Compose v2, buildx, Python requests
version_added: 0.1.0
description:
  - Asks the Docker CLI for the engine's version (C(docker info)), the Compose plugin's version and the buildx
    plugin's, looks for C(dockerd) on the path and tries to import the Python C(requests) library that the
    community.docker engine modules need.
  - M(backendops.stack.docker_engine) reads the same to decide what to install and whether to start the engine.
  - Changes nothing, also outside check mode.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.common_attributes.read_only
options: {}
notes:
  - Compose counts as usable from version 2.20 on - earlier versions copy secrets into containers with mode 0400,
    which a non-root backend cannot read.
seealso:
  - module: backendops.stack.docker_engine
  - module: community.docker.docker_host_info
"""

EXAMPLES = r"""
---
- name: Probe the engine and its plugins
  backendops.stack.docker_engine_info:
  register: engine

- name: Refuse a user the engine does not let in
  ansible.builtin.fail:
    msg: "The engine refuses this user ({{ engine.error }}): add it to the docker group."
  when: engine.access_denied
"""

RETURN = r"""
engine_answers:
  description: Whether C(docker info) answers for the connecting user.
  returned: always
  type: bool
  sample: true
engine_installed:
  description: Whether the engine answers or C(dockerd) is on the path.
  returned: always
  type: bool
  sample: true
server_version:
  description: The engine's version, when it answers.
  returned: always
  type: str
  sample: 26.1.5+dfsg1
compose_version:
  description: The Compose plugin's version, when the plugin runs.
  returned: always
  type: str
  sample: 2.26.1
compose_ok:
  description: Whether a Compose v2 plugin of version 2.20 or later runs.
  returned: always
  type: bool
  sample: true
buildx_ok:
  description: Whether the buildx plugin runs.
  returned: always
  type: bool
  sample: true
python_requests:
  description: Whether the host's Python (the one running this module) can import C(requests).
  returned: always
  type: bool
  sample: true
access_denied:
  description: Whether an engine runs but refuses the connecting user (permission denied on its socket).
  returned: always
  type: bool
  sample: false
error:
  description: Why C(docker info) failed, on one line; null when it answers.
  returned: always
  type: str
  sample: "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.docker_engine import probe


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.exit_json(changed=False, **probe(module))


if __name__ == "__main__":
    main()
