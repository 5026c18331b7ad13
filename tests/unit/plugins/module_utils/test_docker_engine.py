# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import os

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import docker_engine as engine
from ansible_collections.backendops.stack.plugins.module_utils.docker_engine import engine_facts, version_tuple

ANSWERS = (0, "26.1.5+dfsg1\n", "")
# What `docker info` printed for a user outside the docker group on this project's machines.
DENIED = (1, "", "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock:\n"
                 "Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.50/info\": dial unix /var/run/docker.sock: connect: permission denied")
NOT_RUNNING = (1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
MISSING = (127, "", "docker: command not found")
GOOD_COMPOSE = (0, "2.26.1-4\n", "")
GOOD_BUILDX = (0, "github.com/docker/buildx 0.13.1", "")


@pytest.mark.parametrize("text, expected", [
    ("v2.26.1", (2, 26, 1)), ("2.20.2+ds1-0ubuntu1", (2, 20, 2)), ("2.26.1-4", (2, 26, 1)), ("1.29", (1, 29, 0)),
    ("", None), ("unknown", None),
])
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


def test_a_running_engine_with_recent_plugins_needs_nothing():
    facts = engine_facts(ANSWERS, GOOD_COMPOSE, GOOD_BUILDX, "/usr/sbin/dockerd", True)
    assert facts["engine_answers"] and facts["engine_installed"] and facts["compose_ok"] and facts["buildx_ok"]
    assert facts["server_version"] == "26.1.5+dfsg1" and facts["compose_version"] == "2.26.1-4"
    assert not facts["access_denied"] and facts["error"] is None
    steps = engine.plan(facts, set(), "Debian", "trixie", systemd=False)
    assert steps.empty and engine.describe(steps, "/p", "/l") == []
    assert engine.state(facts) == engine.planned_state(facts, steps)


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


# -- Refusals --------------------------------------------------------------------------------------------------------

def test_only_debian_family_hosts_are_supported():
    assert engine.unsupported_os("Debian", "Ubuntu", "24.04") is None
    message = engine.unsupported_os("RedHat", "Fedora", "40")
    assert message.startswith("backendops.stack.docker_engine supports Debian-family hosts (Debian, Ubuntu)")
    assert "Fedora 40 (os_family RedHat)" in message and "\n" not in message


@pytest.mark.parametrize("url, ok", [
    ("http://deb.debian.org/debian", True), ("https://mirror.example.com/debian/", True),
    ("not a url", False), ("ftp://deb.debian.org/debian", False), ("http:// spaced", False), ("", False),
])
def test_the_mirror_must_be_an_http_url(url, ok):
    problem = engine.mirror_problem(url)
    assert (problem is None) == ok
    if not ok:
        assert problem.startswith('apt_mirror "%s" must be the http(s) URL of a Debian mirror' % url)


def test_a_refused_user_is_told_the_fix_in_one_line():
    message = engine.refused("host1", "deploy", "permission denied on /var/run/docker.sock")
    assert message.startswith("The Docker engine on host1 refuses deploy (permission denied")
    assert "sudo usermod -aG docker <user>" in message and "DOCKER_HOST" in message


@pytest.mark.parametrize("docker_host, expected", [
    (None, "/var/run/docker.sock"), ("", "/var/run/docker.sock"), ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
    ("tcp://10.0.0.2:2376", None), ("ssh://deploy@host", None),
])
def test_socket_path(docker_host, expected):
    assert engine.socket_path(docker_host) == expected


SOCKET = os.stat_result((0o140660, 0, 0, 0, 0, 998, 0, 0, 0, 0))  # srw-rw---- root:docker (gid 998)


@pytest.mark.parametrize("uid, gids, socket_stat, expected", [
    (0, {0}, SOCKET, True),
    (1000, {1000, 998}, SOCKET, True),
    (1000, {1000}, SOCKET, False),
    (1000, {1000}, os.stat_result((0o140666, 0, 0, 0, 0, 998, 0, 0, 0, 0)), True),
    (1000, {1000}, os.stat_result((0o140600, 0, 0, 0, 1000, 998, 0, 0, 0, 0)), True),
    (1000, {998}, os.stat_result((0o140406, 0, 0, 0, 1000, 998, 0, 0, 0, 0)), False),  # the owner's bits decide
])
def test_who_may_connect_to_the_socket(uid, gids, socket_stat, expected):
    assert engine.may_connect(uid, gids, socket_stat) is expected


# -- The plan --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, release, expected", [
    ("auto", "bookworm", "trixie"), ("auto", "bullseye", "trixie"), ("auto", "trixie", ""), ("auto", "noble", ""),
    ("auto", "", ""), ("", "bookworm", ""), ("sid", "bookworm", "sid"),
])
def test_plugin_suite_per_release(setting, release, expected):
    assert engine.resolve_plugin_suite(setting, release) == expected


