#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_release
short_description: Plan, apply and verify a Railway release, or report its drift
version_added: 0.2.0
description:
  - Three actions - O(action=check) checks the inputs of a release, O(action=apply) runs it, O(action=drift)
    reports how Railway drifted from this configuration, from the service as M(backendops.stack.railway_info) read it.
  - O(action=apply) runs a whole release over one Railway client - reads the service (IDs, settings, latest
    deployment, domain, variables) in one request, plans, sets the variables in one batched upsert with deploys
    skipped, sets the settings that differ, deploys (O(source)), waits as M(backendops.stack.railway_deploy) does,
    verifies the health at the service's domain (O(health_path), O(health_details)) and, on failure - a failed
    deployment, or one that went live unhealthy - returns the log tail, rolls back when O(rollback_on_failure) is set
    and fails with one line naming the step (RV(failure)). It uses the same code as
    M(backendops.stack.railway_variables), M(backendops.stack.railway_service) and M(backendops.stack.railway_deploy).
  - With O(processes), every worker and cron process of the app is a service of its own (O(process_service)), read
    with one request each, created when missing if O(provision_processes) is set (else the release fails before any
    mutation), given the web service's build settings, its own start command and no domain, health check or
    pre-deploy command (the migration runs once, with web), its variables as Railway references to the web
    service's, and the same source in the same release - after the web service is live and healthy. A failed process
    deployment fails the release naming the process, with its log tail; O(rollback_on_failure) then rolls back what
    the release made live.
  - O(action=check) checks every input of a release before anything is read - the commit, the source directory and
    the app's profile, the settings, the env file, the variables against the environment contract and the health
    token - and fails with one line naming the bad input.
  - O(action=check) and O(action=drift) send nothing to Railway, so their result is the same in check mode; the connection options are
    accepted so that they share the C(group/backendops.stack.railway) module defaults.
  - Railway's deployment statuses and the service setting fields are those of the collection's C(module_utils); the
    result names the deployment that serves.
  - Variable values are compared, never returned; the result holds names, settings and deployment IDs only.
  - O(sealed) names variables of O(variables) or O(shared_variables); a sealed one is compared by digest, so the plan
    never calls it changed unless its value here is new, and drift lists it as sealed, never as changed.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.railway
  - backendops.stack.common_attributes
  - backendops.stack.railway.attributes
  - backendops.stack.railway.sealed
  - backendops.stack.env_contract
attributes:
  check_mode:
    support: full
    details:
      - With O(action=apply), reads and plans (and packs the upload to know its content hash) but sends no mutation
        and no upload; C(changed) says whether a run would deploy.
  diff_mode:
    support: full
    details:
      - With O(action=apply), the diff lists the variables with every value masked, and the settings before and after.
  idempotent:
    support: full
    details:
      - A second O(action=apply) with the same inputs sends no mutation and reports no change.
      - O(action=drift) reports C(changed) as long as Railway differs from this configuration; it changes nothing.
