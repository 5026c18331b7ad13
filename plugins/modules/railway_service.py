#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_service
short_description: Create, delete and set up a Railway service
version_added: 0.1.0
description:
  - Sets the settings of a service in one environment (its service instance) through Railway's
    C(serviceInstanceUpdate) API, for example the health check, the pre-deploy command that runs database
    migrations, start and build commands, restart policy and replicas.
  - Reads the current settings first and sends only the settings that differ; options that are not set are left
    as they are.
  - Settings apply to the next deployment; deploy with M(backendops.stack.railway_deploy) afterwards.
  - With O(state=present) the service is created when missing (C(serviceCreate)) from a repository and branch
    (Railway then deploys every push to that branch), from an image, or empty (deployed by upload), and gets a
    volume (O(volume_mount_path)) and a Railway-provided domain (O(domain_port)) when it has none. With
    O(state=absent) it is deleted. Without O(state) the service must exist and only its settings are managed.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.railway
  - backendops.stack.common_attributes
  - backendops.stack.railway.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the managed settings before and after.
  idempotent:
    support: full
options:
  service:
    description:
      - Name or ID of the service.
    type: str
    required: true
  healthcheck_path:
    description:
      - Path Railway probes until it answers HTTP 200 before the new deployment becomes active, for example
        V(/api/health). Must start with C(/). An empty string removes the health check.
    type: str
  healthcheck_timeout:
    description:
      - Seconds Railway waits for the health check to pass before it marks the deployment failed (Railway's
        default is 300).
    type: int
  pre_deploy_command:
    description:
      - Command run in a separate container between build and deploy, for example
        V(npx prisma migrate deploy). If it fails the deployment fails and the previous one keeps serving.
      - An empty list removes it.
    type: list
    elements: str
  start_command:
    description:
      - Command that starts the service. An empty string returns to the builder's default.
    type: str
  build_command:
    description:
      - Command that builds the service. An empty string returns to the builder's default.
    type: str
  root_directory:
    description:
      - Directory of the repository or upload to build from. An empty string means the root.
    type: str
  dockerfile_path:
    description:
      - Path of the Dockerfile to build with. When a Dockerfile is used Railway builds with it regardless of
        O(builder). An empty string removes the setting.
    type: str
  builder:
    description:
      - Builder for sources without a Dockerfile.
    type: str
    choices: [RAILPACK, NIXPACKS, HEROKU, PAKETO]
  restart_policy:
    description:
      - When Railway restarts the service's containers.
    type: str
    choices: [ON_FAILURE, ALWAYS, NEVER]
  restart_policy_max_retries:
    description:
      - Restarts before giving up, with O(restart_policy=ON_FAILURE).
    type: int
  replicas:
    description:
      - Number of replicas. Railway runs a service with a volume as one instance, so more than one fails before any
        mutation when the service mounts a volume.
    type: int
  regions:
    description:
      - "Replicas per region (Railway's C(multiRegionConfig)), for example V({us-west2: 2, europe-west4-drams3a: 1});
        an empty mapping removes it. Their total follows the rules of O(replicas)."
    type: dict
    version_added: 0.1.0
  cpu_limit:
    description:
      - vCPUs the service may use at most (C(serviceInstanceLimitsUpdate)); an empty value removes the limit. Railway
        caps it by the plan.
    type: raw
    version_added: 0.1.0
  memory_limit_gb:
    description:
      - Memory in GB the service may use at most (C(serviceInstanceLimitsUpdate)); an empty value removes the limit.
    type: raw
    version_added: 0.1.0
  watch_patterns:
    description:
      - Path patterns of a repository-connected service whose changes trigger a deployment; an empty list removes them.
    type: list
    elements: str
    version_added: 0.1.0
  overlap_seconds:
    description:
      - Seconds the previous deployment keeps running after the new one is active.
    type: int
  draining_seconds:
    description:
      - Seconds between SIGTERM and SIGKILL when a deployment is stopped.
    type: int
  sleep_application:
    description:
      - Whether the service sleeps when it receives no traffic (serverless).
    type: bool
  region:
    description:
      - Deployment region, for example V(us-west2). An empty string removes the setting.
    type: str
  cron_schedule:
    description:
      - Five-field cron expression (UTC) on which Railway runs the service's start command as a cron job, for example
        V(*/15 * * * *). Railway starts a cron job at most every 5 minutes; a cron job is not restarted
        (O(restart_policy=NEVER)) and runs as one replica, so other values of those fail before any request.
      - An empty string removes the schedule (the service runs continuously again).
    type: str
    version_added: 0.3.0
  state:
    description:
      - V(present) creates the service, its volume and its domain when missing, then manages its settings.
      - V(absent) deletes the service (in a copied environment only there, otherwise in every environment).
      - Unset, the service must exist and only its settings are managed.
    type: str
    version_added: 0.2.0
    choices: [present, absent]
  source_repo:
    description:
      - GitHub repository (C(owner/name)) a new service is connected to; Railway deploys every push to
        O(source_branch). Mutually exclusive with O(source_image). With neither, a new service is empty and deployed
        by upload.
      - An existing service whose source differs is switched to this one.
    type: str
    version_added: 0.2.0
  source_branch:
    description:
      - Branch of O(source_repo) that a new service deploys on every push (Railway's default is the repository's
        default branch).
    type: str
    version_added: 0.2.0
  source_image:
    description:
      - Image a new service runs, for example V(redis:8.2.1).
    type: str
    version_added: 0.2.0
  volume_mount_path:
    description:
      - Mount path of a persistent volume for the service, created when the service has none (a service has one).
    type: str
    version_added: 0.2.0
  domain_port:
    description:
      - Port of the service that a Railway-provided domain (C(serviceDomainCreate)) routes to; created when the
        service has no such domain (a service has one per environment).
    type: int
    version_added: 0.2.0
  workspace:
    description:
      - Name or ID of the workspace of O(project), as in M(backendops.stack.railway_project).
    type: str
    version_added: 0.2.0