@pytest.mark.parametrize("distribution, compose_ok, buildx_ok, expected", [
    ("Debian", False, False, ["docker-compose", "docker-buildx"]),
    ("Ubuntu", False, False, ["docker-compose-v2", "docker-buildx"]),
    ("Debian", True, False, ["docker-buildx"]),
    ("Ubuntu", False, True, ["docker-compose-v2"]),
    ("Debian", True, True, []),
])
def test_plugin_packages_per_distribution(distribution, compose_ok, buildx_ok, expected):
    assert engine.plugin_packages(distribution, compose_ok, buildx_ok) == expected


def test_a_bare_bookworm_host_gets_the_engine_from_its_suite_and_the_plugins_from_trixie():
    facts = engine_facts(MISSING, MISSING, MISSING, None, False)
    steps = engine.plan(facts, {"iptables"}, "Debian", "trixie", systemd=False)
    assert steps.host_packages == ("docker.io", "containerd", "runc", "python3-requests")
    assert steps.suite_packages == ("docker-compose", "docker-buildx") and steps.suite == "trixie"
    assert steps.start == "daemon"
    assert engine.describe(steps, "/var/run/docker.pid", "/var/log/d.log") == [
        "install docker.io, containerd, runc, python3-requests from the host's suite",
        "install docker-compose, docker-buildx from Debian trixie through private apt lists",
        "start dockerd in the background (pidfile /var/run/docker.pid, log /var/log/d.log)",
    ]
    assert engine.state(facts) == {"engine": "missing", "compose_v2": "missing", "buildx": "missing",
                                   "python_requests": "missing"}
    assert engine.planned_state(facts, steps) == {"engine": "answers", "compose_v2": "usable", "buildx": "usable",
                                                  "python_requests": "importable"}


def test_an_ubuntu_host_takes_the_plugins_from_its_own_suite_and_starts_with_systemd():
    facts = engine_facts(NOT_RUNNING, MISSING, GOOD_BUILDX, "/usr/sbin/dockerd", True)
    steps = engine.plan(facts, set(), "Ubuntu", "", systemd=True)
    assert steps == engine.Plan(host_packages=("docker-compose-v2",), start="systemd")
    assert engine.describe(steps, "/p", "/l")[-1] == "start the docker service with systemd"


def test_a_stopped_engine_with_everything_installed_is_only_started():
    facts = engine_facts(NOT_RUNNING, GOOD_COMPOSE, GOOD_BUILDX, "/usr/sbin/dockerd", True)
    steps = engine.plan(facts, set(), "Debian", "trixie", systemd=False)
    assert steps == engine.Plan(start="daemon") and not steps.empty
    assert engine.state(facts)["engine"] == "installed" and engine.planned_state(facts, steps)["engine"] == "answers"


@pytest.mark.parametrize("service_manager, fact, expected", [
    ("auto", "systemd", True), ("auto", "process_api", False), ("auto", "", False), ("systemd", "sysvinit", True),
    ("daemon", "systemd", False),
])
def test_systemd_where_it_is_the_service_manager(service_manager, fact, expected):
    assert engine.use_systemd(service_manager, fact) is expected


def test_installed_packages_reads_dpkg_query():
    output = "docker.io installed\ncontainerd not-installed\nrunc config-files\niptables installed\n"
    assert engine.installed_packages(output) == {"docker.io", "iptables"}


