# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What keeps a release safe before and after it runs: the lock (no release while another deployment of the service is
under way), and the release's entry in the record (names, IDs and digests only)."""

from __future__ import annotations

from ansible_collections.backendops.stack.plugins.module_utils import release_record
from ansible_collections.backendops.stack.plugins.module_utils.railway.statuses import UNDER_WAY_STATUSES, is_terminal
from ansible_collections.backendops.stack.plugins.module_utils.waiter import Waiter


def started_by(deployment: dict) -> str:
    """Who or what started a deployment, as Railway tells it: its creator, else what its meta says."""
    creator = deployment.get("creator") or {}
    meta = deployment.get("meta") or {}
    who = creator.get("name") or creator.get("email")
    if who and creator.get("email") and creator.get("email") != who:
        who = "%s <%s>" % (who, creator["email"])
    what = []
    if meta.get("reason"):
        what.append("reason %s" % meta["reason"])
    if meta.get("commitHash"):
        what.append("commit %s" % str(meta["commitHash"])[:12])
    if meta.get("image"):
        what.append("image %s" % meta["image"])
    if who:
        return who + (" (%s)" % ", ".join(what) if what else "")
    return ", ".join(what) or "no creator Railway names (an automatic deployment)"


def foreign_line(service: str, deployment: dict) -> str:
    """The one line of a release refused because another deployment of its service is under way."""
    return ("Nothing was sent: deployment %s of service %s is %s (created %s, started by %s), not by this run; wait for "
            "it to finish, or set wait_for_foreign=true (role: railway_wait_for_foreign) to wait for it"
            % (deployment["id"], service, deployment["status"], deployment.get("createdAt", "?"), started_by(deployment)))


def foreign_deployments(client, target) -> list[dict]:
    """The service's deployments under way (a release's own have not started yet when this is asked)."""
    return client.active_deployments(target.project_id, target.environment_id, target.service_id, UNDER_WAY_STATUSES)


def wait_for_foreign(client, deployments: list[dict], timeout: float, interval: float) -> list[dict]:
    """Wait until each deployment ends; their last states (an unfinished one says still under way)."""
    waiter = Waiter(timeout, interval=interval, max_interval=max(interval, 30.0))
    ended = []
    for deployment in deployments:
        result = waiter.wait(lambda found=deployment: client.deployment(found["id"]), lambda found: is_terminal(found["status"]))
        ended.append(dict(result.value or deployment, timed_out=result.timed_out))
    return ended


def record_entry(deployments: dict, source_digest=None, commit=None, migrations_digest=None, backup=None,
                 outcome="released", detail=None) -> dict:
    """The fields of a Railway release's record (release_record.new_record adds time, user and host)."""
    entry = {"kind": "railway", "deployments": deployments, "source_digest": source_digest, "commit": commit,
             "migrations_digest": migrations_digest, "backup": backup, "outcome": outcome, "detail": detail}
    return {key: value for key, value in entry.items() if value not in (None, {}, "")}


def record_target(target) -> str:
    return "%s/%s" % (target.project["name"], target.environment["name"])


def write_record(path: str, target, warn, **fields) -> bool:
    """Append the run's entry (record_entry's fields) to the record at path; True when written.

    A record that cannot be written is a warning: what the run did on Railway has happened all the same.
    """
    try:
        release_record.append(path, release_record.new_record(record_target(target), **record_entry(**fields)))
        return True
    except (OSError, release_record.RecordError) as exc:
        warn("The release was not recorded in %s: %s" % (path, exc))
        return False
