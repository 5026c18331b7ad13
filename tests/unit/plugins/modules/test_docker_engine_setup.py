# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backendops.stack.docker_engine's installs against a recording stand-in for AnsibleModule: the apt commands a host
without the engine or its plugins gets, which the shared engine of the test machines cannot show for real.

The start, the containerd pidfile and the second start run against the real engine in
tests/integration/test_docker_engine_role.py.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import docker_engine as engine
from ansible_collections.backendops.stack.plugins.modules import docker_engine as module

ANSWERS = (0, "20.10.24+dfsg1\n", "")
NO_COMPOSE = (1, "", "docker: 'compose' is not a docker command.")
BUILDX = (0, "github.com/docker/buildx 0.13.1", "")


class FakeModule:
    """What EngineSetup uses of AnsibleModule; run_command answers from ``answers`` ({command prefix: result})."""

    def __init__(self, check_mode=False, bins=("docker", "dockerd"), answers=None, **params):
        self.params = {name: spec.get("default") for name, spec in module.ARGUMENT_SPEC.items()}
        self.params.update({"os_family": "Debian", "distribution": "Debian", "distribution_release": "bookworm",
                            "service_mgr": "process_api", **params})
        self.check_mode = check_mode
        self.bins = set(bins)
        self.answers = answers or {}
        self.calls: list[list[str]] = []

    def get_bin_path(self, name, opt_dirs=None):  # pylint: disable=unused-argument
        return "/usr/bin/" + name if name in self.bins else None

    def run_command(self, argv, environ_update=None, cwd=None):  # pylint: disable=unused-argument
        self.calls.append(list(argv))
        if "download" in argv:
            for name in argv[argv.index("download") + 1:]:
                Path(cwd, name + "_1.0-1_amd64.deb").write_bytes(b"deb")
        for prefix, result in self.answers.items():
            if " ".join(argv).startswith(prefix):
                return result
        return 0, "", ""

    def apt_calls(self):
        return [call for call in self.calls if call[0] in ("apt-get", "dpkg-query")]


@pytest.fixture(autouse=True)
def no_requests_probe(monkeypatch):
    """The probe imports requests in the module's Python: the tests say whether it can."""
    monkeypatch.setattr(engine, "_has_requests", lambda: True)


def test_check_mode_on_a_bare_host_plans_everything_and_runs_only_reads(monkeypatch):
    monkeypatch.setattr(engine, "_has_requests", lambda: False)
    fake = FakeModule(check_mode=True, bins=(), answers={"dpkg-query": (1, "iptables installed\ndocker.io not-installed\n", "")})
    result = module.EngineSetup(fake).run()
    assert result["changed"] and result["start"] == "daemon" and result["engine_starts"] == 0
    assert result["installed"] == ["docker.io", "containerd", "runc", "python3-requests", "docker-compose", "docker-buildx"]
    assert result["plugin_suite"] == "trixie"
    assert result["actions"] == [
        "install docker.io, containerd, runc, python3-requests from the host's suite",
        "install docker-compose, docker-buildx from Debian trixie through private apt lists",
        "start dockerd in the background (pidfile /var/run/docker.pid, log /var/log/backendops-dockerd.log)",
    ]
    assert result["diff"]["before"]["engine"] == "missing" and result["diff"]["after"]["engine"] == "answers"
    assert [call[0] for call in fake.calls] == ["dpkg-query"], "check mode ran more than reads"


def test_plugins_come_from_the_other_suite_through_private_apt_state(tmp_path):
    fake = FakeModule(work_dir=str(tmp_path), answers={"docker info": ANSWERS, "docker compose": NO_COMPOSE,
                                                       "docker buildx": BUILDX})
    result = module.EngineSetup(fake).run()
    apt_dir = tmp_path / "apt-trixie"
    private = ["apt-get", "-q"] + engine.private_apt_options(str(apt_dir))
    update, download, install = fake.apt_calls()
    assert update == private + ["update"]
    assert download == private + ["download", "docker-compose"]
    # Installed with the host's own apt configuration, which brings the dependencies from the host's suite.
    assert install[:1] == ["apt-get"] and "-o" in install and install[-1].endswith("/docker-compose_1.0-1_amd64.deb")
    assert not any(arg.startswith("Dir::") for arg in install)
    assert not Path(install[-1]).exists(), "the download directory was left behind"
    assert (apt_dir / "sources.list").read_text() == engine.private_sources("http://deb.debian.org/debian", "trixie")
    assert (apt_dir / "lists" / "partial").is_dir() and (apt_dir / "archives" / "partial").is_dir()
    assert result["changed"] and result["installed"] == ["docker-compose"] and result["start"] is None
    assert result["actions"] == ["install docker-compose from Debian trixie through private apt lists"]


