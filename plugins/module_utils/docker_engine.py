# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Docker host with a running engine, Compose v2, buildx and the Python library of community.docker's modules.

What the host has is read with probe(), the one read that backendops.stack.docker_engine_info and
backendops.stack.docker_engine share. Everything else here decides without touching the host (the packages per
distribution, the suite per release, the commands, the plan, the messages); the module docker_engine does the I/O.
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass

from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli

# Before 2.20 Compose copied secrets into containers with mode 0400, unreadable for a non-root backend; v1 is the
# Python docker-compose that community.docker cannot drive.
MINIMUM_COMPOSE = (2, 20, 0)

SUPPORTED_OS_FAMILIES = ("Debian",)
ENGINE_PACKAGES = ("docker.io", "containerd", "runc", "iptables")  # dockerd refuses to start without iptables
PYTHON_REQUESTS_PACKAGE = "python3-requests"
# Releases whose own suite has no Compose v2 / buildx package (only Compose v1), and the suite that has both.
PLUGIN_SUITE_BY_RELEASE = {"bullseye": "trixie", "bookworm": "trixie"}

# Where dockerd keeps the containerd it launches itself (its exec root).
CONTAINERD_PIDFILE = "/var/run/docker/containerd/containerd.pid"
CONTAINERD_CONFIG = "/var/run/docker/containerd/containerd.toml"
DEFAULT_SOCKET = "/var/run/docker.sock"
APT_LISTS_MAX_AGE = 3600
LOG_TAIL_LINES = 25
_MIRROR_RE = re.compile(r"^https?://[^/ ]+")


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


def _has_requests() -> bool:
    try:
        import requests  # noqa: F401 pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
        return False
    return True


def probe(module) -> dict:
    """engine_facts of the host the module runs on; a missing docker binary counts as failed probes."""
    if module.get_bin_path("docker") is None:
        info = compose = buildx = (127, "", "docker: command not found")
    else:
        cli = DockerCli(module)
        info = cli.run("info", "--format", "{{.ServerVersion}}", check=False)
        compose = cli.run("compose", "version", "--short", check=False)
        buildx = cli.run("buildx", "version", check=False)
    return engine_facts(info, compose, buildx, dockerd_path(module), _has_requests())


def dockerd_path(module) -> str | None:
    # sbin is not on every user's PATH.
    return module.get_bin_path("dockerd", opt_dirs=["/usr/sbin", "/usr/bin", "/sbin"])


# -- Input and refusals: one line each, naming the fix ----------------------------------------------------------------

def mirror_problem(url: str) -> str | None:
    if _MIRROR_RE.match(url or ""):
        return None
    return "apt_mirror %s must be the http(s) URL of a Debian mirror, e.g. http://deb.debian.org/debian." % json.dumps(url)


def unsupported_os(os_family: str, distribution: str, version: str) -> str | None:
    if os_family in SUPPORTED_OS_FAMILIES:
        return None
    return ("backendops.stack.docker_engine supports Debian-family hosts (Debian, Ubuntu); this host runs %s %s "
            "(os_family %s)." % (distribution or "an unknown distribution", version or "", os_family))


def refused(host: str, user: str, error: str) -> str:
    return ("The Docker engine on %s refuses %s (%s). Add the user to the docker group (sudo usermod -aG docker "
            "<user>), or point DOCKER_HOST at an engine it may use." % (host, user, error))


def socket_path(docker_host: str | None) -> str | None:
    """The engine's unix socket for DOCKER_HOST (unset: the default one); None for a TCP or SSH engine."""
    if not docker_host:
        return DEFAULT_SOCKET
    if docker_host.startswith("unix://"):
        return docker_host[len("unix://"):]
    return None


def may_connect(uid: int, gids, socket_stat) -> bool:
    """Whether a user (uid, all its group ids) may connect to a unix socket: that takes write permission."""
    if uid == 0:
        return True
    mode = socket_stat.st_mode
    if uid == socket_stat.st_uid:
        return bool(mode & stat.S_IWUSR)
    if socket_stat.st_gid in gids:
        return bool(mode & stat.S_IWGRP)
    return bool(mode & stat.S_IWOTH)


# -- What to install and how to start --------------------------------------------------------------------------------

def resolve_plugin_suite(setting: str, release: str) -> str:
    """The suite to take the plugins from; empty means the host's own suite."""
    if setting == "auto":
        return PLUGIN_SUITE_BY_RELEASE.get(release or "", "")
    return setting


def plugin_packages(distribution: str, compose_ok: bool, buildx_ok: bool) -> list[str]:
    """The plugin packages a host lacks: Ubuntu packages Compose v2 as docker-compose-v2, Debian (trixie on) as
    docker-compose."""
    compose = "docker-compose-v2" if distribution == "Ubuntu" else "docker-compose"
    return ([] if compose_ok else [compose]) + ([] if buildx_ok else ["docker-buildx"])


def installed_packages(dpkg_query_output: str) -> set[str]:
    """Names marked installed in `dpkg-query -W -f '${Package} ${db:Status-Status}\\n'` output."""
    found = set()
    for line in dpkg_query_output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "installed":
            found.add(parts[0])
    return found


def use_systemd(service_manager: str, service_mgr_fact: str | None) -> bool:
    return service_manager == "systemd" or (service_manager == "auto" and service_mgr_fact == "systemd")


@dataclass(frozen=True)
class Plan:
    """What a host needs: packages from its own suite, plugin packages from another suite, and a start."""

    host_packages: tuple = ()
    suite_packages: tuple = ()
    suite: str = ""
    start: str | None = None  # "systemd", "daemon" or None (the engine answers)

    @property
    def empty(self) -> bool:
        return not (self.host_packages or self.suite_packages or self.start)


