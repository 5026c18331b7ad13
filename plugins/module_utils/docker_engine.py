# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a Docker host has: the engine, Compose v2, buildx and the Python library of community.docker's modules.

Read with one module call (backendops.stack.docker_engine_info); the decisions on the probes' output are here.
"""

from __future__ import annotations

import re

# Before 2.20 Compose copied secrets into containers with mode 0400, unreadable for a non-root backend; v1 is the
# Python docker-compose that community.docker cannot drive.
MINIMUM_COMPOSE = (2, 20, 0)


def version_tuple(text):
    """(major, minor, patch) of a version such as 'v2.26.1' or '2.20.2+ds1-0ubuntu1', or None."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def engine_facts(info, compose, buildx, dockerd_path, has_requests):
    """The probe results as facts; each probe is an (rc, stdout, stderr) triple, dockerd_path a path or None."""
    info_rc, info_out, info_err = info
    compose_rc, compose_out, _compose_err = compose
    compose_version = (compose_out or "").strip() if compose_rc == 0 else None
    compose_parsed = version_tuple(compose_version) if compose_version else None
    answers = info_rc == 0
    return {
        "engine_answers": answers,
        "engine_installed": answers or bool(dockerd_path),
        "server_version": (info_out or "").strip() if answers else None,
        "compose_version": compose_version,
        "compose_ok": compose_parsed is not None and compose_parsed >= MINIMUM_COMPOSE,
        "buildx_ok": buildx[0] == 0,
        "python_requests": has_requests,
        # An engine that runs but refuses this user: starting another one would not help.
        "access_denied": not answers and "permission denied" in (info_err or "").lower(),
        "error": None if answers else " ".join((info_err or "").split()) or "docker info failed",
    }