seealso:
  - module: backendops.stack.railway_deploy
  - module: backendops.stack.railway_info
  - name: Pre-deploy command
    description: How Railway runs migrations before a deployment.
    link: https://docs.railway.com/deployments/pre-deploy-command
  - name: Health checks
    description: How Railway decides that a new deployment may take traffic.
    link: https://docs.railway.com/deployments/healthchecks
"""

EXAMPLES = r"""
---
- name: Prepare the backend service for zero-downtime deploys with migrations
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Set health check, migrations and restart policy
      backendops.stack.railway_service:
        project: backendops-demo
        environment: production
        service: backend
        healthcheck_path: /api/health
        healthcheck_timeout: 120
        pre_deploy_command:
          - npx prisma migrate deploy
        start_command: node dist/server.js
        restart_policy: ON_FAILURE
        restart_policy_max_retries: 5
        replicas: 2
        overlap_seconds: 30
      register: backend_settings

    - name: Show what changed
      ansible.builtin.debug:
        var: backend_settings.changed_settings

    - name: Create the service when missing, connected to its repository, with a domain on port 8080
      backendops.stack.railway_service:
        project: backendops-demo
        environment: production
        service: backend
        state: present
        source_repo: acme/backend
        source_branch: main
        domain_port: 8080

    - name: Remove the start command again (use the builder's default)
      backendops.stack.railway_service:
        project: backendops-demo
        environment: production
        service: backend
        start_command: ""
"""

RETURN = r"""
changed_settings:
  description: Names of the options whose value was (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
  sample: [healthcheck_path, pre_deploy_command]
settings:
  description:
    - All settings of the service instance after the task (in check mode, as they would be), with the option
      names of this module. Settings that are not set are V(null).
  returned: always
  type: dict
  sample:
    builder: RAILPACK
    build_command: null
    dockerfile_path: null
    root_directory: null
    start_command: node dist/server.js
    pre_deploy_command: [npx prisma migrate deploy]
    healthcheck_path: /api/health
    healthcheck_timeout: 120
    restart_policy: ON_FAILURE
    restart_policy_max_retries: 5
    replicas: 2
    overlap_seconds: 30
    draining_seconds: null
    sleep_application: false
    region: null
    regions: null
    cron_schedule: null
    cpu_limit: null
    memory_limit_gb: null
    watch_patterns: null
target:
  description: The resolved project, environment and service.
  returned: always
  type: dict
  sample:
    project: {id: 1a2b..., name: backendops-demo}
    environment: {id: 3c4d..., name: production}
    service: {id: 5e6f..., name: backend}
planned:
  description: With O(state), what was (or in check mode would be) created or deleted, one line each.
  returned: when O(state) is set
  type: list
  elements: str
  sample: ["service backend from empty (deployed by upload)", "domain of backend on port 8080"]
domain:
  description: With O(state=present), the service's Railway-provided domain (V(null) until it is created).
  returned: when O(state=present)
  type: str
  sample: backend-production.up.railway.app
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
  sample: 3
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import normalize_setting
from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError, desired_settings
from ansible_collections.backendops.stack.plugins.module_utils.railway.provision import (
    Provisioner,
    ServiceSpec,
    delete_service,
    ensure_service,
    locate,
    not_found_yet,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.service_settings import (
    apply_settings,
    current_settings,
    scale_problem,
    settings_result,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import SETTING_NAMES, settings_problem
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import argument_spec as settings_argument_spec

PROVISIONING_OPTIONS = ("source_repo", "source_branch", "source_image", "volume_mount_path", "domain_port")


def wanted_settings(params: dict) -> dict:
    """The settings given, typed and as Railway reads them back; PlanError names a value of the wrong type."""
    typed = desired_settings({option: params[option] for option in SETTING_NAMES})
    return {option: normalize_setting(option, value) for option, value in typed.items()}


def validate(params):
    """Problems Railway would report less clearly; returns a message or None."""
    try:
        wanted = wanted_settings(params)
    except PlanError as exc:
        return str(exc)
    problem = settings_problem(wanted)
    if problem:
        return problem
    if params.get("volume_mount_path") is not None:
        problem = scale_problem(params["service"], wanted, True)
        if problem:
            return problem
    given = [option for option in PROVISIONING_OPTIONS if params.get(option) is not None]
    if given and params.get("state") != "present":
        return "%s need state=present (they describe how the service is created)" % ", ".join(given)
    if params.get("domain_port") is not None and not 1 <= params["domain_port"] <= 65535:
        return "domain_port must be a port between 1 and 65535, not %d" % params["domain_port"]
    if params.get("volume_mount_path") is not None and not params["volume_mount_path"].startswith("/"):
        return "volume_mount_path must be an absolute path, for example /data, not %r" % params["volume_mount_path"]
    if params.get("source_branch") and not params.get("source_repo"):
        return "source_branch needs source_repo (the repository whose branch the service deploys)"
    return None


def main():
    argument_spec = dict(
        service=dict(type="str", required=True),
        # One option per setting of the table (railway.settings.SETTINGS).
        **settings_argument_spec(),
        state=dict(type="str", choices=["present", "absent"]),
        source_repo=dict(type="str"),
        source_branch=dict(type="str"),
        source_image=dict(type="str"),
        volume_mount_path=dict(type="str"),
        domain_port=dict(type="int"),
        workspace=dict(type="str"),
    )
    railway = RailwayModule(argument_spec=argument_spec, mutually_exclusive=[("source_repo", "source_image")])
    railway.run(manage_service)


def manage_service(railway):
    params = railway.params
    problem = validate(params)
    if problem:
        railway.fail(problem)
    wanted = wanted_settings(params)
    if params.get("state") is not None:
        provision_service(railway, wanted)
        return

    target = railway.resolve(params["service"])
    current, changes = checked_apply(railway, target.environment_id, target.service_id, target.service["name"], wanted)
    railway.exit(**settings_result(railway, wanted, current, changes, target=target.as_dict()))


def checked_apply(railway, environment_id: str, service_id: str, name: str, wanted: dict) -> tuple:
    """apply_settings, after Railway's scale rules are checked against what the service mounts (before any mutation)."""
    current, volume = current_settings(railway.client, environment_id, service_id, wanted)
    problem = scale_problem(name, wanted, volume)
    if problem:
        railway.fail(problem)
    return apply_settings(railway, environment_id, service_id, wanted, current)


def provision_service(railway, wanted):
    params = railway.params
    provisioner = Provisioner(railway.client)
    project, environment = locate(railway, provisioner, params["workspace"])
    if not project.exists:
        not_found_yet(railway, "project %r" % project.name)
    elif environment is None:
        not_found_yet(railway, "environment %r of project %s" % (params["environment"], project.name))
    target = {"project": {"id": project.id, "name": project.name}, "environment": environment or {"id": None, "name": params["environment"]}}
    if params["state"] == "absent":
        found = project.service(params["service"]) if project.exists else None
        planned = []
        if found is not None:
            planned.append("delete service %s" % found["name"])
            delete_service(railway, environment, found["id"])
        railway.exit(changed=bool(planned), planned=planned, changed_settings=[], settings={}, target=target)
        return

    source = {"repo": params["source_repo"], "image": params["source_image"]}
    spec = ServiceSpec(params["service"], source=source, branch=params["source_branch"], mount_path=params["volume_mount_path"],
                       domain_port=params["domain_port"])
    outcome = ensure_service(railway, provisioner, project, environment, spec)
    for warning in outcome["warnings"]:
        railway.warn(warning)
    target["service"] = outcome["service"]
    if outcome["service"]["id"] and environment and environment.get("id"):
        current, changes = checked_apply(railway, environment["id"], outcome["service"]["id"], spec.name, wanted)
    else:
        # Check mode: the service (or its environment) is still to be created, so every given setting is a change.
        current, changes = {option: None for option in SETTING_NAMES}, dict(wanted)
    result = settings_result(railway, wanted, current, changes, target=target, planned=outcome["planned"], domain=outcome["domain"],
                             volume=outcome["volume"])
    result["changed"] = result["changed"] or bool(outcome["planned"])
    if railway.diff_mode:
        result["diff"]["before"]["service"] = None if outcome["created"] else spec.name
        result["diff"]["after"]["service"] = spec.name
    railway.exit(**result)


if __name__ == "__main__":
    main()
