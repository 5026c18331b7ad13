# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.docker_engine import engine_facts, version_tuple

ANSWERS = (0, "26.1.5+dfsg1\n", "")
# What `docker info` printed for a user outside the docker group on this project's machines.
DENIED = (1, "", "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock:\n"
                 "Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.50/info\": dial unix /var/run/docker.sock: connect: permission denied")
NOT_RUNNING = (1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
MISSING = (127, "", "docker: command not found")


@pytest.mark.parametrize("text, expected", [
    ("v2.26.1", (2, 26, 1)), ("2.20.2+ds1-0ubuntu1", (2, 20, 2)), ("2.26.1-4", (2, 26, 1)), ("1.29", (1, 29, 0)),
    ("", None), ("unknown", None),
])
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


def test_a_running_engine_with_recent_plugins_needs_nothing():
    facts = engine_facts(ANSWERS, (0, "2.26.1-4\n", ""), (0, "github.com/docker/buildx 0.13.1", ""), "/usr/sbin/dockerd", True)
    assert facts["engine_answers"] and facts["engine_installed"] and facts["compose_ok"] and facts["buildx_ok"]
    assert facts["server_version"] == "26.1.5+dfsg1" and facts["compose_version"] == "2.26.1-4"
    assert not facts["access_denied"] and facts["error"] is None


@pytest.mark.parametrize("compose", [(0, "2.19.1", ""), (0, "1.29.2", ""), (1, "", "docker: 'compose' is not a docker command.")])
def test_compose_before_2_20_or_missing_is_not_usable(compose):
    assert not engine_facts(ANSWERS, compose, (0, "", ""), None, True)["compose_ok"]


def test_an_engine_that_refuses_the_user_is_told_apart_from_one_that_is_not_running():
    denied = engine_facts(DENIED, (0, "2.26.1", ""), (0, "", ""), "/usr/sbin/dockerd", True)
    assert denied["access_denied"] and not denied["engine_answers"]
    assert "\n" not in denied["error"] and denied["error"].startswith("permission denied")
    stopped = engine_facts(NOT_RUNNING, (0, "2.26.1", ""), (0, "", ""), "/usr/sbin/dockerd", True)
    assert not stopped["access_denied"] and stopped["engine_installed"] and "daemon running" in stopped["error"]


def test_no_docker_at_all_installs_everything():
    facts = engine_facts(MISSING, MISSING, MISSING, None, False)
    assert not (facts["engine_installed"] or facts["compose_ok"] or facts["buildx_ok"] or facts["python_requests"])
    assert facts["compose_version"] is None and facts["error"] == "docker: command not found"
