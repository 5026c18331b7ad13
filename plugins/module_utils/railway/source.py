# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a release deploys from: an upload, a commit, or the repository's branch or image the service follows.

Pure functions over what was read: the connection to make, compared like a setting.
"""

from __future__ import annotations

import re

from ansible_collections.backendops.stack.plugins.module_utils.railway.plan import PlanError

FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")


# Railway's deployment trigger needs a branch; a repository connected without one deploys its main branch.
DEFAULT_BRANCH = "main"


# Sources Railway deploys by itself (a push to the branch, an image): the release follows them, never uploads over them.
FOLLOWED_SOURCES = ("repo", "image")


def describe_connection(connected: dict, trigger: dict | None = None) -> str:
    """What a service instance deploys from, as plans show it."""
    if connected.get("repo"):
        return "repo %s (branch %s)" % (connected["repo"], (trigger or {}).get("branch") or "-")
    if connected.get("image"):
        return "image %s" % connected["image"]
    return "no source (uploads)"


def repo_connection(connected: dict, trigger: dict | None, repo: str, branch: str | None = None) -> dict:
    """{repo, branch, trigger_id, change}: ``repo``'s branch the instance is to deploy (on every push too) and, when
    it does not yet, the connection to make as {before, after}, else change None.

    A repository is connected with its branch (Railway's deployment trigger), so both are compared together; without
    a branch given, the connected one stays, and a new connection gets DEFAULT_BRANCH.
    """
    trigger = trigger or {}
    same_repo = connected.get("repo") == repo and trigger.get("repository") == repo
    branch = branch or (trigger.get("branch") if same_repo else None) or DEFAULT_BRANCH
    change = None
    if not (same_repo and trigger.get("branch") == branch):
        change = {"before": describe_connection(connected, trigger), "after": "repo %s (branch %s)" % (repo, branch)}
    return {"repo": repo, "branch": branch, "trigger_id": trigger.get("id"), "change": change}


def source_to_follow(options: dict, instance: dict) -> tuple[str, dict | None]:
    """(kind, connection): what the release deploys from, and the repository's branch or image it follows.

    ``source=auto`` follows the service's own source: the repository or image given (``repo``, ``image``) or, when
    none is, the one Railway has it connected to; an unconnected service gets uploads. ``connection["change"]`` is
    the connection to make, compared like a setting, or None.
    """
    kind = options["source"]
    connected = {key: value for key, value in (instance.get("source") or {}).items() if value}
    if kind == "auto":
        kind = "repo" if options.get("repo") or (connected.get("repo") and not options.get("image")) else \
            "image" if options.get("image") or connected.get("image") else "upload"
    if kind not in FOLLOWED_SOURCES:
        return kind, None
    if kind == "repo":
        repo = options.get("repo") or connected.get("repo")
        if not repo:
            raise PlanError("source=repo needs repo (owner/name): service %s is connected to no repository" % instance.get("serviceName"))
        return kind, repo_connection(connected, instance.get("trigger"), repo, options.get("branch"))
    image = options.get("image") or connected.get("image")
    if not image:
        raise PlanError("source=image needs image: service %s runs no image" % instance.get("serviceName"))
    change = None if connected.get("image") == image else {"before": describe_connection(connected), "after": "image %s" % image}
    return kind, {"image": image, "change": change}
