#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) backendops.stack contributors
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
        out. Symbolic links are followed.
      - Whatever the ignore files say, env files (C(.env), C(.env.*), C(*.env)), private keys (C(*.pem), C(*.key),
        C(id_rsa*), C(id_ed25519*)) and C(.git) and C(node_modules) directories are never uploaded, unless
        O(upload_allow) lets them through; RV(source_withheld) lists them.
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
  description: Files and directories (with a trailing C(/)) left out of the upload for safety, with the pattern each matched.
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
  description: Why the deployment events or log lines could not be read (the failure is reported all the same).
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

import re
import time

from ansible_collections.backendops.stack.plugins.module_utils.railway_client import (
    RailwayError,
    RailwaySubscriptionError,
    log_messages,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway_module import RailwayModule
from ansible_collections.backendops.stack.plugins.module_utils.railway_source import SourceError, build_archive
from ansible_collections.backendops.stack.plugins.module_utils.railway_waiter import (
    BLOCKED_REASONS,
    ENDED_REASONS,
    FAILURE_STATUSES,
    IN_PROGRESS_STATUSES,
    SUCCESS_STATUSES,
    Waiter,
    is_terminal,
)

FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
MAX_POLL_INTERVAL = 30.0
# Steps whose output Railway shows in the build log (health checks included) rather than the deploy log.
BUILD_LOG_STEPS = ("SNAPSHOT_CODE", "BUILD_IMAGE", "PUBLISH_IMAGE", "HEALTHCHECK")
# What each step before a deployment exists does, for "nothing was deployed" messages.
STEP_WHAT = {
    "lookup": "looking up the service",
    "upload": "packing and uploading the source",
    "start": "asking Railway to start the deployment",
}


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


def check_options(params):
    """Misuse the argument spec cannot express; returns a message or None."""
    source = params["source"]
    if params["commit"] is not None and source != "commit":
        return "commit is only used with source=commit"
    if params["path"] is not None and source != "upload":
        return "path is only used with source=upload"
    if params.get("upload_allow") and source != "upload":
        return "upload_allow is only used with source=upload"
    if any(not str(pattern).strip() for pattern in params.get("upload_allow") or ()):
        return "upload_allow entries must not be empty; name a pattern such as *.pem or a file such as .env.example"
    if params.get("rollback_to") is not None and source != "rollback":
        return "rollback_to is only used with source=rollback"
    if source == "rollback" and params["rollback_on_failure"]:
        return "rollback_on_failure cannot be combined with source=rollback; a failed rollback is reported as it is"
    if params["deployment_message"] is not None and source != "upload":
        return ("deployment_message is only supported with source=upload; Railway's redeploy and commit deploys take "
                "no message")
    if source == "commit" and not FULL_SHA.match(params["commit"]):
        return "commit must be a full 40 character hexadecimal SHA, not %r" % params["commit"]
    if params["wait_timeout"] <= 0:
        return "wait_timeout must be more than 0 seconds"
    if not 0 < params["poll_interval"] <= MAX_POLL_INTERVAL:
        return "poll_interval must be more than 0 and at most %d seconds" % MAX_POLL_INTERVAL
    if params["log_lines"] < 0:
        return "log_lines must be zero or more"
    if params["rollback_on_failure"] and not params["wait"]:
        return "rollback_on_failure needs wait=true: the outcome must be known to roll back"
    return None


def https_url(value):
    if not value:
        return None
    return value if "://" in value else "https://" + value


def maybe_applied(exc):
    """True when a write's answer was lost after sending, so Railway may have applied it anyway."""
    return "not retried because repeating it could apply it twice" in str(exc)


class Deployer(object):
    def __init__(self, railway):
        self.railway = railway
        self.client = railway.client
        self.params = railway.params
        self.result = {"changed": False}
        self.started = None
        self.service_name = railway.params["service"]
        self.step = "lookup"

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.result.pop("changed", None)
        self.railway.fail(msg, changed=bool(self.result.get("deployment_id")), **self.result)

    def run(self, railway):
        params = self.params
        problem = check_options(params)
        if problem:
            self.fail(problem)
        try:
            self.prepare_and_start(railway)
        except RailwayError as exc:
            if self.result.get("deployment_id"):
                raise
            self.fail_before_deployment(exc)
        self.follow()

    def fail_before_deployment(self, exc):
        """A failure before any deployment exists: say so, and name the step."""
        what = "%s %s" % (STEP_WHAT[self.step], self.service_name) if self.step == "lookup" else \
            "%s of service %s" % (STEP_WHAT[self.step], self.service_name)
        if maybe_applied(exc):
            msg = ("Step %s (%s) lost Railway's answer, so a deployment may have started anyway: %s"
                   % (self.step, what, exc))
            deployed = "unknown"
        else:
            msg = "Nothing was deployed: step %s (%s) failed: %s" % (self.step, what, exc)
            deployed = False
        self.fail(msg, step=self.step, deployed=deployed, **exc.details)

    def prepare_and_start(self, railway):
        params = self.params
        self.target = target = railway.resolve(params["service"])
        self.result["target"] = target.as_dict()
        self.service_name = target.service["name"]

        archive = None
        if params["source"] == "upload":
            self.step = "upload"
            try:
                archive = build_archive(params["path"], params.get("upload_allow") or ())
            except SourceError as exc:
                self.fail("Nothing was deployed: step upload (packing the source of service %s) failed: %s"
                          % (self.service_name, exc), step="upload", deployed=False)
            self.result.update(source_digest=archive.digest, source_files=len(archive.files),
                               source_withheld=archive.withheld)
            self.step = "lookup"

        redeploy_from = self.redeploy_candidate() if params["source"] == "redeploy" else None
        if railway.check_mode:
            if params["source"] == "rollback":
                msg = "Would roll back service %s to deployment %s" % (self.service_name, params["rollback_to"])
            else:
                msg = "Would deploy service %s (%s)" % (self.service_name, params["source"])
            self.result.update(changed=True, msg=msg)
            railway.exit(**self.result)

        self.last_success = self.active_deployment() if params["rollback_on_failure"] else None
        self.started = time.monotonic()
        self.step = "upload" if params["source"] == "upload" else "start"
        self.deployment = deployment = self.start(redeploy_from, archive)
        self.step = "wait"
        self.result.update(changed=True, deployment_id=deployment["id"], status=deployment.get("status") or "QUEUED",
                           url=https_url(deployment.get("url")), transitions=[], step="wait", deployed=True)

    def follow(self):
        params = self.params
        deployment = self.deployment
        if not params["wait"]:
            self.result.update(elapsed=self.elapsed(),
                               msg="Deployment %s of service %s started" % (deployment["id"], self.service_name))
            self.railway.exit(**self.result)

        try:
            outcome = self.wait_for(deployment["id"], self.result["transitions"])
        except RailwayError as exc:
            # Not a timeout: the message names the request that failed.
            status = exc.last_status or self.result.get("status") or "unknown"
            message = ("Lost track of deployment %s of service %s (last status %s) before wait_timeout=%d s passed; "
                       "it may still finish in Railway: %s")
            self.fail(message % (deployment["id"], self.service_name, status, params["wait_timeout"], exc),
                      status=status, timed_out=False, **exc.details)
        final = outcome.value
        self.result.update(status=final["status"], elapsed=self.elapsed(), timed_out=outcome.timed_out,
                           url=https_url(final.get("url") or final.get("staticUrl")) or self.result["url"])
        self.finish(final, outcome.timed_out, self.last_success)

    # --- steps -------------------------------------------------------------------------------------------------

    def elapsed(self):
        return round(time.monotonic() - self.started, 1)

    def redeploy_candidate(self):
        instance = self.client.service_instance(self.target.environment_id, self.target.service_id)
        latest = instance.get("latestDeployment")
        if not latest:
            self.fail("Nothing was deployed: service %s has no deployment to redeploy in environment %s; deploy it "
                      "first with source=upload or source=commit" % (self.service_name, self.target.environment["name"]),
                      step="lookup", deployed=False)
        if latest.get("canRedeploy") is False:
            self.fail("Nothing was deployed: Railway does not allow redeploying the latest deployment %s (status %s) of "
                      "service %s; use source=upload or source=commit" % (latest["id"], latest.get("status"), self.service_name),
                      step="lookup", deployed=False)
        return latest

    def active_deployment(self, other_than=None):
        """The successful deployment that serves the service now, or None."""
        found = self.client.deployments(self.target.project_id, self.target.environment_id, self.target.service_id,
                                        first=1, statuses=sorted(SUCCESS_STATUSES))
        return found[0] if found and found[0]["id"] != other_than else None

    def start(self, redeploy_from, archive):
        params = self.params
        target = self.target
        if params["source"] == "redeploy":
            return self.client.redeploy(redeploy_from["id"])
        if params["source"] == "commit":
            return {"id": self.client.deploy_commit(target.environment_id, target.service_id, params["commit"])}
        if params["source"] == "rollback":
            deployment = self.start_rollback(params["rollback_to"], known_ids=())
            if deployment is None:
                self.fail("asked Railway to roll back service %s to deployment %s, but it shows no new deployment for it; "
                          "check the service" % (self.service_name, params["rollback_to"]), step="start", deployed="unknown")
            return deployment
        answer = self.client.upload(target.project_id, target.environment_id, target.service_id, archive.data,
                                    params["deployment_message"])
        return {"id": answer["deploymentId"], "url": answer.get("url") or answer.get("deploymentDomain")}

    def wait_for(self, deployment_id, transitions):
        """Wait for the outcome by subscription (polling when the socket fails, or with wait_via=polling)."""
        params = self.params
        waiter = Waiter(params["wait_timeout"], interval=params["poll_interval"], max_interval=MAX_POLL_INTERVAL)
        started = self.started
        deadline = time.monotonic() + params["wait_timeout"]
        last = {}

        def record(deployment, dummy):
            status = deployment["status"]
            last["status"] = status
            transitions.append({"status": status, "elapsed": round(time.monotonic() - started, 1)})
            if status in BLOCKED_REASONS:
                self.railway.warn("Deployment %s of service %s is %s: it %s." % (
                    deployment_id, self.service_name, status, BLOCKED_REASONS[status]))

        def poll():
            # A poll is a read: transient faults are retried within the wait's deadline.
            return self.client.deployment(deployment_id, deadline=deadline)

        def done(deployment):
            return is_terminal(deployment["status"])

        try:
            if params.get("wait_via", "subscription") == "subscription":
                outcome = waiter.watch(lambda until: self.client.watch_deployment(deployment_id, until), poll, done,
                                       on_change=record, state_of=lambda d: d["status"], lost=(RailwaySubscriptionError,))
            else:
                outcome = waiter.wait(poll, done, on_change=record, state_of=lambda d: d["status"])
        except RailwayError as exc:
            exc.last_status = last.get("status")
            raise
        wait = {"via": outcome.via, "polls": outcome.polls}
        if outcome.fallback:
            wait["fallback"] = outcome.fallback
        self.result.setdefault("wait", wait)
        return outcome

    def finish(self, final, timed_out, last_success):
        status = final["status"]
        deployment_id = final["id"]
        path = " -> ".join(t["status"] for t in self.result["transitions"])
        what = "Deployment %s of service %s" % (deployment_id, self.service_name)
        if timed_out:
            self.collect_logs(deployment_id, events=False)
            blocked = " (it %s)" % BLOCKED_REASONS[status] if status in BLOCKED_REASONS else ""
            self.fail("%s did not finish within wait_timeout=%d s; last status %s%s [%s]. It carries on in Railway; "
                      "raise wait_timeout or check its logs" % (what, self.params["wait_timeout"], status, blocked, path))
        if status in SUCCESS_STATUSES:
            self.result["msg"] = "%s is %s after %s s [%s]" % (what, status, self.result["elapsed"], path)
            self.railway.exit(**self.result)
        if status in FAILURE_STATUSES:
            reason = self.collect_logs(deployment_id, events=True)
            message = "%s %s%s" % (what, status, reason)
            # Decided on the status alone: diagnostics that could not be read change nothing here.
            if self.params["rollback_on_failure"]:
                message += "; " + self.roll_back(deployment_id, last_success)
            self.fail(message + " [%s]" % path)
        self.fail("%s ended as %s: %s; nothing new serves traffic [%s]" % (
            what, status, ENDED_REASONS.get(status, "Railway reports no further progress"), path))

    def _read(self, what, read, unreadable):
        """``read()``, or None with the reason kept in ``unreadable`` when Railway cannot answer it."""
        try:
            return read()
        except RailwayError as exc:
            unreadable.append("%s: %s" % (what, exc))
            return None

    def collect_logs(self, deployment_id, events):
        """Fetch log tails (and the failing step); return a short reason for the failure message.

        When Railway cannot answer these reads, the reason still names the failing step as far as the observed
        statuses tell it, and says which logs could not be read and why.
        """
        limit = self.params["log_lines"]
        unreadable = []
        failed_step = None
        if events:
            found = self._read("deployment events", lambda: self.client.deployment_events(deployment_id), unreadable)
            for event in found or []:
                payload = event.get("payload") or {}
                if payload.get("error"):
                    failed_step = {"step": event["step"], "error": payload["error"]}
            if failed_step:
                self.result["failed_step"] = failed_step
        build = deploy = []
        if limit:
            lines = self._read("build logs", lambda: self.client.build_logs(deployment_id, limit), unreadable)
            build = log_messages(lines) if lines is not None else []
            lines = self._read("deploy logs", lambda: self.client.deployment_logs(deployment_id, limit), unreadable)
            deploy = log_messages(lines) if lines is not None else []
        self.result.update(build_logs=build, deploy_logs=deploy)
        reason = ""
        if failed_step:
            reason = " at step %s: %s" % (failed_step["step"], failed_step["error"])
        elif events:
            during = [t["status"] for t in self.result.get("transitions", []) if t["status"] in IN_PROGRESS_STATUSES]
            if during:
                # The last in-progress status seen: BUILDING for a build, DEPLOYING for the migration or the start.
                self.result["failed_step"] = {"status": during[-1]}
                reason = " while %s" % during[-1]
        from_build = not deploy or (failed_step is not None and failed_step["step"] in BUILD_LOG_STEPS)
        tail = (build if from_build else deploy) or build
        if tail:
            reason += "; last %s log line: %s" % ("build" if tail is build else "deploy", tail[-1].strip())
        if unreadable:
            self.result["logs_error"] = "; ".join(unreadable)
            reason += "; its logs could not be read (%s)" % "; ".join(unreadable)
        return reason

    def roll_back(self, failed_id, last_success):
        """Make a successful deployment serve again; return a sentence saying what happened."""
        rollback = {}
        self.result["rollback"] = rollback
        if last_success is not None:
            rollback["to_deployment_id"] = last_success["id"]
        # Railway keeps the previous deployment when a build, pre-deploy command or health check fails; a newer
        # successful deployment started by someone else must not be reverted either.
        try:
            active = self.active_deployment(other_than=failed_id)
        except RailwayError as exc:
            rollback["action"] = "failed"
            return "could not tell whether a successful deployment still serves, so nothing was rolled back: %s" % exc
        if active:
            rollback.update(action="not_needed", active_deployment_id=active["id"])
            return "deployment %s is still active, so the service is unchanged (no rollback needed)" % active["id"]
        if last_success is None:
            rollback["action"] = "impossible"
            return "no earlier successful deployment to roll back to"
        try:
            newest = self.start_rollback(last_success["id"], known_ids=(failed_id,))
        except RailwayError as exc:
            rollback["action"] = "failed"
            return "the rollback to deployment %s failed: %s" % (last_success["id"], exc)
        if newest is None:
            rollback["action"] = "failed"
            return "asked Railway to roll back to %s, but it shows no new deployment for it; check the service" % (
                last_success["id"])
        rollback["deployment_id"] = newest["id"]
        try:
            outcome = self.wait_for(newest["id"], [])
        except RailwayError as exc:
            rollback["action"] = "failed"
            return "lost track of rollback deployment %s: %s" % (newest["id"], exc)
        rollback["status"] = outcome.value["status"]
        if outcome.value["status"] in SUCCESS_STATUSES:
            rollback["action"] = "rolled_back"
            return "rolled back to deployment %s (new deployment %s is %s)" % (
                last_success["id"], newest["id"], outcome.value["status"])
        rollback["action"] = "failed"
        return "rollback to deployment %s did not succeed: deployment %s is %s%s" % (
            last_success["id"], newest["id"], outcome.value["status"], " (timed out)" if outcome.timed_out else "")

    def start_rollback(self, to_id, known_ids):
        """Roll back to deployment ``to_id``; return the deployment Railway created for it, or None.

        ``deploymentRollback`` answers only true, so the new deployment is the newest one of the service, unless that
        is one we already know (then Railway created none).
        """
        self.client.rollback(to_id)
        newest = self.client.deployments(self.target.project_id, self.target.environment_id, self.target.service_id, first=1)
        if not newest or newest[0]["id"] in tuple(known_ids) + (to_id,):
            return None
        return newest[0]


if __name__ == "__main__":
    main()