def plan(facts: dict, installed: set, distribution: str, suite: str, systemd: bool) -> Plan:
    """What to do on a host with these probe facts; ``installed`` are the engine packages dpkg has."""
    host = [] if facts["engine_installed"] else [name for name in ENGINE_PACKAGES if name not in installed]
    plugins = plugin_packages(distribution, facts["compose_ok"], facts["buildx_ok"])
    from_suite = plugins if suite else []
    if not suite:
        host += plugins
    if not facts["python_requests"]:
        host.append(PYTHON_REQUESTS_PACKAGE)
    start = None if facts["engine_answers"] else ("systemd" if systemd else "daemon")
    return Plan(tuple(host), tuple(from_suite), suite if from_suite else "", start)


def start_line(kind: str | None, pidfile: str, log_file: str) -> str | None:
    if kind == "systemd":
        return "start the docker service with systemd"
    if kind == "daemon":
        return "start dockerd in the background (pidfile %s, log %s)" % (pidfile, log_file)
    return None


def describe(steps: Plan, pidfile: str, log_file: str) -> list[str]:
    """The plan as lines, in the order the module carries it out."""
    lines = []
    if steps.host_packages:
        lines.append("install %s from the host's suite" % ", ".join(steps.host_packages))
    if steps.suite_packages:
        lines.append("install %s from Debian %s through private apt lists" % (", ".join(steps.suite_packages), steps.suite))
    start = start_line(steps.start, pidfile, log_file)
    return lines + ([start] if start else [])


def state(facts: dict) -> dict:
    """What a diff shows of a host, before or (planned) after."""
    return {
        "engine": "answers" if facts["engine_answers"] else ("installed" if facts["engine_installed"] else "missing"),
        "compose_v2": "usable" if facts["compose_ok"] else "missing",
        "buildx": "usable" if facts["buildx_ok"] else "missing",
        "python_requests": "importable" if facts["python_requests"] else "missing",
    }


def planned_state(facts: dict, steps: Plan) -> dict:
    return state({"engine_answers": facts["engine_answers"] or steps.start is not None, "engine_installed": True,
                  "compose_ok": True, "buildx_ok": True, "python_requests": True})


def private_apt_options(apt_dir: str) -> list[str]:
    """apt-get options that read sources and keep lists and archives in apt_dir only: the host's stay untouched."""
    options = []
    for name, value in (("Dir::Etc::SourceList", apt_dir + "/sources.list"), ("Dir::Etc::SourceParts", "/dev/null"),
                        ("Dir::State::Lists", apt_dir + "/lists"), ("Dir::Cache::archives", apt_dir + "/archives")):
        options += ["-o", "%s=%s" % (name, value)]
    return options


def private_sources(mirror: str, suite: str) -> str:
    return ("# Written by backendops.stack.docker_engine: private sources for the Docker Compose v2 and buildx\n"
            "# plugins (used with apt-get -o Dir::Etc::SourceList).\n"
            "deb %s %s main\n" % (mirror, suite))


def lists_stale(mtime: float | None, now: float, max_age: int = APT_LISTS_MAX_AGE) -> bool:
    return mtime is None or now - mtime > max_age


def with_sbin(path: str | None) -> str:
    """PATH for dockerd: it runs iptables, containerd and runc, which live in sbin directories on some hosts."""
    parts = [part for part in (path or "").split(":") if part]
    return ":".join(parts + [part for part in ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin")
                             if part not in parts])


def dockerd_argv(dockerd: str, pidfile: str, extra_args) -> list[str]:
    return [dockerd, "--pidfile", pidfile] + list(extra_args)


# -- The processes a background dockerd leaves behind ---------------------------------------------------------------

def is_dockerd(exe_link: str | None) -> bool:
    """Whether /proc/<pid>/exe points at a dockerd (also once its binary was replaced: '... (deleted)')."""
    return "dockerd" in (exe_link or "")


def dockerd_alive(statuses) -> bool:
    """Whether any /proc/<pid>/status text is a dockerd that is not a zombie."""
    for status in statuses:
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Name", "").strip() == "dockerd" and not fields.get("State", "").strip().startswith("Z"):
            return True
    return False


def containerd_pidfile_action(comm: str | None, cmdline, stop: bool) -> str:
    """What to do with dockerd's containerd pidfile, given its process's name and arguments (None: no process).

    dockerd reuses the containerd named there when that pid is alive; after a crash the pid may belong to another
    process, and dockerd then times out waiting for a containerd that never answers: "forget" the pidfile. Before a
    second start (``stop``), a containerd that dockerd itself launched (its config under the exec root) but that does
    not answer is stopped: "stop". Any other containerd is kept ("keep"); other processes are never signalled.
    """
    if comm != "containerd":
        return "forget"
    if not stop:
        return "keep"
    args = list(cmdline or [])
    launched_by_dockerd = any(
        arg == "--config=" + CONTAINERD_CONFIG or (arg == "--config" and args[index + 1:index + 2] == [CONTAINERD_CONFIG])
        for index, arg in enumerate(args))
    return "stop" if launched_by_dockerd else "keep"


def no_answer(timeout: int, second_start: bool, error: str, log_name: str, log_lines) -> str:
    return ("The Docker engine did not answer `docker info` within %d s%s (%s). Last lines of %s: %s"
            % (timeout, " (after a second start)" if second_start else "", " ".join((error or "").split()),
               log_name, " | ".join(line.strip() for line in log_lines if line.strip()) or "nothing"))