def test_a_suite_without_the_packages_fails_in_one_line(tmp_path):
    class NothingDownloaded(FakeModule):
        def run_command(self, argv, environ_update=None, cwd=None):
            self.calls.append(list(argv))
            return {"info": ANSWERS, "compose": NO_COMPOSE, "buildx": BUILDX}.get(argv[1], (0, "", ""))

    fake = NothingDownloaded(work_dir=str(tmp_path), plugin_suite="sid")
    with pytest.raises(module.EngineSetupError, match=r"^Debian sid at http://deb.debian.org/debian has no docker-compose$"):
        module.EngineSetup(fake).run()


def test_the_host_suite_gets_the_missing_packages_after_a_stale_list_update(monkeypatch):
    monkeypatch.setattr(engine, "_has_requests", lambda: False)
    monkeypatch.setattr(engine, "lists_stale", lambda mtime, now: True)
    fake = FakeModule(distribution="Ubuntu", distribution_release="noble",
                      answers={"docker info": ANSWERS, "docker compose": NO_COMPOSE, "docker buildx": BUILDX})
    result = module.EngineSetup(fake).run()
    assert fake.apt_calls() == [["apt-get", "-q", "update"], module.APT_INSTALL + ["docker-compose-v2", "python3-requests"]]
    assert result["installed"] == ["docker-compose-v2", "python3-requests"] and result["plugin_suite"] == ""


def test_a_failed_install_fails_in_one_line_with_apts_last_words(monkeypatch):
    monkeypatch.setattr(engine, "lists_stale", lambda mtime, now: False)
    fake = FakeModule(plugin_suite="", answers={
        "docker info": ANSWERS, "docker compose": NO_COMPOSE, "docker buildx": BUILDX,
        "apt-get -y": (100, "", "Reading package lists...\nE: Unable to locate package docker-compose\n")})
    with pytest.raises(module.EngineSetupError) as failure:
        module.EngineSetup(fake).run()
    assert str(failure.value) == ("Installing docker-compose failed (apt-get exited 100): Reading package lists... | "
                                  "E: Unable to locate package docker-compose")


@pytest.mark.parametrize("params, expected", [
    ({"os_family": "RedHat", "distribution": "Fedora", "distribution_version": "40"}, "supports Debian-family hosts"),
    ({"apt_mirror": "not a url"}, 'apt_mirror "not a url" must be'),
])
def test_refusals_come_before_any_command(params, expected):
    fake = FakeModule(**params)
    with pytest.raises(module.EngineSetupError, match=expected):
        module.EngineSetup(fake).run()
    assert not fake.calls


def test_an_engine_that_refuses_the_user_running_the_module_stops_everything():
    denied = (1, "", "permission denied while trying to connect to the Docker daemon socket")
    fake = FakeModule(answers={"docker info": denied})
    with pytest.raises(module.EngineSetupError) as failure:
        module.EngineSetup(fake).run()
    assert "refuses" in str(failure.value) and "(permission denied while trying" in str(failure.value)
    assert not fake.apt_calls()


def test_a_running_engine_with_both_plugins_changes_nothing():
    fake = FakeModule(answers={"docker info": ANSWERS, "docker compose": (0, "2.26.1", ""), "docker buildx": BUILDX})
    result = module.EngineSetup(fake).run()
    assert not result["changed"] and result["actions"] == [] and result["server_version"] == "20.10.24+dfsg1"
    assert not fake.apt_calls()
    assert result["diff"]["before"] == result["diff"]["after"]


def test_engine_user_is_checked_against_the_socket_when_root_runs_for_them(monkeypatch, tmp_path):
    """As root for another user (become): the socket's owner, group and mode decide, as they would for that user."""
    socket = tmp_path / "docker.sock"
    socket.write_text("")
    socket.chmod(0o660)
    monkeypatch.setenv("DOCKER_HOST", "unix://" + str(socket))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(module.pwd, "getpwnam", lambda name: type("Account", (), {"pw_uid": 4321, "pw_gid": 4321})())
    monkeypatch.setattr(os, "getgrouplist", lambda name, gid: [4321])
    fake = FakeModule(engine_user="deploy", answers={"docker info": ANSWERS, "docker compose": (0, "2.26.1", ""),
                                                     "docker buildx": BUILDX})
    with pytest.raises(module.EngineSetupError) as failure:
        module.EngineSetup(fake).run()
    assert str(failure.value).startswith("The Docker engine on ")
    assert "refuses deploy (permission denied on %s" % socket in str(failure.value)
    assert "owned by " in str(failure.value) and "with mode 0660)" in str(failure.value)

    monkeypatch.setattr(os, "getgrouplist", lambda name, gid: [4321, os.stat(socket).st_gid])
    assert not module.EngineSetup(fake).run()["changed"]
