#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_database
short_description: A PostgreSQL or Redis service on Railway, set up like Railway's database templates
version_added: 0.2.0
description:
  - Makes sure the project has a database service in the environment the way Railway's own PostgreSQL and Redis
    templates set it up, through the API - the image, a persistent volume at the template's mount path, and its
    connection variables written as Railway references, so that other services can refer to them, for example
    C(DATABASE_URL=${{Postgres.DATABASE_URL}}).
  - On Railway a service created with a source deploys at once, so the service is created without one (with its
    variables, C(serviceCreate)); then one request gives it its volume, start command and image and starts it
    (C(volumeCreate), C(serviceInstanceUpdate), C(serviceInstanceDeployV2)). Its first deployment has everything in
    place - PostgreSQL initialises its data directory inside the volume, Redis starts with its password. A service
    created by a run that stopped before that is finished on the next run.
  - The password (C(POSTGRES_PASSWORD), C(REDIS_PASSWORD)) is generated once, when the service is created; it is
    never returned or logged, and never replaced.
  - Only what is missing is created. A service that exists is left entirely alone, because it may hold an initialised
    database - its image, start command, variables (the password too) and volume are never changed, nor is it
    redeployed; where they differ from the template (another image or start command, a missing variable, no volume
    or one at another path), the module warns, names the variables (their values are not read), and reports no
    change.
  - docs/railway-workflow.md lists the templates' values and where they come from.
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
      - Reads only. A project or environment still to be created is planned, not read.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  kind:
    description:
      - Which template.
    type: str
    choices: [postgres, redis]
    required: true
  service:
    description:
      - Name of the service. Other services refer to its variables by this name, for example C(${{Postgres.DATABASE_URL}}).
      - Defaults to the template's, V(Postgres) or V(Redis).
    type: str
  image:
    description:
      - Image to run instead of the template's (V(ghcr.io/railwayapp-templates/postgres-ssl:17), V(redis:8.2.1)).
    type: str
  backup_schedules:
    description:
      - The backup schedules of the database's volume (C(volumeInstanceBackupScheduleUpdate)); V([]) turns them off.
        Left out, they are left as they are. Set only when they differ; check mode plans them.
    type: list
    elements: str
    choices: [DAILY, WEEKLY, MONTHLY]
  workspace:
    description:
      - Name or ID of the workspace of O(project), as in M(backendops.stack.railway_project).
    type: str
seealso:
  - module: backendops.stack.railway_project
  - module: backendops.stack.railway_service
  - name: PostgreSQL on Railway
    description: Railway's PostgreSQL template.
    link: https://docs.railway.com/databases/postgresql
  - name: Redis on Railway
    description: Railway's Redis template.
    link: https://docs.railway.com/databases/redis
"""

EXAMPLES = r"""
---
- name: Databases of the backend
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: PostgreSQL with a volume
      backendops.stack.railway_database:
        project: shop
        environment: production
        kind: postgres

    - name: Redis with a volume
      backendops.stack.railway_database:
        project: shop
        environment: production
        kind: redis
"""

RETURN = r"""
service:
  description: The service; V(null) ID in check mode when it is still to be created.
  returned: always
  type: dict
  sample: {id: 5e6f..., name: Postgres}
volume:
  description: Mount path of the service's volume.
  returned: always
  type: str
  sample: /var/lib/postgresql/data
variable_names:
  description: Names of the service's variables (values are never returned).
  returned: always
  type: list
  elements: str
planned:
  description: What was (or in check mode would be) created or changed, one line each.
  returned: always
  type: list
  elements: str
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway.backups import (
    SCHEDULE_KINDS,
    BackupFailed,
    ensure_backup_schedules,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.provision import (
    DATABASE_TEMPLATES,
    Provisioner,
    database_spec,
    ensure_service,
    locate,
    not_found_yet,
)


def main():
    argument_spec = dict(
        kind=dict(type="str", choices=sorted(DATABASE_TEMPLATES), required=True),
        service=dict(type="str"),
        image=dict(type="str"),
        workspace=dict(type="str"),
        backup_schedules=dict(type="list", elements="str", choices=list(SCHEDULE_KINDS)),
    )
    railway = RailwayModule(argument_spec=argument_spec)
    railway.run(manage_database)


def manage_database(railway):
    params = railway.params
    provisioner = Provisioner(railway.client)
    project, environment = locate(railway, provisioner, params["workspace"])
    if not project.exists:
        not_found_yet(railway, "project %r" % project.name)
    elif environment is None:
        not_found_yet(railway, "environment %r of project %s" % (params["environment"], project.name))
    spec = database_spec(params["kind"], params["service"], params["image"])
    outcome = ensure_service(railway, provisioner, project, environment, spec)
    for warning in outcome["warnings"]:
        railway.warn(warning)
    if params["backup_schedules"] is not None:
        try:
            schedules = ensure_backup_schedules(railway.client, (environment or {}).get("id"), spec.name,
                                                params["backup_schedules"], railway.check_mode)
        except BackupFailed as exc:
            railway.fail(str(exc))
        outcome["planned"] += [schedules["line"]] if schedules["changed"] else []
    result = dict(changed=bool(outcome["planned"]), planned=outcome["planned"], service=outcome["service"],
                  volume=outcome["volume"], variable_names=outcome["variable_names"])
    if railway.diff_mode:
        result["diff"] = {"before": "" if outcome["created"] else "%s exists\n" % spec.name,
                          "after": "".join(line + "\n" for line in outcome["planned"]) or "%s exists\n" % spec.name}
    railway.exit(**result)


if __name__ == "__main__":
    main()
