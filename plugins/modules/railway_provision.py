#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_provision
short_description: Everything a release on Railway needs, from one lookup - project, environment, databases and the app's service
version_added: 0.1.0
description:
  - Reads the workspace once (the project with its environments and services, then the environment's services,
    volumes, domains and variable names), plans everything that is missing, and only then creates it, in order.
    The project, environment and service IDs it returns let M(backendops.stack.railway_release) skip its own lookup.
  - Databases (O(databases)) are set up like M(backendops.stack.railway_database) sets them up, with one difference
    that matters on Railway, where a service created with a source deploys at once - a new database is created
    without a source, then one request gives it its volume, its start command and its image and starts it. Its first
    deployment runs with everything in place - PostgreSQL initialises its data directory inside the volume, Redis
    starts with its password. A database that was created but never started (a run that stopped half-way) is
    finished; one that runs is left entirely alone, and its differences from the template are warned.
  - The app's service (O(service)) is created when missing, from O(source_repo) or O(source_image), or empty (for
    uploads), with a Railway-provided domain on O(domain_port).
  - With a project token, which can only deploy, the module fails before its first mutation when anything is
    missing, naming the token kind and what is needed (an account or workspace token). When everything exists a
    project token is enough.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.railway
  - backendops.stack.common_attributes
  - backendops.stack.railway.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads only and plans every resource. On a project or environment still to be created nothing more is read.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  service:
    description:
      - Name of the app's service.
    type: str
    required: true
  source_repo:
    description:
      - GitHub repository (V(owner/name)) a new service deploys from; Railway deploys it again on every push.
    type: str
  source_branch:
    description:
      - Branch of O(source_repo); Railway's default is the repository's default branch.
    type: str
  source_image:
    description:
      - Image a new service runs.
    type: str
  domain_port:
    description:
      - Port of the Railway-provided domain the service gets when it has none.
    type: int
  databases:
    description:
      - Databases set up like Railway's templates, in this order.
    type: list
    elements: dict
    default: []
    suboptions:
      kind:
        description:
          - Which template.
        type: str
        choices: [postgres, redis]
        required: true
      service:
        description:
          - Name of the service; the template's (V(Postgres), V(Redis)) when left out.
        type: str
      image:
        description:
          - Image to run instead of the template's.
        type: str
      backup_schedules:
        description:
          - As O(backendops.stack.railway_database#module:backup_schedules), after the database exists.
        type: list
        elements: str
        choices: [DAILY, WEEKLY, MONTHLY]
  workspace:
    description:
      - Name or ID of the workspace a new project is created in, as in M(backendops.stack.railway_project).
    type: str
  source_environment:
    description:
      - A new environment is created as a copy of this one (services, variables, volumes), as Railway's pull-request
        environments are. A project still to be created gets this one as its first environment.
    type: str
  ephemeral:
    description:
      - Mark a new environment as ephemeral (a pull request's).
    type: bool
    default: false
seealso:
  - module: backendops.stack.railway_database
  - module: backendops.stack.railway_release
  - name: Railway's public API
    description: Managing projects and services through the API.
    link: https://docs.railway.com/integrations/api
"""

EXAMPLES = r"""
---
- name: What the backend needs on Railway
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Project, environment, PostgreSQL, Redis and the backend with a domain
      backendops.stack.railway_provision:
        project: shop
        environment: production
        workspace: Acme
        service: backend
        domain_port: 8080
        databases:
          - kind: postgres
          - kind: redis
      register: provisioned

    - name: Release without a second lookup
      backendops.stack.railway_release:
        project_id: "{{ provisioned.project.id }}"
        environment_id: "{{ provisioned.environment.id }}"
        service_id: "{{ provisioned.service.id }}"
        service: backend
        source: upload
        path: ./backend
"""

RETURN = r"""
planned:
  description: What was (or in check mode would be) created, one line each, in order.
  returned: always
  type: list
  elements: str
  sample: ["project shop in workspace Acme (environment production)", "service Postgres from image ghcr.io/railwayapp-templates/postgres-ssl:17"]
project:
  description: The project; V(null) ID in check mode when it is still to be created.
  returned: always
  type: dict
  sample: {id: 3c1d..., name: shop}
environment:
  description: The environment; V(null) ID in check mode when it is still to be created.
  returned: always
  type: dict
service:
  description: The app's service; V(null) ID in check mode when it is still to be created.
  returned: always
  type: dict
domain:
  description: The service's Railway-provided domain, when it has one.
  returned: always
  type: str
databases:
  description: Each database's service, volume and variable names (values are never returned), by service name.
  returned: always
  type: dict
token_kind:
  description: The kind of token used - V(account token), V(workspace token) or V(project token).
  returned: always
  type: str
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.backups import (
    SCHEDULE_KINDS,
    BackupFailed,
    ensure_backup_schedules,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway.provision import (
    DATABASE_TEMPLATES,
    ServiceSpec,
    database_spec,
    provision,
)


def main():
    argument_spec = dict(
        service=dict(type="str", required=True),
        source_repo=dict(type="str"),
        source_branch=dict(type="str"),
        source_image=dict(type="str"),
        domain_port=dict(type="int"),
        databases=dict(type="list", elements="dict", default=[], options=dict(
            kind=dict(type="str", choices=sorted(DATABASE_TEMPLATES), required=True),
            service=dict(type="str"),
            image=dict(type="str"),
            backup_schedules=dict(type="list", elements="str", choices=list(SCHEDULE_KINDS)),
        )),
        workspace=dict(type="str"),
        source_environment=dict(type="str"),
        ephemeral=dict(type="bool", default=False),
    )
    railway = RailwayModule(argument_spec=argument_spec, mutually_exclusive=[("source_repo", "source_image")])
    railway.run(provision_all)


def provision_all(railway):
    params = railway.params
    databases = [database_spec(d["kind"], d["service"], d["image"]) for d in params["databases"]]
    names = [spec.name.lower() for spec in databases] + [params["service"].lower()]
    if len(set(names)) != len(names):
        railway.fail("databases and service name one service twice (%s): give each database its own service name" % ", ".join(names))
    app = ServiceSpec(params["service"], source={"repo": params["source_repo"], "image": params["source_image"]},
                      branch=params["source_branch"], domain_port=params["domain_port"])
    result = provision(railway, params["workspace"], databases, app, params["source_environment"], params["ephemeral"])
    for database in params["databases"]:
        if database["backup_schedules"] is None:
            continue
        try:
            schedules = ensure_backup_schedules(railway.client, result["environment"]["id"],
                                                database_spec(database["kind"], database["service"]).name,
                                                database["backup_schedules"], railway.check_mode)
        except BackupFailed as exc:
            railway.fail(str(exc))
        if schedules["changed"]:
            result.update(changed=True, planned=result["planned"] + [schedules["line"]])
    for warning in result.pop("warnings"):
        railway.warn(warning)
    if railway.diff_mode:
        result["diff"] = {"before": "", "after": "".join(line + "\n" for line in result["planned"])}
    railway.exit(**result)


if __name__ == "__main__":
    main()
