# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deployer behind module railway_deploy and the Release: start a deployment, follow it to its outcome, verify it
when asked, explain a failure (the one log-tail reader) and roll back when asked.

A deployment that goes live but fails its verification (the release's health check) is one more failed outcome,
told and rolled back like a failed build. It drives the API through the client and waits with the waiter.
"""

from __future__ import annotations

import time

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import (
    RailwayClient,
    RailwayError,
    RailwaySubscriptionError,
    ReadBudget,
    log_messages,
)
from ansible_collections.backendops.stack.plugins.module_utils.railway.source import FULL_SHA
from ansible_collections.backendops.stack.plugins.module_utils.source_archive import SourceError, build_archive
from ansible_collections.backendops.stack.plugins.module_utils.railway.statuses import (
    BLOCKED_REASONS,
    ENDED_REASONS,
    FAILURE_STATUSES,
    IN_PROGRESS_STATUSES,
    SUCCESS_STATUSES,
    is_terminal,
)
from ansible_collections.backendops.stack.plugins.module_utils.waiter import Waiter

# A failure's events and logs only explain an outcome already known: each read gets two attempts, all of them these
# seconds together, so that a Railway that cannot answer them delays the failure by seconds, not minutes.
DIAGNOSTIC_ATTEMPTS = 2
DIAGNOSTIC_SECONDS = 6.0
MAX_POLL_INTERVAL = 30.0
# Steps whose output Railway shows in the build log (health checks included) rather than the deploy log.
BUILD_LOG_STEPS = ("SNAPSHOT_CODE", "BUILD_IMAGE", "PUBLISH_IMAGE", "HEALTHCHECK")
# What each step before a deployment exists does, for "nothing was deployed" messages.
STEP_WHAT = {
    "lookup": "looking up the service",
    "upload": "packing and uploading the source",
    "start": "asking Railway to start the deployment",
}


def diagnostic_budget(client: RailwayClient) -> ReadBudget:
    """The ReadBudget of the reads that explain a failure (events, logs): see DIAGNOSTIC_ATTEMPTS."""
    return client.budget(DIAGNOSTIC_ATTEMPTS, DIAGNOSTIC_SECONDS)


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


class DeployFailed(Exception):
    """The deployment (or the step before it) failed: ``msg`` is the one line, ``result`` what is known."""

    def __init__(self, msg, result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


class Deployer:
    """Start, follow and explain one deployment; ``run()`` returns the result or raises DeployFailed.

    ``options`` are railway_deploy's options (its module parameters by default). A caller that already resolved the
    service or packed the source passes ``target`` and ``archive``, so nothing is looked up or packed twice.
    ``verify(deployment_id)`` (optional) checks a deployment that went live and returns None, or the one line of why
    it is not healthy. ``deploy()`` returns the result or raises DeployFailed; ``run(railway)`` exits or fails the
    module with it. A failure's result holds ``log_tail``, the log lines that explain it.
    """

    def __init__(self, railway, options=None, target=None, archive=None, verify=None):
        self.railway = railway
        self.client = railway.client
        self.params = dict(railway.params if options is None else options)
        self.result = {"changed": False}
        self.started = None
        self.service_name = self.params["service"]
        self.step = "lookup"
        self.target = target
        self.archive = archive
        self.verify = verify
        self.last_success = None

    def flagged(self):
        """The result with what its status means, so callers need not know Railway's status names."""
        if self.result.get("status"):
            self.result["serving"] = self.result["status"] in SUCCESS_STATUSES
            self.result["in_progress"] = self.result["status"] in IN_PROGRESS_STATUSES
        return self.result

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.result["changed"] = bool(self.result.get("deployment_id"))
        raise DeployFailed(msg, self.flagged())

    def run(self, railway):
        """railway_deploy's entry point: exit or fail the module with the outcome."""
        try:
            result = self.deploy()
        except DeployFailed as failure:
            railway.fail(failure.msg, **failure.result)
        railway.exit(**result)

    def deploy(self):
        """The result of a successful (or, in check mode, planned) deployment; raises DeployFailed otherwise."""
        return self.follow() if self.launch() else self.result

    def launch(self):
        """Start the deployment without waiting for it (``follow()`` does); False in check mode, where nothing is sent.

        Raises DeployFailed for a failure before a deployment exists, so that several deployments can be started
        before any is waited for.
        """
        problem = check_options(self.params)
        if problem:
            self.fail(problem)
        try:
            return self.prepare_and_start(self.railway)
        except RailwayError as exc:
            if self.result.get("deployment_id"):
                raise
            self.fail_before_deployment(exc)

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
        """Start the deployment; False in check mode, where nothing is sent."""
        params = self.params
        self.target = target = self.target or railway.resolve(params["service"])
        self.result["target"] = target.as_dict()
        self.service_name = target.service["name"]

        archive = self.archive
        if params["source"] == "upload" and archive is None:
            self.step = "upload"
            try:
                archive = build_archive(params["path"], params.get("upload_allow") or ())
            except SourceError as exc:
                self.fail("Nothing was deployed: step upload (packing the source of service %s) failed: %s"
                          % (self.service_name, exc), step="upload", deployed=False)
            self.step = "lookup"
        if archive is not None:
            self.result.update(source_digest=archive.digest, source_files=len(archive.files),
                               source_withheld=archive.withheld)

        redeploy_from = self.redeploy_candidate() if params["source"] == "redeploy" else None
        if railway.check_mode:
            if params["source"] == "rollback":
                msg = "Would roll back service %s to deployment %s" % (self.service_name, params["rollback_to"])
            else:
                msg = "Would deploy service %s (%s)" % (self.service_name, params["source"])
            self.result.update(changed=True, msg=msg)
            return False

        self.last_success = self.active_deployment() if params["rollback_on_failure"] else None
        self.started = time.monotonic()
        self.step = "upload" if params["source"] == "upload" else "start"
        self.deployment = deployment = self.start(redeploy_from, archive)
        self.step = "wait"
        self.result.update(changed=True, deployment_id=deployment["id"], status=deployment.get("status") or "QUEUED",
                           url=https_url(deployment.get("url")), transitions=[], step="wait", deployed=True)
        return True

    def follow(self):
        params = self.params
        deployment = self.deployment
        if not params["wait"]:
            self.result.update(elapsed=self.elapsed(),
                               msg="Deployment %s of service %s started" % (deployment["id"], self.service_name))
            return self.flagged()

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
        return self.finish(final, outcome.timed_out, self.last_success)

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
        if params["source"] in ("commit", "latest"):
            # Without a commit Railway deploys the connected source: its branch's latest commit, or its image.
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
            problem = self.verify(deployment_id) if self.verify is not None else None
            if problem:
                self.unhealthy(deployment_id, problem, last_success)
            return self.flagged()
        if status in FAILURE_STATUSES:
            reason = self.collect_logs(deployment_id, events=True)
            message = "%s %s%s" % (what, status, reason)
            # Decided on the status alone: diagnostics that could not be read change nothing here.
            if self.params["rollback_on_failure"]:
                message += "; " + self.roll_back(deployment_id, last_success)
            self.fail(message + " [%s]" % path)
        self.fail("%s ended as %s: %s; nothing new serves traffic [%s]" % (
            what, status, ENDED_REASONS.get(status, "Railway reports no further progress"), path))

    def unhealthy(self, deployment_id, problem, last_success=None, roll_back=True):
        """A live deployment that fails its verification: its log tail, the rollback when asked, one line.

        ``roll_back=False`` for a deployment this run did not make (it is only explained)."""
        message = problem + self.collect_logs(deployment_id, events=False)
        if roll_back and self.params["rollback_on_failure"]:
            message += "; " + self.roll_back(deployment_id, last_success)
        self.fail(message, unhealthy=True)

    def _read(self, what, read, unreadable):
        """``read()``, or None with (what, error) kept in ``unreadable`` when Railway cannot answer it."""
        try:
            return read()
        except RailwayError as exc:
            unreadable.append((what, exc))
            return None

    def collect_logs(self, deployment_id, events):
        """Fetch log tails (and the failing step); return a short reason for the failure message.

        When Railway cannot answer these reads, the reason still names the failing step as far as the observed
        statuses tell it, and says which logs could not be read and why.
        """
        limit = self.params["log_lines"]
        unreadable = []
        failed_step = None
        budget = diagnostic_budget(self.client)
        if events:
            found = self._read("events", lambda: self.client.deployment_events(deployment_id, budget=budget), unreadable)
            for event in found or []:
                payload = event.get("payload") or {}
                if payload.get("error"):
                    failed_step = {"step": event["step"], "error": payload["error"]}
            if failed_step:
                self.result["failed_step"] = failed_step
        build = deploy = []
        if limit:
            lines = self._read("build logs", lambda: self.client.build_logs(deployment_id, limit, budget=budget), unreadable)
            build = log_messages(lines) if lines is not None else []
            lines = self._read("deploy logs", lambda: self.client.deployment_logs(deployment_id, limit, budget=budget),
                               unreadable)
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
        self.result["log_tail"] = tail
        if tail:
            reason += "; last %s log line: %s" % ("build" if tail is build else "deploy", tail[-1].strip())
        if unreadable:
            self.result["logs_error"] = "; ".join("%s: %s" % (what, exc) for what, exc in unreadable)
            # One clause for all of them: the same cause is said once.
            causes = []
            for dummy, exc in unreadable:
                cause = exc.cause or str(exc)
                if cause not in causes:
                    causes.append(cause)
            reason += "; its %s could not be read (%s)" % (", ".join(what for what, dummy in unreadable), "; ".join(causes))
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
