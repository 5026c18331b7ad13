# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What Railway's deployment statuses mean: in progress, serving, failed, or ended without going live."""

from __future__ import annotations

# Railway's DeploymentStatus enum, grouped by what a waiter must do with it.
IN_PROGRESS_STATUSES = frozenset(("QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "WAITING", "NEEDS_APPROVAL"))
SUCCESS_STATUSES = frozenset(("SUCCESS", "SLEEPING"))
FAILURE_STATUSES = frozenset(("FAILED", "CRASHED"))
# The deployment ended without becoming active; waiting longer cannot change that.
ENDED_STATUSES = frozenset(("SKIPPED", "REMOVED", "REMOVING"))
ALL_STATUSES = IN_PROGRESS_STATUSES | SUCCESS_STATUSES | FAILURE_STATUSES | ENDED_STATUSES

# A deployment under way in Railway's pipeline: a release of the same service waits for it or refuses to start.
UNDER_WAY_STATUSES = frozenset(("QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING"))

# Statuses where the deployment waits for something outside Railway's build pipeline.
BLOCKED_REASONS = {
    "WAITING": "waits for the repository's CI checks (GitHub check suites) to pass before building",
    "NEEDS_APPROVAL": "waits for someone to approve it in the Railway dashboard or through the deploymentApprove API",
}

ENDED_REASONS = {
    "SKIPPED": "Railway skipped it (no changed files matched the watch patterns, or a CI check failed)",
    "REMOVED": "it was removed before it became active (superseded by a newer deployment or removed by hand)",
    "REMOVING": "it is being removed before it became active (superseded by a newer deployment or removed by hand)",
}


def is_terminal(status):
    """True when waiting longer cannot change the outcome; unknown statuses count as in progress."""
    return status in SUCCESS_STATUSES or status in FAILURE_STATUSES or status in ENDED_STATUSES