options:
  action:
    description:
      - V(check) checks every input of a release (see the description) and returns RV(settings), RV(variable_names)
        and RV(port).
      - V(apply) reads, plans, applies, deploys, waits and verifies (see the description); it alone sends requests.
      - V(drift) compares O(current_variables), O(current_settings) and O(current_shared_variables) with this
        configuration and returns RV(drift); it reports C(changed) when anything drifted (a signal for CI, though it
        changes nothing).
      - V(restore) restores O(backup_id) into the volume of O(database_service), waits, and commits the staged restore
        (Railway redeploys the database); it is recorded in O(record_file) when set.
      - V(rollback) rolls each service of the last release recorded in O(record_file) back to the deployment that
        served before it (C(deploymentRollback)); it refuses in one line, sending nothing, when that deployment is
        outside Railway's retention window (C(canRollback) false). The record says what happened.
    type: str
    choices: [check, apply, drift, restore, rollback]
    default: check
  settings:
    description:
      - Service settings to manage, with the option names of M(backendops.stack.railway_service). Unset (V(null))
        settings are left as they are; an empty string or list removes a setting. Unknown names are ignored here.
    type: dict
    default: {}
  settings_extra:
    description:
      - More settings, merged over O(settings); an unknown name fails, naming the known ones.
    type: dict
    default: {}
  profile_settings:
    description:
      - Settings derived from the app's profile (and the collection's defaults), with the option names of
        M(backendops.stack.railway_service); the app's C(railway.json) or C(railway.toml) wins over them, and
        O(settings) and O(settings_extra) (the inventory) win over both.
    type: dict
    default: {}
    version_added: 0.1.0
  config_file_source:
    description:
      - The app's own config as code to read into the settings - a C(railway.json) or C(railway.toml) file, or a
        directory to find one in. Unset - the one in O(path) (C(railway.toml) before C(railway.json), as the
        Railway CLI picks). An empty string reads none.
      - Railway stopped reading these files on 2026-12-01; what they set is set through the API instead. What the
        file holds that the API cannot set is named in a warning (and a line of RV(plan_text)), not applied; an
        C(environments) block of the current O(environment) is applied over the base file.
      - The C(railway.json) this module writes (O(config_file)) is never read back.
    type: str
    version_added: 0.1.0
  variables:
    description:
      - The desired variables of the service. B(Secret.)
    type: dict
    default: {}
  shared_variables:
    description:
      - Shared variables of the environment to set (Railway's variables without a service), compared like
        O(variables); shared variables not named here are left alone. B(Secret.)
      - With O(action=apply) they are set before the service's variables; a change of one that the service refers to
        (C(${{shared.NAME}}), kept literal) is a reason to deploy it. With O(action=drift), compared with
        O(current_shared_variables).
    type: dict
    default: {}
    version_added: 0.1.0
  current_shared_variables:
    description:
      - With O(action=drift), the shared variables as M(backendops.stack.railway_info) read them (unrendered).
        B(Secret.)
    type: dict
    default: {}
    version_added: 0.1.0
  target:
    description:
      - With O(action=drift), the IDs of the project, environment and service (C(project_id),
        C(environment_id), C(service_id)) whose remembered digests of sealed values to compare with.
    type: dict
    default: {}
    version_added: 0.1.0
  defaults:
    description:
      - Variables under O(variables), less the names in O(drop); a V(null) value leaves a variable out. B(Secret.)
    type: dict
    default: {}
  drop:
    description:
      - Names of O(defaults) to leave out (for example C(REDIS_URL) for an app without Redis).
    type: list
    elements: str
    default: []
  env_file:
    description:
      - A local env file (C(NAME=value) lines) whose values win over O(variables); its values are masked.
    type: path
  profile:
    description:
      - With O(action=check), the result of M(backendops.stack.app_profile) for O(path); a failed one stops the
        release.
    type: dict
    default: {}
  service:
    description:
      - Name or ID of the service to release. Required with O(action=apply).
    type: str
  path:
    description:
      - Source directory to upload with O(source=upload).
    type: path
  upload_allow:
    description:
      - As O(backendops.stack.railway_deploy#module:upload_allow).
    type: list
    elements: str
    default: []
  config_file:
    description:
      - With O(action=apply), also write the settings as this C(railway.json) (before packing, so the upload
        carries it). Railway ignores config as code since 2026-12-01, so this is off unless set; the settings go
        through the API either way.
    type: path
  wait_timeout:
    description:
      - Seconds to wait for the deployment, as O(backendops.stack.railway_deploy#module:wait_timeout).
    type: int
    default: 900
  poll_interval:
    description:
      - As O(backendops.stack.railway_deploy#module:poll_interval).
    type: float
    default: 2
  log_lines:
    description:
      - Number of log lines to return when the release fails.
    type: int
    default: 40
  rollback_on_failure:
    description:
      - When the deployment fails, or goes live but fails the health verification, make the previous one serve again.
    type: bool
    default: false
  database_service:
    description:
      - The PostgreSQL service whose volume is backed up before a release migrates its database.
    type: str
    default: Postgres
  migrations_dir:
    description:
      - The app's migrations directory, relative to O(path). Its digest, compared with the last successful release's
        in O(record_file), says whether migrations are pending.
      - When the pre-deploy command migrates (its text has C(migrat)) and migrations are pending (or their digest is
        unknown), the release backs up the volume of O(database_service) first (C(volumeInstanceBackupCreate), waited
        for through C(workflowStatus)) and names the backup in the plan and the result.
    type: str
  restore_on_migration_failure:
    description:
      - When the pre-deploy migration fails after a backup, restore the backup (C(volumeInstanceBackupRestore), wait,
        then commit the staged restore, which redeploys the database). When false the failure line gives
        O(restore_command) with the backup's ID.
    type: bool
    default: false
  restore_command:
    description:
      - The command that restores a backup by hand, printed after a failed migration; C({backup}) is the backup's ID.
    type: str
    default: ansible-playbook playbooks/railway.yml -e railway_mode=restore -e railway_restore_backup={backup}
  wait_for_foreign:
    description:
      - When another deployment of the service is queued, initializing, building or deploying (not started by this
        run), wait for it to end (up to O(wait_timeout)) instead of refusing to start. Refused, nothing is sent and
        the line names that deployment and who or what started it.
    type: bool
    default: false
  backup_id:
    description:
      - With O(action=restore), the backup of O(database_service)'s volume to restore (its ID, as a failed migration's
        line names it).
    type: str
  record_file:
    description:
      - Append this run to the release record in this file (one JSON line, created 0600) when it changed something,
        with the deployment IDs, commit, migrations digest, backup ID and outcome; never a variable's value.
      - Its last successful release's migrations digest decides whether migrations are pending.
    type: path
  verify_health:
    description:
      - Verify O(health_path) and O(health_details) at the service's domain after the release.
    type: bool
    default: true
  health_url:
    description:
      - Where the service's domain is reached; C({domain}) is replaced with the service's Railway domain.
    type: str
    default: https://{domain}
  health_path:
    description:
      - Path that must answer HTTP 200, the app profile's C(health.path); an empty string skips it.
    type: str
    default: ""
  health_details:
    description:
      - The app profile's detailed health view (C(health.details) of M(backendops.stack.app_profile)); without
        O(health_details.path) it is not read.
    type: dict
    default: {}
    version_added: 0.1.0
    suboptions:
      path:
        description: Path of the view, read with a bearer token.
        type: str
      token:
        description:
          - Name of the variable of O(variables) whose value is the bearer token (unless O(health_token) is set). Its
            value must be literal, not a Railway reference.
        type: str
      expect:
        description: Fields the view must show, with their values.
        type: dict
        default: {}
      deployment_field:
        description:
          - The field in which the view names the deployment that answers; when set, it must name the deployment of
            this run.
        type: str
  health_token:
    description:
      - Bearer token of the detailed health view, instead of the value of the variable O(health_details.token).
        B(Secret.)
    type: str
  fail_msg:
    description:
      - The one line of bad input, found before any request; C({msg}) stands for the module's own line, which names
        the module's options. A role adds its wording here.
    type: str
    default: "{msg}"
    version_added: 0.1.0
  health_retries:
    description:
      - Attempts at O(health_path) until it answers HTTP 200 (a fresh domain may answer 404 for a little while).
    type: int
    default: 10
  health_delay:
    description:
      - Seconds between those attempts.
    type: float
    default: 3
  current_variables:
    description:
      - The service's variables on Railway (RV(backendops.stack.railway_info#module:services[].variables), unrendered).
        B(Secret.)
    type: dict
    default: {}
  current_settings:
    description:
      - The service's settings on Railway (RV(backendops.stack.railway_info#module:services[].settings)).
    type: dict
    default: {}
  replace:
    description:
      - Whether variables on Railway that O(variables) does not name are removed.
    type: bool
    default: false
  source:
    description:
      - What a deployment deploys. V(upload), V(commit) and V(redeploy) as in M(backendops.stack.railway_deploy).
      - V(repo) follows a repository's branch, which Railway deploys on every push itself, so the release never uploads
        over it. It connects O(repo) and O(branch) when the service is not (compared like a setting, applied after
        the variables and settings), deploys the branch's latest commit when the serving deployment is not of that
        branch, and redeploys the serving commit when only variables or settings change. V(image) does the same with
        O(image).
      - V(auto) follows the service's own source - O(repo) or O(image) when given, else the repository or image
        Railway has the service connected to - and uploads O(path) when there is none.
    type: str
    choices: [auto, upload, commit, redeploy, repo, image]
    default: upload
  repo:
    description:
      - GitHub repository (V(owner/name)) the service deploys from with O(source=repo) or O(source=auto).
    type: str
    version_added: 0.1.0
  branch:
    description:
      - Branch of O(repo) the service deploys on every push; the connected branch when left out (V(main) for a new
        connection).
    type: str
    version_added: 0.1.0
  image:
    description:
      - Image the service runs with O(source=image) or O(source=auto).
    type: str
    version_added: 0.1.0
  commit:
    description:
      - Commit SHA to deploy with O(source=commit).
    type: str
  force:
    description:
      - Deploy even when the serving deployment already runs this source with these variables and settings.
    type: bool
    default: false
  processes:
    description:
      - The app's processes besides web (the profile's C(deploy_processes)), each deployed as a service of its own
        with O(action=apply) and checked with O(action=check).
      - A cron process (with O(processes[].cron_schedule)) must follow Railway's rules - five numeric fields in UTC,
        at least 5 minutes between runs, one replica - and is never restarted (restart policy C(NEVER)); a worker
        gets the restart policy of O(settings).
    type: list
    elements: dict
    default: []
    version_added: 0.3.0
    suboptions:
      name:
        description: The process's name, for example V(worker).
        type: str
        required: true
      start_command:
        description: The command that starts it (in the app's folder of a workspace, C(cd <app_dir> && <command>)).
        type: str
        required: true
      cron_schedule:
        description: Five-field cron expression (UTC) of a cron process; V(null) for a worker.
        type: str
      replicas:
        description: Replicas of a worker (unset - left as on Railway); a cron process runs as one.
        type: int
  process_service:
    description:
      - Name of each process's service - C({service}) is replaced with the web service's name, C({process}) with
        the process's.
    type: str
    default: "{service}-{process}"
    version_added: 0.3.0
  process_draining_seconds:
    description:
      - Seconds between SIGTERM and SIGKILL when a process's deployment is replaced - at least the longest job a
        worker runs, so that it can finish it.
    type: int
    default: 60
    version_added: 0.3.0
  provision_processes:
    description:
      - Create the process services that do not exist (C(serviceCreate)), with their variables, from
        O(process_source_repo) and O(process_source_branch), O(process_source_image), or empty (deployed by upload).
      - V(false) - a missing one fails the release before any mutation.
    type: bool
    default: false
    version_added: 0.3.0
  process_source_repo:
    description:
      - GitHub repository (C(owner/name)) that new process services are connected to, as the web service is.
    type: str
    version_added: 0.3.0
  process_source_branch:
    description:
      - Branch of O(process_source_repo) whose pushes new process services deploy.
    type: str
    version_added: 0.3.0
  process_source_image:
    description:
      - Image new process services run, as the web service does.
    type: str
    version_added: 0.3.0
notes:
  - The rules are the ones M(backendops.stack.railway_variables) and M(backendops.stack.railway_service) compare
    with, so the plan says "no change" exactly when they would send nothing.
seealso:
  - module: backendops.stack.railway_info
  - module: backendops.stack.railway_deploy
"""

EXAMPLES = r"""
- name: Read the app's profile
  backendops.stack.app_profile:
    source_dir: "{{ playbook_dir }}/app"
  register: app

- name: Release the service and verify its health as the profile says
  backendops.stack.railway_release:
    action: apply
    service: backend
    variables: "{{ backend_variables }}"
    settings:
      healthcheck_path: "{{ app.profile.health.path }}"
    source: upload
    path: "{{ playbook_dir }}/app"
    health_path: "{{ app.profile.health.path }}"
    health_details: "{{ app.profile.health.details or {} }}"
  register: release

- name: Read the service
  backendops.stack.railway_info:
    service: backend
    variable_values: unrendered
  register: current
  no_log: true

- name: Report how Railway drifted from this configuration
  backendops.stack.railway_release:
    action: drift
    variables: "{{ backend_variables }}"
    current_variables: "{{ current.services[0].variables }}"
    current_settings: "{{ current.services[0].settings }}"
  register: drift
"""

RETURN = r"""
backup:
  description:
    - The backup of the database's volume taken before migrating (C(id), C(name), C(volume), C(workflow_id)), and
      C(restore) when it was restored after the migration failed.
  returned: when O(action=apply) backed up the database
  type: dict
  sample: {id: 0b5c..., name: backendops before migrating 3f2a9c1d0e4b, volume: volume postgres-volume of Postgres}
record_file:
  description: The file this run was recorded in.
  returned: when O(action=apply) changed something and O(record_file) is set
  type: str
foreign_deployments:
  description: The deployments of the service under way that made the release refuse to start, with C(started_by).
  returned: when the release was refused for them
  type: list
  elements: dict
settings:
  description: The managed settings, typed like the options of M(backendops.stack.railway_service).
  returned: with O(action=check) and O(action=drift)
  type: dict
  sample: {healthcheck_path: /api/health, healthcheck_timeout: 120}
settings_sources:
  description:
    - Where each setting's value comes from - V(inventory), V(profile) or the app's config file (its path in O(path)).
  returned: with O(action=check) and O(action=drift)
  type: dict
  sample: {healthcheck_path: railway.json, healthcheck_timeout: profile, replicas: inventory}
config_file_unset:
  description: What the app's config file holds that Railway's API cannot set (not applied), as file keys.
  returned: with O(action=check) and O(action=drift)
  type: list
  elements: str
config_document:
  description: The same settings as a C(railway.json) (config as code) document.
  returned: with O(action=check) and O(action=drift)
  type: dict
plan:
  description:
    - Variable names to add, update and remove, settings that differ (C(before) and C(after)), the source wanted and
      serving, the ID of the serving deployment and the reasons to deploy (C(source_reasons), C(deploy_reasons)).
  returned: when O(action=apply) read the service
  type: dict
serving_deployment:
  description: The deployment that serves, V(null) if none does.
  returned: when O(action=apply) read the service
  type: dict
failure:
  description: The step that failed (C(step), and C(railway_step) for Railway's own step) and what happened (C(msg)).
  returned: when O(action=apply) fails after the read
  type: dict
  sample: {step: deploy, railway_step: BUILD_IMAGE, msg: "The build failed, so the new deployment did not go live. Railway: ..."}
log_tail:
  description: The log lines that explain the failure.
  returned: when O(action=apply) fails after the read
  type: list
  elements: str
api_requests:
  description: Number of HTTP requests sent to Railway; V(0) for every action but O(action=apply).
  returned: always
  type: int
  sample: 0
plan_text:
  description: The plan as lines - where, variable names to add, update and remove, settings, whether it deploys and why.
  returned: when O(action=apply) read the service
  type: list
  elements: str
released:
  description: V(true) when the release went through (a failed one fails the task and lacks it).
  returned: when O(action=apply) succeeds
  type: bool
target:
  description: The project, environment and service (IDs and names), and the service's C(domain) and C(url).
  returned: when O(action=apply) read the service
  type: dict
source_digest:
  description: Content hash of the upload, as RV(backendops.stack.railway_deploy#module:source_digest).
  returned: when O(action=apply) and O(source=upload)
  type: str
variables_result:
  description: What setting the variables did (names only), as the result of M(backendops.stack.railway_variables).
  returned: when O(action=apply) changed variables
  type: dict
settings_result:
  description: What setting the settings did, as the result of M(backendops.stack.railway_service).
  returned: when O(action=apply) changed settings
  type: dict
deployment:
  description: The deployment's result, as that of M(backendops.stack.railway_deploy).
  returned: when O(action=apply) deployed
  type: dict
health:
  description: The last answer of O(health_path) (C(status), C(attempts), C(url)).
  returned: when O(action=apply) verified it
  type: dict
rollback:
  description: The rollback's result, as that of M(backendops.stack.railway_deploy) with O(backendops.stack.railway_deploy#module:source=rollback).
  returned: when O(action=apply) rolled back after a failed health verification
  type: dict
config_file:
  description: The C(railway.json) written (C(path), C(changed), C(msg)).
  returned: when O(config_file) is set
  type: dict
scale_settings:
  description:
    - Whether the settings need the scale read (limits or regions managed, or more than one instance), as
      O(backendops.stack.railway_info#module:scale_settings) takes it.
  returned: when O(action=check)
  type: bool
variable_names:
  description: Names of the variables of the release.
  returned: when O(action=check)
  type: list
  elements: str
port:
  description: The C(PORT) variable of the release.
  returned: when O(action=check)
  type: str
secret_names:
  description: Names of the variables the contract marks secret.
  returned: when O(action=check)
  type: list
  elements: str
processes:
  description:
    - Each process's C(name), C(kind) (V(worker) or V(cron)), C(service) name and C(settings); with O(action=apply)
      also its C(target), whether it was C(created), its C(plan), and the C(variables_result), C(settings_result)
      and C(deployment) of what was done.
  returned: when O(processes) is given, with O(action=check) and O(action=apply)
  type: list
  elements: dict
process_lines:
  description: One line per process naming its service and the settings it gets.
  returned: when O(action=check)
  type: list
  elements: str
rollbacks:
  description:
    - By service name, the rollbacks of what the release made live after a process's deployment failed (as the
      result of M(backendops.stack.railway_deploy) with O(backendops.stack.railway_deploy#module:source=rollback)).
  returned: when O(action=apply) rolled back after a failed process
  type: dict
drift:
  description:
    - Variable names added, removed and changed on Railway, the settings that differ, the number of variables
      declared here and on Railway, and C(differs) when any of those lists is not empty, the shared variables' too
      (then C(changed) is true).
    - C(sealed) names the declared variables that are sealed on Railway (never compared, never C(changed)),
      C(sealed_new_here) those whose value here is not the one sent last (the next run sends them), C(to_seal) the
      declared O(sealed) ones Railway holds unsealed.
    - C(shared) (with O(shared_variables)) holds C(removed), C(changed), C(sealed), C(sealed_new_here), C(to_seal)
      and C(declared) of the shared variables.
  returned: when O(action=drift)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.env_contract import (
    CONTRACT_ARGUMENT_SPEC,
    EXTRA_ARGUMENT_SPEC,
    public_values,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.client import RailwayTarget
from ansible_collections.backendops.stack.plugins.module_utils.railway.config_file import config_document
from ansible_collections.backendops.stack.plugins.module_utils.railway.inputs import check_inputs, release_settings, unset_line
from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RAILWAY_COMMON_ARGS, SEALED_ARGS, RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError, drift, setting_text
from ansible_collections.backendops.stack.plugins.module_utils.railway.processes import spec_line
from ansible_collections.backendops.stack.plugins.module_utils.railway.release import (
    Release,
    ReleaseFailed,
    restore_by_hand,
    roll_back_last,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.service_settings import needs_scale
from ansible_collections.backendops.stack.plugins.module_utils.railway.variables import (
    compose_variables,
    shared_variables,
    variable_scope,
)


SECRET_OPTIONS = ("variables", "current_variables", "defaults", "shared_variables", "current_shared_variables")
NO_LOG_MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
ACTIONS = ["check", "apply", "drift", "restore", "rollback"]


def argument_spec():
    spec = dict(RAILWAY_COMMON_ARGS)
    spec.update(
        action=dict(type="str", default="check", choices=ACTIONS),
        settings=dict(type="dict", default={}),
        settings_extra=dict(type="dict", default={}),
        profile_settings=dict(type="dict", default={}),
        config_file_source=dict(type="str"),
        variables=dict(type="dict", default={}, no_log=True),
        defaults=dict(type="dict", default={}, no_log=True),
        shared_variables=dict(type="dict", default={}, no_log=True),
        current_shared_variables=dict(type="dict", default={}, no_log=True),
        **SEALED_ARGS,
        target=dict(type="dict", default={}),
        drop=dict(type="list", elements="str", default=[]),
        env_file=dict(type="path"),
        contract=CONTRACT_ARGUMENT_SPEC,
        extra=EXTRA_ARGUMENT_SPEC,
        profile=dict(type="dict", default={}),
        current_variables=dict(type="dict", default={}, no_log=True),
        current_settings=dict(type="dict", default={}),
        replace=dict(type="bool", default=False),
        source=dict(type="str", default="upload", choices=["auto", "upload", "commit", "redeploy", "repo", "image"]),
        repo=dict(type="str"),
        branch=dict(type="str"),
        image=dict(type="str"),
        commit=dict(type="str"),
        force=dict(type="bool", default=False),
        service=dict(type="str"),
        path=dict(type="path"),
        upload_allow=dict(type="list", elements="str", default=[]),
        config_file=dict(type="path"),
        wait_timeout=dict(type="int", default=900),
        poll_interval=dict(type="float", default=2.0),
        log_lines=dict(type="int", default=40),
        rollback_on_failure=dict(type="bool", default=False),
        database_service=dict(type="str", default="Postgres"),
        migrations_dir=dict(type="str"),
        restore_on_migration_failure=dict(type="bool", default=False),
        restore_command=dict(type="str", default="ansible-playbook playbooks/railway.yml -e railway_mode=restore "
                                                 "-e railway_restore_backup={backup}"),
        wait_for_foreign=dict(type="bool", default=False),
        record_file=dict(type="path"),
        backup_id=dict(type="str"),
        verify_health=dict(type="bool", default=True),
        health_url=dict(type="str", default="https://{domain}"),
        health_path=dict(type="str", default=""),
        health_details=dict(type="dict", default={}, options=dict(
            path=dict(type="str"),
            token=dict(type="str", no_log=False),
            expect=dict(type="dict", default={}),
            deployment_field=dict(type="str"),
        )),
        health_token=dict(type="str", no_log=True),
        health_retries=dict(type="int", default=10),
        health_delay=dict(type="float", default=3.0),
        processes=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            start_command=dict(type="str", required=True),
            cron_schedule=dict(type="str"),
            replicas=dict(type="int"),
        )),
        process_service=dict(type="str", default="{service}-{process}"),
        process_draining_seconds=dict(type="int", default=60),
        provision_processes=dict(type="bool", default=False),
        process_source_repo=dict(type="str"),
        process_source_branch=dict(type="str"),
        process_source_image=dict(type="str"),
        fail_msg=dict(type="str", default="{msg}"),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("action", "apply", ("service",)), ("action", "restore", ("backup_id",)),
                                        ("action", "rollback", ("record_file",))])
    params = module.params
    if params["action"] in ("apply", "restore", "rollback"):
        # Only these send requests: they alone need a token, the requests library and the client.
        railway = RailwayModule(argument_spec={key: value for key, value in argument_spec().items()
                                               if key not in RAILWAY_COMMON_ARGS})
        railway.run(apply_release if params["action"] == "apply" else by_hand)
    if params["action"] == "check":
        module.exit_json(**checked(module, params))
    # drift: compares what railway_info read with this configuration; sends nothing.
    try:
        resolved = release_settings(params)
        desired, from_file = compose_variables(params)
    except (PlanError, ValueError) as exc:
        bad_input(module, exc)
    module.no_log_values.update(str(value) for value in from_file.values() if value not in (None, ""))
    settings = resolved["settings"]
    result = dict(changed=False, api_requests=0, settings=settings, config_document=config_document(settings),
                  settings_sources=resolved["sources"], config_file_unset=resolved["config_file_unset"])
    current = as_read(params["current_variables"])
    scope = compared_scope(params, "service_id", current, desired)
    result["drift"] = drift(current, desired, params["current_settings"], settings, scope["sealed"], scope["remembered"])
    if params["shared_variables"]:
        shared = result["drift"]["shared"] = shared_drift(module, params)
        result["drift"]["differs"] = result["drift"]["differs"] or bool(shared.get("removed") or shared.get("changed"))
    # Drift is a signal: a CI job sees it as changed without a flag (sending nothing all the same).
    result["changed"] = result["drift"]["differs"]
    module.exit_json(**unmasked(module, result))


def bad_input(module, exc):
    """Fail with the one line of bad input, in the caller's wording (fail_msg)."""
    module.fail_json(msg=module.params["fail_msg"].replace("{msg}", str(exc)))


def as_read(variables: dict) -> dict:
    """Variables as railway_info read them, as text; a sealed one stays without its value (None)."""
    return {str(name): None if value is None else str(value) for name, value in variables.items()}


def compared_scope(params: dict, scope_id: str | None, current: dict, desired: dict) -> dict:
    """What was sent last to the sealed variables of params' target: its service (``scope_id``), or the shared scope."""
    ids = params["target"]
    service_id = ids.get(scope_id) if scope_id else None
    if not (ids.get("project_id") and ids.get("environment_id") and (service_id or not scope_id)):
        # Without the IDs nothing remembered can be found: sealed variables stay uncompared.
        return {"sealed": [name for name in params["sealed"] if name in desired], "remembered": {}}
    target = RailwayTarget({"id": ids["project_id"]}, {"id": ids["environment_id"]},
                           {"id": service_id} if service_id else None, [], [])
    return variable_scope(params["sealed_state_dir"], target, current, desired, params["sealed"])


def shared_drift(module, params: dict) -> dict:
    try:
        shared = shared_variables(params)
    except (PlanError, ValueError) as exc:
        bad_input(module, exc)
    current = as_read(params["current_shared_variables"])
    scope = compared_scope(params, None, current, shared)
    found = drift(current, shared, {}, {}, scope["sealed"], scope["remembered"])
    return {key: found[key] for key in ("removed", "changed", "sealed", "sealed_new_here", "to_seal", "declared")}


def inputs_or_fail(module, params):
    """check_inputs, with the env file's values masked and the contract's non-secret values shown."""
    try:
        inputs = check_inputs(params)
    except (PlanError, ValueError) as exc:
        bad_input(module, exc)
    module.no_log_values.update(str(value) for value in inputs["env_file_values"].values() if value not in (None, ""))
    module.no_log_values.difference_update(public_values(inputs["contract"]))
    return inputs


def checked(module, params):
    inputs = inputs_or_fail(module, params)
    if unset_line(inputs):
        module.warn(unset_line(inputs))
    return dict(changed=False, api_requests=0, settings=inputs["settings"], config_document=inputs["config_document"],
                settings_sources=inputs["sources"], config_file_unset=inputs["config_file_unset"],
                # For a service still to be created: every setting is new, each named with where it comes from.
                settings_text=setting_text({option: {"before": None, "after": value} for option, value in inputs["settings"].items()
                                            if value not in ("", [])}, inputs["sources"]),
                scale_settings=needs_scale(inputs["settings"]),
                variable_names=sorted(inputs["variables"]), port=inputs["variables"].get("PORT"),
                secret_names=list(inputs["contract"].secret_names), processes=inputs["processes"],
                process_lines=[spec_line(spec) for spec in inputs["processes"]])


def apply_release(railway):
    inputs = inputs_or_fail(railway.module, railway.params)
    options = dict(railway.params, health_token=inputs["health_token"])
    release = Release(railway, options, inputs["variables"], inputs["settings"], inputs["config_document"],
                      inputs["sources"], [line for line in [unset_line(inputs)] if line],
                      shared=inputs["shared_variables"])
    try:
        result = release.run()
    except ReleaseFailed as failure:
        railway.fail(failure.msg, **failure.result)
    railway.exit(released=True, **result)


def by_hand(railway):
    """action=restore (a backup into the database's volume) or action=rollback (the last recorded release)."""
    action = restore_by_hand if railway.params["action"] == "restore" else roll_back_last
    try:
        result = action(railway, railway.params)
    except ReleaseFailed as failure:
        railway.fail(failure.msg, **failure.result)
    railway.exit(**result)


def unmasked(module, result):
    """The result, with the variables' values no longer masked in it but in the invocation only.

    The result holds names, settings and IDs, never a value; Ansible's masking replaces every occurrence of a
    value, so a variable "1" would garble a count of 12 or a deployment ID. The tokens stay masked everywhere.
    """
    values = set()
    for option in SECRET_OPTIONS:
        values.update(str(value) for value in module.params[option].values() if value is not None)
    module.no_log_values.difference_update(values - {module.params["api_token"], module.params["project_token"]})
    arguments = dict(module.params)
    arguments.update((option, NO_LOG_MASK) for option in SECRET_OPTIONS)
    result["invocation"] = {"module_args": arguments}
    return result


if __name__ == "__main__":
    main()
