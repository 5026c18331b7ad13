#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_engine
short_description: Make sure a Docker engine with Compose v2 and buildx runs on a Debian-family host
version_added: 0.1.0
description:
  - Probes the host like M(backendops.stack.docker_engine_info); when the engine answers, Compose 2.20 or later and
    buildx run and Python C(requests) imports, changes nothing.
  - Otherwise installs what is missing with C(apt-get) - the engine (C(docker.io), C(containerd), C(runc),
    C(iptables)) and C(python3-requests) from the host's own suite, the Compose v2 and buildx plugins from
    O(plugin_suite) where the host's suite lacks them. Those come through a private sources file and private apt
    lists under O(work_dir), so the host's apt configuration and package lists stay untouched.
  - Then starts the engine - with systemd where it is the service manager, else as a background C(dockerd) detached
    from the module, with O(pidfile) and O(log_file) - and waits until C(docker info) answers.
  - A background start first forgets a containerd pidfile that names another process (dockerd would wait for it
    until it gives up); when dockerd gives up all the same because a containerd it launched earlier hangs, that
    containerd is stopped and dockerd started once more. No other process is ever signalled.
  - Refuses, in one line naming the fix, a host that is not Debian-family and an engine that refuses O(engine_user).
  - Installing and starting need root; run it with become for a non-root user.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Probes for real and reports the plan in RV(actions) (the packages it would install, from which suite, and how
        it would start the engine) without installing, writing or starting anything.
  diff_mode:
    support: full
    details:
      - The diff shows the engine, Compose v2, buildx and Python C(requests) as they are and as they will be.
  idempotent:
    support: full
    details: A second run finds the engine answering with both plugins and reports no change.
options:
  os_family:
    description: The host's OS family (the C(os_family) fact); only V(Debian) is supported.
    type: str
    required: true
  distribution:
    description: The host's distribution (the C(distribution) fact); Ubuntu names the Compose package differently.
    type: str
    default: ''
  distribution_version:
    description: The host's distribution version (the C(distribution_version) fact), for the refusal message.
    type: str
    default: ''
  distribution_release:
    description: The host's release (the C(distribution_release) fact), for O(plugin_suite=auto).
    type: str
    default: ''
  service_mgr:
    description: The host's service manager (the C(service_mgr) fact), for O(service_manager=auto).
    type: str
    default: ''
  engine_user:
    description:
      - The user who is to use the engine. When the module runs as root for another user (become), the engine's
        socket must let that user in, or the module refuses before it changes anything.
      - Defaults to the user running the module, whose own C(docker info) then decides.
    type: str
  plugin_suite:
    description:
      - Debian suite to take the C(docker-compose) (v2) and C(docker-buildx) packages from, through a private apt
        sources file that leaves the host's sources untouched.
      - V(auto) picks V(trixie) on bookworm and bullseye, whose own suites only ship Compose v1, and the host's own
        suite elsewhere. An empty string forces the host's own suite.
    type: str
    default: auto
  apt_mirror:
    description: Debian mirror (an http or https URL) used for O(plugin_suite).
    type: str
    default: http://deb.debian.org/debian
  work_dir:
    description: Directory for the private apt lists and the downloaded plugin packages.
    type: path
    default: /var/cache/backendops/docker-engine
  pidfile:
    description: Pidfile of a C(dockerd) started without systemd. Stop the engine by the PID in this file.
    type: path
    default: /var/run/docker.pid
  log_file:
    description: Log file of a C(dockerd) started without systemd; its tail is shown if the engine never answers.
    type: path
    default: /var/log/backendops-dockerd.log
  extra_args:
    description: Extra command line arguments for a C(dockerd) started without systemd.
    type: list
    elements: str
    default: []
  service_manager:
    description: How to start the engine. V(auto) uses systemd when O(service_mgr) is V(systemd), otherwise V(daemon).
    type: str
    choices: [auto, systemd, daemon]
    default: auto
  start_timeout:
    description: Seconds to wait for C(docker info) to answer after each start of the engine.
    type: int
    default: 60
