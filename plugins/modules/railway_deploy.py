#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: railway_deploy
short_description: Deploy a Railway service and wait for the outcome
version_added: 0.1.0
description:
  - Starts a deployment of a Railway service by redeploying the latest deployment, deploying a commit of the
    connected repository, uploading a local directory like C(railway up), or rolling back to an earlier
    deployment.
  - Waits until the deployment is active or has failed on Railway's C(deployment) subscription (WebSocket,
    C(graphql-transport-ws)), like the Railway CLI; when the socket cannot be opened or drops, it polls with a
    growing interval so that a long build costs few API requests. Every status change is returned in
    RV(transitions).
  - When the deployment fails or crashes, the task fails with the deployment ID, its status, the failing step (for
    example C(PRE_DEPLOY_COMMAND) when database migrations fail) and the last build and deploy log lines. When
    Railway cannot answer for the events or logs, the message still names the deployment, its status and the step
    as far as the observed statuses tell, and says why the logs could not be read.
  - A failure before a deployment exists (looking up the service, packing or uploading the source, asking Railway to
    start it) says that nothing was deployed and names the step (RV(step)).
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
      - Resolves the service, checks that there is something to redeploy and packs the upload (so
        RV(source_digest) is returned), but sends no mutation and no upload (and rolls nothing back). Always
        reports a change.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Every run starts a new deployment. To deploy only when the source changed, compare RV(source_digest) with
        the message of the latest deployment (M(backendops.stack.railway_info)) and pass the digest as
        O(deployment_message).
options:
  service:
    description:
      - Name or ID of the service to deploy.
    type: str
    required: true
  source:
    description:
      - V(redeploy) builds and deploys the source of the service's latest deployment again (C(deploymentRedeploy)).
      - V(commit) deploys the commit O(commit) of the repository connected to the service (C(serviceInstanceDeployV2)).
      - V(upload) packs O(path) into a gzip tarball and uploads it, like C(railway up).
      - V(rollback) rolls back to the earlier deployment O(rollback_to) (C(deploymentRollback)); Railway deploys its
        image and variables again, for example after the new deployment went live but does not work.
    type: str
    choices: [redeploy, commit, upload, rollback]
    default: redeploy
  commit:
    description:
      - Full 40 character SHA of the commit to deploy. Required with O(source=commit).
    type: str
  path:
    description:
      - Directory to upload with O(source=upload).
      - Files matched by C(.gitignore) or C(.railwayignore) files (at any level; C(.railwayignore) wins) are left
        out. Symbolic links are followed within O(path) only.
      - Whatever the ignore files say, env files (C(.env), C(.env.*), C(*.env)), private keys (C(*.pem), C(*.key),
        C(id_rsa*), C(id_ed25519*)), C(.git) and C(node_modules) directories and an C(.npmrc) holding a credential
        (C(_authToken), C(_auth) or C(_password) not set to a C(${VARIABLE}) reference) are never uploaded, unless
        O(upload_allow) lets them through (C(.npmrc) by that name); nor is a symbolic link that leads out of O(path)
        (whatever O(upload_allow) says) or onto one of them. RV(source_withheld) lists them.
      - The tarball is deterministic (sorted entries, fixed time stamps and owners), so unchanged sources give the
        same RV(source_digest).
    type: path
  upload_allow:
    description:
      - Patterns of files or directories that O(path) may upload although they match one of the patterns withheld
        for safety (see O(path)). An entry is one of those patterns by name (for example V(*.pem)), or a
        shell-style pattern matched against the name or the relative path (for example V(.env.example)).
    type: list
    elements: str
    default: []
  rollback_to:
    description:
      - ID of the deployment to roll back to. Required with O(source=rollback).
      - Railway only rolls back to a deployment that was replaced and whose image still exists (C(canRollback)).
    type: str
  deployment_message:
    description:
      - Message stored with the deployment (only with O(source=upload)), for example a content hash to recognise
        an already deployed source later. Railway shows it like a commit message; M(backendops.stack.railway_info)
        returns it as C(meta.message) of the latest deployment.
      - It is not called C(message) because Ansible reserves that option name.
    type: str
  wait:
    description:
      - Wait until the deployment is active, failed, crashed, skipped or removed, or O(wait_timeout) passed.
      - Without waiting the module returns as soon as Railway accepted the deployment.
    type: bool
    default: true
  wait_via:
    description:
      - V(subscription) follows the deployment on Railway's C(deployment) subscription over WebSocket (one request
        for the whole wait; needs the Python library C(websocket-client)) and polls when the socket cannot be opened,
        is refused or drops. V(polling) only polls.
    type: str
    choices: [subscription, polling]
    default: subscription
  wait_timeout:
    description:
      - Seconds to wait for the outcome. On timeout the task fails with the last status; the deployment carries on
        in Railway.
      - Status checks that meet a transient fault (HTTP 500, 502, 503, 504, a lost connection, a timeout, Railway's
        C(Problem processing request)) are retried within this time. A wait that ends for another reason says which
        request failed and RV(timed_out) is V(false).
    type: int
    default: 900
  poll_interval:
    description:
      - Seconds between the first status checks. The interval grows by half each time the status is unchanged,
        up to 30 seconds, and starts again at this value when the status changes.
    type: float
    default: 2
  log_lines:
    description:
      - Number of build and of deploy log lines to return when the deployment fails, crashes or times out.
    type: int
    default: 40
  rollback_on_failure:
    description:
      - When the deployment fails or crashes, make sure a successful deployment serves the service again, then fail.
      - If a successful deployment is still active (Railway keeps the previous one when a build, pre-deploy command
        or health check fails), nothing is rolled back. Otherwise C(deploymentRollback) redeploys the snapshot of
        the deployment that was active when the task started, and the module waits up to O(wait_timeout) for it.
      - Needs O(wait=true). A timeout does not roll back, because the deployment may still succeed.
    type: bool
    default: false
