# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""railway_deploy's rollback when nothing serves any more.

The emulator keeps the previous deployment active for every failure it can inject (like Railway does for build,
pre-deploy and health check failures), so the path where a crashed deployment had already replaced the previous
one is exercised here with a scripted client.
"""
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import RailwayTarget
from ansible_collections.backendops.stack.plugins.module_utils.railway import deployer


class Finished(Exception):
    def __init__(self, failed, msg, result):
        super().__init__(msg)
        self.failed, self.msg, self.result = failed, msg, result


class FakeRailway:
    """Stands in for RailwayModule: params, client, check mode, fail/exit."""

    def __init__(self, client, **params):
        self.client = client
        self.params = dict(service="backend", source="redeploy", commit=None, path=None, deployment_message=None, wait=True,
                           wait_timeout=30, poll_interval=0.01, log_lines=3, rollback_on_failure=True,
                           wait_via="polling", upload_allow=[])
        self.params.update(params)
        self.check_mode = False
        self.warnings = []

    def resolve(self, service):
        return RailwayTarget({"id": "p", "name": "demo"}, {"id": "e", "name": "production"},
                             {"id": "s", "name": service}, [], [])

    def warn(self, message):
        self.warnings.append(message)

    def fail(self, msg, **result):
        raise Finished(True, msg, result)

    def exit(self, **result):
        raise Finished(False, result.get("msg"), result)


class ScriptedClient:
    """Railway as the deploy module sees it: A was active, B replaces it and crashes, rollback creates R."""

    def __init__(self, rollback_status="SUCCESS"):
        self.calls = []
        self.active = "A"
        self.statuses = {"A": "SUCCESS", "B": "CRASHED", "R": rollback_status}
        self.newest = "B"

    def _record(self, name, *args):
        self.calls.append((name,) + args)

    def service_instance(self, environment_id, service_id):
        self._record("service_instance")
        return {"latestDeployment": {"id": "A", "status": "SUCCESS", "canRedeploy": True}}

    def deployments(self, project_id, environment_id, service_id, first=5, statuses=None):
        self._record("deployments", tuple(statuses or ()))
        if statuses:
            return [{"id": self.active, "status": "SUCCESS"}] if self.active else []
        return [{"id": self.newest, "status": self.statuses[self.newest]}]

    def redeploy(self, deployment_id):
        self._record("redeploy", deployment_id)
        self.active = None  # B went live, replaced A, then crashed: nothing serves
        return {"id": "B", "status": "QUEUED"}

    def deployment(self, deployment_id, deadline=None):
        self._record("deployment", deployment_id)
        return {"id": deployment_id, "status": self.statuses[deployment_id]}

    def budget(self, attempts, seconds):
        return (attempts, seconds)

    def deployment_events(self, deployment_id, budget=None):
        return [{"step": "CREATE_CONTAINER", "payload": {"error": "Container exited with code 1"}}]

    def build_logs(self, deployment_id, limit, budget=None):
        return [{"message": "Build time: 2.00 seconds"}]

    def deployment_logs(self, deployment_id, limit, budget=None):
        return [{"message": "Error: Cannot find module"}, {"message": "Process exited with code 1"}]

    def rollback(self, deployment_id):
        self._record("rollback", deployment_id)
        self.newest = "R"
        return True


def run(client, **params):
    railway = FakeRailway(client, **params)
    with pytest.raises(Finished) as info:
        deployer.Deployer(railway).run(railway)
    return info.value


def test_a_crash_that_left_nothing_serving_rolls_back_and_still_fails():
    client = ScriptedClient()
    outcome = run(client)
    assert outcome.failed
    assert outcome.msg.startswith("Deployment B of service backend CRASHED at step CREATE_CONTAINER: Container exited")
    assert "rolled back to deployment A (new deployment R is SUCCESS)" in outcome.msg
    assert outcome.result["rollback"] == {"to_deployment_id": "A", "action": "rolled_back", "deployment_id": "R",
                                          "status": "SUCCESS"}
    assert outcome.result["deploy_logs"] == ["Error: Cannot find module", "Process exited with code 1"]
    assert ("rollback", "A") in client.calls
    # the active deployment is looked up before deploying, so the rollback target is the one that served then
    assert client.calls.index(("deployments", ("SLEEPING", "SUCCESS"))) < client.calls.index(("redeploy", "A"))


def test_a_rollback_that_fails_too_is_reported():
    outcome = run(ScriptedClient(rollback_status="CRASHED"))
    assert "rollback to deployment A did not succeed: deployment R is CRASHED" in outcome.msg
    assert outcome.result["rollback"]["action"] == "failed"


def test_without_rollback_on_failure_nothing_is_rolled_back():
    client = ScriptedClient()
    outcome = run(client, rollback_on_failure=False)
    assert outcome.failed and "rollback" not in outcome.result
    assert not [call for call in client.calls if call[0] == "rollback"]


def test_check_mode_sends_no_mutation():
    client = ScriptedClient()
    railway = FakeRailway(client)
    railway.check_mode = True
    with pytest.raises(Finished) as info:
        deployer.Deployer(railway).run(railway)
    assert not info.value.failed and info.value.result["changed"]
    assert [call[0] for call in client.calls] == ["service_instance"]


# --- a deployment that goes live unhealthy: one more failed outcome of the deployer --------------------------------

class LiveClient(ScriptedClient):
    """B goes live (SUCCESS) and replaces A; only the release's verification finds it unhealthy."""

    def __init__(self):
        super().__init__()
        self.statuses["B"] = "SUCCESS"

    def redeploy(self, deployment_id):
        self._record("redeploy", deployment_id)
        self.active = "B"
        return {"id": "B", "status": "QUEUED"}


def verified(client, problem, **params):
    """(deployments verified, the DeployFailed or the module's exit) of a deployment verified with ``problem``."""
    railway = FakeRailway(client, **params)
    checked = []

    def verify(deployment_id):
        checked.append(deployment_id)
        return problem
    if problem:
        with pytest.raises(deployer.DeployFailed) as failed:
            deployer.Deployer(railway, verify=verify).deploy()
        return checked, failed.value
    with pytest.raises(Finished) as finished:
        deployer.Deployer(railway, verify=verify).run(railway)
    return checked, finished.value


def test_an_unhealthy_live_deployment_is_explained_and_rolled_back_like_a_failed_one():
    client = LiveClient()
    checked, failure = verified(client, "Deployment B is live, but GET https://x/health answered HTTP 503 after 2 attempts")
    assert checked == ["B"]
    assert failure.msg.startswith("Deployment B is live, but GET https://x/health answered HTTP 503 after 2 attempts; "
                                  "last deploy log line: Process exited with code 1; rolled back to deployment A "
                                  "(new deployment R is SUCCESS)"), failure.msg
    assert failure.result["unhealthy"] and failure.result["log_tail"] == ["Error: Cannot find module", "Process exited with code 1"]
    assert failure.result["rollback"]["action"] == "rolled_back" and ("rollback", "A") in client.calls


def test_an_unhealthy_live_deployment_stays_without_rollback_on_failure():
    client = LiveClient()
    _checked, failure = verified(client, "unhealthy", rollback_on_failure=False)
    assert failure.result["unhealthy"] and "rollback" not in failure.result
    assert not [call for call in client.calls if call[0] == "rollback"]


def test_a_healthy_live_deployment_succeeds():
    checked, outcome = verified(LiveClient(), None)
    assert checked == ["B"] and not outcome.failed and outcome.result["serving"]