notes:
  - The role backendops.stack.docker_engine gathers the facts this module reads and calls it once.
seealso:
  - module: backendops.stack.docker_engine_info
"""

EXAMPLES = r"""
---
- name: Gather the facts the engine set-up reads
  ansible.builtin.setup:
    gather_subset: [min]

- name: Make sure the engine runs, with Compose v2 and buildx
  backendops.stack.docker_engine:
    os_family: "{{ ansible_facts['os_family'] }}"
    distribution: "{{ ansible_facts['distribution'] }}"
    distribution_version: "{{ ansible_facts['distribution_version'] }}"
    distribution_release: "{{ ansible_facts['distribution_release'] }}"
    service_mgr: "{{ ansible_facts['service_mgr'] }}"
    engine_user: "{{ ansible_facts['user_id'] }}"
  become: true
"""

RETURN = r"""
actions:
  description: What the module did, in order - in check mode, what it would do. Empty when nothing was needed.
  returned: always
  type: list
  elements: str
  sample: ["install docker-compose, docker-buildx from Debian trixie through private apt lists",
           "start dockerd in the background (pidfile /var/run/docker.pid, log /var/log/backendops-dockerd.log)"]
installed:
  description: The packages installed (in check mode, that would be), from either suite.
  returned: always
  type: list
  elements: str
  sample: [docker-compose, docker-buildx]
plugin_suite:
  description: The suite the plugins came (or would come) from; empty when none came from another suite.
  returned: always
  type: str
  sample: trixie
start:
  description: How the engine was (or would be) started - V(systemd) or V(daemon); null when it already answered.
  returned: always
  type: str
  sample: daemon
engine_starts:
  description: How many times the module started the engine - 2 after a second start; 0 in check mode.
  returned: always
  type: int
  sample: 1
forgot_containerd_pidfile:
  description: Whether a containerd pidfile that named another process (or none) was removed before a start.
  returned: always
  type: bool
  sample: false
stopped_containerd:
  description: Whether a hung containerd that dockerd had launched was stopped before a second start.
  returned: always
  type: bool
  sample: false
probe:
  description: What the host had before the module acted, as M(backendops.stack.docker_engine_info) returns it.
  returned: always
  type: dict
  sample: {engine_answers: false, engine_installed: true, compose_ok: true, buildx_ok: true, python_requests: true}
server_version:
  description: The engine's version once it answers; null in check mode when it was not answering.
  returned: always
  type: str
  sample: 20.10.24+dfsg1