notes:
  - Variables changed with M(backendops.stack.railway_variables) (default O(backendops.stack.railway_variables#module:skip_deploys=true))
    and settings changed with M(backendops.stack.railway_service) take effect with the next deployment this module
    starts.
  - The subscription costs one API request for the whole wait, where polling a 3-minute build costs about 25
    (Railway's Free plan allows 100 requests an hour).
  - Status meanings follow Railway. V(WAITING) waits for CI checks of the repository and V(NEEDS_APPROVAL) for an
    approval in the dashboard; the module warns and keeps waiting. V(SKIPPED) and V(REMOVED) end the wait with a
    failure because nothing new serves traffic.
seealso:
  - module: backendops.stack.railway_variables
  - module: backendops.stack.railway_service
  - module: backendops.stack.railway_info
  - name: railway up
    description: The CLI command whose upload this module reproduces.
    link: https://docs.railway.com/cli/up
"""

EXAMPLES = r"""
---
- name: Ship the backend
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/backendops.stack.railway:
      project: backendops-demo
      environment: production
  tasks:
    - name: Upload the working tree and wait until it serves
      backendops.stack.railway_deploy:
        service: backend
        source: upload
        path: "{{ playbook_dir }}/../examples/backend"
        deployment_message: "ansible deploy"
        wait_timeout: 1200
        rollback_on_failure: true
      register: deploy

    - name: Show the result
      ansible.builtin.debug:
        msg: "{{ deploy.deployment_id }} is {{ deploy.status }} at {{ deploy.url }} after {{ deploy.elapsed }} s"

    - name: Deploy a known commit of the connected GitHub repository
      backendops.stack.railway_deploy:
        service: backend
        source: commit
        commit: 0123456789abcdef0123456789abcdef01234567

    - name: Go back to the deployment that served before
      backendops.stack.railway_deploy:
        service: backend
        source: rollback
        rollback_to: "{{ previous_deployment_id }}"

    - name: Redeploy (for example after changing variables) without waiting
      backendops.stack.railway_deploy:
        service: backend
        source: redeploy
        wait: false
"""

RETURN = r"""
deployment_id:
  description: ID of the new deployment.
  returned: when a deployment was started
  type: str
  sample: 4a5b6c7d-...
status:
  description: Last known status of the deployment (Railway's C(DeploymentStatus)).
  returned: when a deployment was started
  type: str
  sample: SUCCESS
serving:
  description: Whether the deployment serves the service (V(SUCCESS), or V(SLEEPING) after inactivity).
  returned: when a deployment was started
  type: bool
in_progress:
  description: Whether Railway still works on the deployment (queued, building, deploying or waiting).
  returned: when a deployment was started
  type: bool
url:
  description: URL of the deployment, when Railway reports one.
  returned: when a deployment was started
  type: str
  sample: https://backend-production.up.railway.app
elapsed:
  description: Seconds from starting the deployment to the last status check.
  returned: when a deployment was started
  type: float
  sample: 84.3
transitions:
  description: Every status observed while waiting, with the seconds elapsed when it was first seen.
  returned: when a deployment was started
  type: list
  elements: dict
  sample: [{status: QUEUED, elapsed: 0.3}, {status: BUILDING, elapsed: 6.1}, {status: SUCCESS, elapsed: 84.3}]
source_digest:
  description:
    - sha256 of the uncompressed, deterministic tar stream (file names, modes and contents) of the upload.
    - Stable across runs for an unchanged source.
  returned: when O(source=upload)
  type: str
  sample: 9d3c0f...
source_files:
  description: Number of files in the upload.
  returned: when O(source=upload)
  type: int
  sample: 42
source_withheld:
  description:
    - Files and directories (with a trailing C(/)) left out of the upload for safety, with the pattern each matched.
    - Entries for symbolic links also have C(link) - the resolved path within O(path), or V(null) when it leads out
      of it (pattern C(symlink outside the source)).
  returned: when O(source=upload)
  type: list
  elements: dict
  sample: [{path: production.env, pattern: "*.env"}, {path: .git/, pattern: .git}]
step:
  description:
    - Where the task ended. V(lookup), V(upload) or V(start) when it failed before a deployment existed (then
      RV(deployed) is V(false), or V(unknown) when Railway's answer to a start was lost); V(wait) once a deployment
      exists.
  returned: always, except for bad options
  type: str
  sample: wait
deployed:
  description: Whether this task started a deployment (V(unknown) when the answer to the request that starts one was lost).
  returned: always, except for bad options
  type: raw
  sample: true
timed_out:
  description: Whether the wait ended because O(wait_timeout) passed.
  returned: when the task waited
  type: bool
  sample: false
wait:
  description: How the wait went.
  returned: when the task waited
  type: dict
  contains:
    via:
      description: V(subscription) when the subscription saw the outcome, V(polling) when status checks did.
      type: str
    polls:
      description: Status checks sent (0 when the subscription saw the outcome).
      type: int
    fallback:
      description: Why polling took over from the subscription (the socket could not be opened, was refused or dropped).
      type: str
      returned: when polling took over
failed_step:
  description:
    - The deployment step that reported an error, with Railway's error text.
    - When Railway's deployment events could not be read, the last in-progress status seen (C(status), for example
      V(BUILDING) or V(DEPLOYING)) instead.
  returned: when the deployment failed or crashed and the step is known
  type: dict
  sample: {step: PRE_DEPLOY_COMMAND, error: "Pre-deploy command failed with exit code 1"}
logs_error:
  description:
    - Why the deployment events or log lines could not be read, read by read (the failure is reported all the same).
    - Each of those reads gets two attempts, all of them 6 seconds together (a read not started by then is not
      sent); C(msg) gives their cause once.
  returned: when the deployment failed, crashed or timed out and Railway did not answer those reads
  type: str
build_logs:
  description: The last O(log_lines) build log lines.
  returned: when the deployment failed, crashed or timed out
  type: list
  elements: str
deploy_logs:
  description: The last O(log_lines) deploy log lines.
  returned: when the deployment failed, crashed or timed out
  type: list
  elements: str
rollback:
  description: What O(rollback_on_failure) did.
  returned: when O(rollback_on_failure=true) and the deployment failed or crashed
  type: dict
  contains:
    action:
      description:
        - V(not_needed) when the last successful deployment is still active, V(rolled_back) when it was rolled back
          to, V(failed) when the rollback did not succeed, V(impossible) when there is no successful deployment.
      type: str
    to_deployment_id:
      description: The deployment that was active when the task started, the one to roll back to.
      type: str
    active_deployment_id:
      description: With RV(rollback.action=not_needed), the successful deployment that serves the service.
      type: str
    deployment_id:
      description: The deployment the rollback created.
      type: str
    status:
      description: Final status of the rollback deployment.
      type: str
api_requests:
  description: Number of HTTP requests sent to Railway, retries included.
  returned: always
  type: int
  sample: 14
"""

from ansible_collections.backendops.stack.plugins.module_utils.railway.deployer import Deployer
from ansible_collections.backendops.stack.plugins.module_utils.railway.module import RailwayModule


def main():
    railway = RailwayModule(
        argument_spec=dict(
            service=dict(type="str", required=True),
            source=dict(type="str", default="redeploy", choices=["redeploy", "commit", "upload", "rollback"]),
            commit=dict(type="str"),
            rollback_to=dict(type="str"),
            path=dict(type="path"),
            upload_allow=dict(type="list", elements="str", default=[]),
            deployment_message=dict(type="str"),
            wait=dict(type="bool", default=True),
            wait_via=dict(type="str", default="subscription", choices=["subscription", "polling"]),
            wait_timeout=dict(type="int", default=900),
            poll_interval=dict(type="float", default=2.0),
            log_lines=dict(type="int", default=40),
            rollback_on_failure=dict(type="bool", default=False),
        ),
        required_if=[("source", "commit", ("commit",)), ("source", "upload", ("path",)), ("source", "rollback", ("rollback_to",))],
    )
    railway.run(Deployer(railway).run)


if __name__ == "__main__":
    main()