def test_private_apt_state_leaves_the_hosts_alone():
    options = engine.private_apt_options("/cache/apt-trixie")
    pairs = dict(value.split("=", 1) for value in options[1::2])
    assert options[0::2] == ["-o"] * 4
    assert pairs == {"Dir::Etc::SourceList": "/cache/apt-trixie/sources.list", "Dir::Etc::SourceParts": "/dev/null",
                     "Dir::State::Lists": "/cache/apt-trixie/lists", "Dir::Cache::archives": "/cache/apt-trixie/archives"}
    assert engine.private_sources("http://deb.debian.org/debian", "trixie").endswith(
        "\ndeb http://deb.debian.org/debian trixie main\n")


@pytest.mark.parametrize("mtime, now, stale", [(None, 0.0, True), (1000.0, 4600.0, False), (1000.0, 4601.0, True)])
def test_host_lists_are_updated_once_an_hour(mtime, now, stale):
    assert engine.lists_stale(mtime, now) is stale


def test_dockerd_gets_the_sbin_directories_and_its_arguments():
    assert engine.with_sbin("/usr/bin:/root/bin") == "/usr/bin:/root/bin:/usr/local/sbin:/usr/sbin:/sbin:/bin"
    assert engine.with_sbin(None).split(":")[:3] == ["/usr/local/sbin", "/usr/sbin", "/sbin"]
    assert engine.dockerd_argv("/usr/sbin/dockerd", "/run/d.pid", ["--debug"]) == [
        "/usr/sbin/dockerd", "--pidfile", "/run/d.pid", "--debug"]


# -- The processes of a background dockerd ---------------------------------------------------------------------------

def status(name, state="S (sleeping)"):
    return "Name:\t%s\nUmask:\t0022\nState:\t%s\nPid:\t42\n" % (name, state)


def test_a_dockerd_counts_as_alive_unless_it_is_a_zombie():
    assert engine.dockerd_alive([status("sleep"), status("dockerd")])
    assert not engine.dockerd_alive([status("dockerd", "Z (zombie)"), status("containerd")])
    assert not engine.dockerd_alive([status("dockerd-helper")])
    assert not engine.dockerd_alive([])


def test_a_pidfile_names_a_dockerd_by_its_executable():
    assert engine.is_dockerd("/usr/sbin/dockerd") and engine.is_dockerd("/usr/sbin/dockerd (deleted)")
    assert not engine.is_dockerd("/usr/bin/sleep") and not engine.is_dockerd(None)


LAUNCHED = ["containerd", "--config", engine.CONTAINERD_CONFIG]


@pytest.mark.parametrize("comm, cmdline, stop, expected", [
    # Another process, or none, under that pid: forget the pidfile, before a start and after one.
    ("sleep", ["sleep", "300"], False, "forget"),
    (None, [], False, "forget"),
    ("sleep", ["sleep", "300"], True, "forget"),
    # A containerd is kept before the first start: dockerd reuses it when it answers.
    ("containerd", LAUNCHED, False, "keep"),
    # After a start that gave up, the containerd dockerd launched is stopped; any other containerd is left alone.
    ("containerd", LAUNCHED, True, "stop"),
    ("containerd", ["containerd", "--config=" + engine.CONTAINERD_CONFIG], True, "stop"),
    ("containerd", ["containerd", "--config", "/etc/containerd/config.toml"], True, "keep"),
    ("containerd", ["containerd", "--config"], True, "keep"),
])
def test_what_happens_to_the_containerd_pidfile(comm, cmdline, stop, expected):
    assert engine.containerd_pidfile_action(comm, cmdline, stop) == expected


def test_an_engine_that_never_answers_says_so_with_the_log_tail():
    message = engine.no_answer(60, True, "Cannot connect\nto the daemon", "/var/log/d.log", ["first", "  ", "last\n"])
    assert message == ("The Docker engine did not answer `docker info` within 60 s (after a second start) "
                       "(Cannot connect to the daemon). Last lines of /var/log/d.log: first | last")
    assert engine.no_answer(5, False, "", "journalctl -u docker", []).endswith("(). Last lines of journalctl -u docker: nothing")