"""

import glob
import grp
import os
import platform
import pwd
import signal
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils import docker_engine as engine
from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file
from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli, last_lines
from ansible_collections.backendops.stack.plugins.module_utils.waiter import Waiter

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
# Keep the configuration files already on the host; never ask.
APT_INSTALL = ["apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
               "install"]


class EngineSetupError(Exception):
    """A step failed; the message is one line."""


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return stream.read()
    except OSError:
        return None


def _process(pid: str) -> tuple[str | None, list[str]]:
    """(name, arguments) of a live process, (None, []) when there is none with that pid."""
    if not pid.isdigit():
        return None, []
    comm = _read("/proc/%s/comm" % pid)
    cmdline = _read("/proc/%s/cmdline" % pid) or ""
    return (comm.strip() if comm is not None else None), [arg for arg in cmdline.split("\0") if arg]


def _exe(pid: str) -> str | None:
    try:
        return os.readlink("/proc/%s/exe" % pid)
    except OSError:
        return None


def _statuses():
    for path in glob.glob("/proc/[0-9]*/status"):
        text = _read(path)
        if text:
            yield text


class EngineSetup:
    """Probe, install what is missing, start, wait: the I/O around module_utils.docker_engine's decisions."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.cli = DockerCli(module)
        self.actions: list[str] = []
        self.engine_starts = 0
        self.forgot_containerd_pidfile = False
        self.stopped_containerd = False
        self.server_version: str | None = None
        self._children: list[int] = []

    # -- reading ------------------------------------------------------------------------------------------------------

    def refusal(self, facts: dict) -> str | None:
        """Why the engine would not let its user in, or None."""
        user = self.params["engine_user"]
        host = platform.node()
        if facts["access_denied"]:
            return engine.refused(host, user or pwd.getpwuid(os.geteuid()).pw_name, facts["error"])
        if not facts["engine_answers"] or not user or os.geteuid() != 0:
            return None
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            return None
        if account.pw_uid == os.geteuid():
            return None
        socket = engine.socket_path(os.environ.get("DOCKER_HOST"))
        try:
            socket_stat = os.stat(socket) if socket else None
        except OSError:
            socket_stat = None
        if socket_stat is None:
            return None
        groups = set(os.getgrouplist(user, account.pw_gid))
        if engine.may_connect(account.pw_uid, groups, socket_stat):
            return None
        owner = "%s:%s" % (_name(pwd.getpwuid, socket_stat.st_uid), _name(grp.getgrgid, socket_stat.st_gid))
        return engine.refused(host, user, "permission denied on %s, owned by %s with mode %04o"
                              % (socket, owner, socket_stat.st_mode & 0o777))

    def installed_engine_packages(self) -> set[str]:
        rc, out, _err = self.module.run_command(
            ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n"] + list(engine.ENGINE_PACKAGES))
        return engine.installed_packages(out) if rc in (0, 1) else set()

    # -- installing ---------------------------------------------------------------------------------------------------

    def _run(self, argv: list[str], what: str, **kwargs) -> str:
        rc, out, err = self.module.run_command(argv, environ_update=APT_ENV, **kwargs)
        if rc != 0:
            raise EngineSetupError("%s failed (%s exited %d): %s" % (what, argv[0], rc, last_lines(err or out)))
        return out

    def _update_host_lists(self) -> None:
        stamp = "/var/lib/apt/periodic/update-success-stamp"
        path = stamp if os.path.exists(stamp) else "/var/lib/apt/lists"
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = None
        if engine.lists_stale(mtime, time.time()):
            self._run(["apt-get", "-q", "update"], "Updating the host's package lists")

    def install_from_host(self, packages) -> None:
        self._update_host_lists()
        self._run(APT_INSTALL + list(packages), "Installing %s" % ", ".join(packages))

    def install_from_suite(self, suite: str, packages) -> None:
        apt_dir = os.path.join(self.params["work_dir"], "apt-" + suite)
        for directory in ("lists/partial", "archives/partial"):
            os.makedirs(os.path.join(apt_dir, directory), mode=0o755, exist_ok=True)
        sources = os.path.join(apt_dir, "sources.list")
        content = engine.private_sources(self.params["apt_mirror"], suite)
        if _read(sources) != content:
            replace_file(sources, content.encode("utf-8"), 0o644)
        private = ["apt-get", "-q"] + engine.private_apt_options(apt_dir)
        self._run(private + ["update"], "Updating the private package lists of Debian %s" % suite)
        with tempfile.TemporaryDirectory(prefix="docker-plugins.") as download:
            self._run(private + ["download"] + list(packages), "Downloading %s from Debian %s" % (", ".join(packages), suite),
                      cwd=download)
            debs = sorted(path for name in packages for path in glob.glob(os.path.join(download, name + "_*.deb")))
            if len(debs) != len(packages):
                raise EngineSetupError("Debian %s at %s has no %s" % (suite, self.params["apt_mirror"], ", ".join(packages)))
            # Their dependencies (libc6) come from the host's own suite.
            self._run(APT_INSTALL + debs, "Installing %s" % ", ".join(os.path.basename(deb) for deb in debs))

    # -- starting -----------------------------------------------------------------------------------------------------

    def start_with_systemd(self) -> None:
        if self.module.run_command(["systemctl", "is-enabled", "docker"])[1].strip() != "enabled":
            self._run(["systemctl", "enable", "docker"], "Enabling the docker service")
        self._run(["systemctl", "start", "docker"], "Starting the docker service")
        self.engine_starts += 1
        self.actions.append(engine.start_line("systemd", self.params["pidfile"], self.params["log_file"]))
        result = self.wait(daemon=False)
        if result[0] != 0:
            journal = self.module.run_command(["journalctl", "-u", "docker", "-n", str(engine.LOG_TAIL_LINES), "--no-pager"])[1]
            raise EngineSetupError(engine.no_answer(self.params["start_timeout"], False, result[2], "journalctl -u docker",
                                                    journal.splitlines()))

    def start_daemon(self) -> None:
        pid = (_read(self.params["pidfile"]) or "").strip()
        if pid.isdigit() and engine.is_dockerd(_exe(pid)):
            # A dockerd that is still starting (or hung) holds the pidfile; a second one would fail.
            self.actions.append("wait for the dockerd already starting (pid %s)" % pid)
        else:
            self.containerd_pidfile(stop=False)
            self.launch()
        result = self.wait(daemon=True)
        second_start = False
        if result[0] != 0 and not result[3]:
            # dockerd gave up: a containerd left behind by a killed dockerd that does not answer makes it time out.
            self.containerd_pidfile(stop=True)
            self.launch()
            second_start = True
            result = self.wait(daemon=True)
        if result[0] != 0:
            lines = (_read(self.params["log_file"]) or "").splitlines()[-engine.LOG_TAIL_LINES:]
            raise EngineSetupError(engine.no_answer(self.params["start_timeout"], second_start, result[2],
                                                    self.params["log_file"], lines))

    def containerd_pidfile(self, stop: bool) -> None:
        pid = _read(engine.CONTAINERD_PIDFILE)
        if pid is None:
            return
        pid = pid.strip()
        comm, cmdline = _process(pid)
        action = engine.containerd_pidfile_action(comm, cmdline, stop)
        if action == "keep":
            return
        if action == "stop":
            self._stop(int(pid))
            self.stopped_containerd = True
            self.actions.append("stop the hung containerd (pid %s) that dockerd had launched" % pid)
        else:
            self.forgot_containerd_pidfile = True
            self.actions.append("forget the containerd pidfile that names another process (pid %s)" % (pid or "none"))
        try:
            os.unlink(engine.CONTAINERD_PIDFILE)
        except FileNotFoundError:
            pass

    @staticmethod
    def _stop(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
                time.sleep(0.5)
            if os.path.exists("/proc/%d" % pid):
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it ended by itself meanwhile

    def launch(self) -> None:
        """dockerd in a session of its own, its output appended to the log file: it outlives the module."""
        dockerd = engine.dockerd_path(self.module)
        if dockerd is None:
            raise EngineSetupError("dockerd is not installed on %s although its packages are: reinstall docker.io"
                                   % platform.node())
        log_file = self.params["log_file"]
        redirects = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                     (os.POSIX_SPAWN_OPEN, 1, log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640),
                     (os.POSIX_SPAWN_DUP2, 1, 2)]
        os.chdir("/")  # dockerd inherits the working directory; the module's own goes away after it
        try:
            self._children.append(os.posix_spawn(
                dockerd, engine.dockerd_argv(dockerd, self.params["pidfile"], self.params["extra_args"]),
                dict(os.environ, PATH=engine.with_sbin(os.environ.get("PATH"))), file_actions=redirects, setsid=True))
        except OSError as exc:
            raise EngineSetupError("Starting %s (log %s) failed: %s" % (dockerd, log_file, exc)) from None
        self.engine_starts += 1
        self.actions.append("start dockerd again" if self.engine_starts > 1
                            else engine.start_line("daemon", self.params["pidfile"], log_file))

    def _reap(self) -> None:
        """Collect a dockerd this module started that exited, so that it no longer counts as a process."""
        for pid in self._children:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass

    def wait(self, daemon: bool):
        """(rc, version, error, alive) of the last `docker info`; a background start also stops waiting once no
        dockerd process is left (it gave up)."""
        def poll():
            rc, out, err = self.cli.run("info", "--format", "{{.ServerVersion}}", check=False)
            self._reap()
            return rc, out.strip(), err, (engine.dockerd_alive(_statuses()) if daemon else True)

        waiter = Waiter(self.params["start_timeout"], interval=1.0, max_interval=2.0)
        result = waiter.wait(poll, lambda value: value[0] == 0 or not value[3]).value
        self.server_version = result[1] if result[0] == 0 else None
        return result

    # -- the whole -----------------------------------------------------------------------------------------------------

    def run(self) -> dict:
        params = self.params
        problem = (engine.mirror_problem(params["apt_mirror"])
                   or engine.unsupported_os(params["os_family"], params["distribution"], params["distribution_version"]))
        if problem:
            raise EngineSetupError(problem)
        facts = engine.probe(self.module)
        problem = self.refusal(facts)
        if problem:
            raise EngineSetupError(problem)
        suite = engine.resolve_plugin_suite(params["plugin_suite"], params["distribution_release"])
        installed = set() if facts["engine_installed"] else self.installed_engine_packages()
        steps = engine.plan(facts, installed, params["distribution"], suite,
                            engine.use_systemd(params["service_manager"], params["service_mgr"]))
        if self.module.check_mode:
            self.actions = engine.describe(steps, params["pidfile"], params["log_file"])
        else:
            self.carry_out(steps)
        return {
            # In check mode the plan is the change; a run that only waited for a dockerd already starting changed nothing.
            "changed": bool(steps.host_packages or steps.suite_packages or self.engine_starts
                            or self.forgot_containerd_pidfile or self.stopped_containerd
                            or (self.module.check_mode and steps.start)),
            "actions": self.actions,
            "installed": list(steps.host_packages + steps.suite_packages),
            "plugin_suite": steps.suite,
            "start": steps.start,
            "engine_starts": self.engine_starts,
            "forgot_containerd_pidfile": self.forgot_containerd_pidfile,
            "stopped_containerd": self.stopped_containerd,
            "probe": facts,
            "server_version": self.server_version or facts["server_version"],
            "diff": {"before": engine.state(facts), "after": engine.planned_state(facts, steps)},
        }

    def carry_out(self, steps: engine.Plan) -> None:
        # The install lines are the plan's; the start says itself what it did (a dockerd may already be starting).
        self.actions = engine.describe(engine.Plan(steps.host_packages, steps.suite_packages, steps.suite), "", "")
        if steps.host_packages:
            self.install_from_host(steps.host_packages)
        if steps.suite_packages:
            self.install_from_suite(steps.suite, steps.suite_packages)
        if steps.start == "systemd":
            self.start_with_systemd()
        elif steps.start == "daemon":
            self.start_daemon()


def _name(lookup, number: int) -> str:
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


ARGUMENT_SPEC = dict(
    os_family=dict(type="str", required=True),
    distribution=dict(type="str", default=""),
    distribution_version=dict(type="str", default=""),
    distribution_release=dict(type="str", default=""),
    service_mgr=dict(type="str", default=""),
    engine_user=dict(type="str"),
    plugin_suite=dict(type="str", default="auto"),
    apt_mirror=dict(type="str", default="http://deb.debian.org/debian"),
    work_dir=dict(type="path", default="/var/cache/backendops/docker-engine"),
    pidfile=dict(type="path", default="/var/run/docker.pid"),
    log_file=dict(type="path", default="/var/log/backendops-dockerd.log"),
    extra_args=dict(type="list", elements="str", default=[]),
    service_manager=dict(type="str", choices=["auto", "systemd", "daemon"], default="auto"),
    start_timeout=dict(type="int", default=60),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    setup = EngineSetup(module)
    try:
        result = setup.run()
    except EngineSetupError as exc:
        module.fail_json(msg=str(exc), actions=setup.actions, engine_starts=setup.engine_starts)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
