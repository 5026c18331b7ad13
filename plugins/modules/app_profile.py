#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: app_profile
short_description: Detect what a Node.js app needs to be built, run, migrated and checked
version_added: 0.1.0
description:
  - Reads an app's own files - C(package.json), its lockfile and package manager, its workspace, C(.nvmrc),
    C(.node-version), a C(Procfile), C(prisma/), a C(Dockerfile) and an optional C(backendops.yml) - and returns its
    profile - the package manager and install, the build, start, dev and migrate commands, its other processes
    (workers, cron jobs), the Node.js major, the port, the health check, the services it needs (PostgreSQL, Redis)
    and its environment contract.
  - Every field can be overridden with O(overrides); C(backendops.yml) in the app's root can set the same fields.
  - Fails with one line naming the override or edit that fixes it, before anything changes, when the app cannot be
    deployed as it is - no C(package.json), no lockfile or two package managers' lockfiles, Yarn Plug'n'Play, no
    start command, a start command that runs a missing file no step makes or a program only in devDependencies,
    a Prisma client without a schema, a schema without migrations, a Prisma datasource that is not PostgreSQL, or an
    C(engines.node) no supported Node.js line satisfies.
  - See C(docs/your-app.md) in the collection for every field, how it is detected and how to override it.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
  - backendops.stack.common_attributes.read_only
options:
  source_dir:
    description:
      - The app's root directory, where its C(package.json) is, on the host the task runs on; or, with O(app_dir), the
        root of the monorepo that holds it. An app folder inside a workspace builds from the workspace's root.
    type: path
    required: true
  app_dir:
    description:
      - The app's folder in the monorepo at O(source_dir), relative to it, or the name of its workspace package (like
        Railway's root directory). The same as the override C(app_dir).
    type: str
  overrides:
    description:
      - Profile fields that win over detection and over C(backendops.yml) - C(build_command), C(start_command),
        C(dev_command), C(source_roots), C(migrate_command), C(port), C(health_path), C(health_details), C(services),
        C(node_version) (a major such as V(22)), C(dockerfile), C(targets), C(prisma_schema), C(generate_command),
        C(prune_dev_dependencies), C(schema_sync) (V(migrate) or V(push)), C(processes) and C(app_dir).
      - An empty string or V(false) for a command means none (for example no build step).
    type: dict
    default: {}
  contract:
    description:
      - The app's environment contract as a mapping of variable name to its definition (C(required), C(required_when),
        C(format), C(secret), C(choices), C(schemes), C(min_length), C(generate), C(description)), merged over the
        contract in the app's C(backendops.yml) and the base contract.
    type: dict
    default: {}
seealso:
  - module: backendops.stack.env_contract
"""

EXAMPLES = r"""
---
- name: Look at the app
  backendops.stack.app_profile:
    source_dir: ~/src/my-api
    overrides:
      health_path: /healthz
  register: app

- name: Show how it will run
  ansible.builtin.debug:
    msg: "{{ app.profile.start_command }} on port {{ app.profile.port }}, migrations: {{ app.profile.migrate_command }}"
"""

RETURN = r"""
profile:
  description: The app's profile; C(docs/your-app.md) explains each field.
  returned: success
  type: dict
  contains:
    source_dir:
      description: Absolute path of the build context - the app's root, or its workspace's root.
      type: str
    app_dir:
      description: The app's folder relative to C(source_dir) (V(.) when it is the root).
      type: str
    package_manager:
      description: V(npm), V(pnpm) or V(yarn), with C(package_manager_version), C(lockfile) and C(install_command).
      type: str
    node_major:
      description: The Node.js major the app is built and run with.
      type: int
    processes:
      description: The app's processes besides web - C(name), C(command), C(kind) (V(worker) or V(cron)), C(schedule).
      type: list
      elements: dict
    dockerfile:
      description: The app's own Dockerfile (relative to its root), or V(null) when the collection renders one.
      type: str
    targets:
      description: Build targets for C(prod), C(dev) and C(build) (the stage migrations run from); V(null) is the last stage.
      type: dict
    build_command:
      description: Build step of the image (C(npm run build) when that script exists), or V(null).
      type: str
    start_command:
      description: How the app starts, or V(null) when its own Dockerfile's C(CMD) is kept.
      type: str
    dev_command:
      description: How the app starts in dev mode (hot reload).
      type: str
    source_roots:
      description: Folders bind-mounted in dev mode.
      type: list
      elements: str
    migrate_command:
      description: Release step before the app starts (C(prisma migrate deploy) when migrations exist), or V(null).
      type: str
    port:
      description: Port the app listens on in its container.
      type: int
    health:
      description:
        - C(path) of the health check (or V(null)), C(probe) (V(http), or V(http-any) without a path - any HTTP answer
          at C(/)) and the optional C(details) view - its C(path), C(token) (the name of the variable holding its
          bearer token), C(expect) (fields and the values they must show) and C(deployment_field) (the field naming
          the deployment that answers, or V(null)).
      type: dict
    services:
      description: Whether the app needs C(postgres) and C(redis).
      type: dict
    contract:
      description: The app's environment contract, one definition per variable.
      type: list
      elements: dict
    generated_secrets:
      description: Contract variables whose values the local stack generates once and keeps.
      type: list
      elements: str
  sample:
    start_command: node dist/server.js
    build_command: npm run build
    migrate_command: prisma migrate deploy
    port: 3000
    services: {postgres: true, redis: false}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.app_profile import ProfileError, detect


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source_dir=dict(type="path", required=True),
            overrides=dict(type="dict", default={}),
            contract=dict(type="dict", default={}),
            app_dir=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    try:
        overrides = dict(module.params["overrides"])
        if module.params["app_dir"]:
            overrides["app_dir"] = module.params["app_dir"]
        profile = detect(module.params["source_dir"], overrides, module.params["contract"])
    except ProfileError as exc:
        module.fail_json(msg="App profile: %s" % exc)
    module.exit_json(changed=False, profile=profile)


if __name__ == "__main__":
    main()
