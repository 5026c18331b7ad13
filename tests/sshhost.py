# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A remote Docker host for the tests: an sshd of its own on 127.0.0.1 and a free port, with a non-root user that logs
in with a key, has sudo rights and is in the docker group (the shared engine stands in for the host's own).

The host is this machine, so a test can read both sides; what runs there goes through SSH like on any other host.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from evidence.stack import LocalStack
from support import PlaybookRun, free_port, run_playbook

SSHD = Path("/usr/sbin/sshd")
SSH_HOST = f"an sshd at {SSHD} (Debian's openssh-server), sudo and useradd; scripts/test's toolchain stage installs them"
USER = "backendops-ssh"
SUDOERS = Path("/etc/sudoers.d/backendops-ssh")


def ssh_host_available() -> bool:
    return os.geteuid() == 0 and SSHD.exists() and shutil.which("sudo") is not None and shutil.which("useradd") is not None


def _run(*argv: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")


class SSHHost:
    """Start with `with SSHHost(workdir) as host:`; the user and its home are removed at the end."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.key = workdir / "id_ed25519"
        self.process: subprocess.Popen | None = None
        # ssh's control socket path must stay under 108 bytes; pytest's tmp paths can be longer.
        self.control_dir = Path(tempfile.mkdtemp(prefix="bo-cp-", dir="/tmp"))

    @property
    def user(self) -> str:
        return USER

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(USER).pw_dir)

    def __enter__(self) -> "SSHHost":
        try:
            self._add_user()
            self._start_sshd()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _add_user(self) -> None:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            # A home left by a run whose user went without it would keep files the new user cannot write.
            shutil.rmtree(Path("/home") / USER, ignore_errors=True)
            _run("useradd", "--create-home", "--shell", "/bin/sh", "--groups", "docker", USER)
        # useradd leaves "!" (locked) as the password, and sshd refuses a key login to a locked account: "*" means
        # no password but not locked.
        _run("usermod", "--password", "*", "--append", "--groups", "docker", USER)
        SUDOERS.write_text(f"{USER} ALL=(ALL) NOPASSWD: ALL\n", encoding="utf-8")
        SUDOERS.chmod(0o440)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", USER, "-f", str(self.key))
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.workdir / "host_key"))
        account = pwd.getpwnam(USER)
        ssh_dir = self.home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        shutil.copyfile(self.key.with_suffix(".pub"), ssh_dir / "authorized_keys")
        (ssh_dir / "authorized_keys").chmod(0o600)
        for path in (ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, account.pw_uid, account.pw_gid)

    def _start_sshd(self) -> None:
        config = self.workdir / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.workdir / 'host_key'}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            # Without PAM (no login session set-up in a container); keys only, this user only.
            "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            f"AllowUsers {USER}", "Subsystem sftp internal-sftp", "",
        ]), encoding="utf-8")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        with open(self.workdir / "sshd.log", "wb") as log:  # sshd keeps its own copy of the descriptor
            self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],  # pylint: disable=consider-using-with
                                            stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"sshd exited ({self.process.returncode}): {(self.workdir / 'sshd.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"sshd did not listen on 127.0.0.1:{self.port} within 30 s")

    def connection_vars(self, with_credential: bool = True) -> dict:
        """Host variables of an inventory entry for this host. Without the credential (user and key), as AWX has it:
        its Machine credential passes those on the command line."""
        values = {
            "ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": self.port,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "ansible_python_interpreter": "/usr/bin/python3",
            # python3-requests is installed through sudo if the host's Python lacks it.
            "docker_engine_become": True,
        }
        if with_credential:
            values.update(ansible_user=USER, ansible_ssh_private_key_file=str(self.key))
        return values

    def inventory(self, path: Path, name: str = "dockerhost", with_credential: bool = True) -> Path:
        """An inventory like inventories/local/hosts.yml with this host as the only Docker host."""
        content = {"all": {"children": {"docker_hosts": {"hosts": {name: self.connection_vars(with_credential)}}}}}
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        return path

    @property
    def env(self) -> dict[str, str]:
        return {"ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_dir), "ANSIBLE_HOST_KEY_CHECKING": "False"}

    def __exit__(self, *exc) -> None:
        # End the SSH connections Ansible kept open (ControlPersist), so that the user has no session left.
        for socket_path in self.control_dir.iterdir():
            subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "127.0.0.1"], capture_output=True,
                           timeout=30, check=False)
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        SUDOERS.unlink(missing_ok=True)
        subprocess.run(["userdel", "--remove", USER], capture_output=True, check=False)
        shutil.rmtree(self.control_dir, ignore_errors=True)


class RemoteStack(LocalStack):
    """A LocalStack that playbooks/local.yml sets up on an SSHHost: its files in the SSH user's home there."""

    def __init__(self, name: str, workdir: Path, host: SSHHost, **kwargs):
        super().__init__(name, workdir, **kwargs)
        self.host = host
        self.project_dir = host.home / ".local/share/backendops/stacks" / self.name
        self.inventory = host.inventory(workdir / "inventory.yml")

    @property
    def source_copy(self) -> Path:
        """Where the app_image role copies the source on the host (app_image_source_copy_dir's default)."""
        return self.host.home / ".cache/backendops/app-image" / self.app_image_name.replace("/", "_") / "source"

    def extra_vars(self, **more):
        values = super().extra_vars(**more)
        del values["app_image_work_dir"]  # the host's own default, in the SSH user's home
        return values

    def local_yml(self, *args: str, check: bool = True, **more) -> PlaybookRun:
        run = run_playbook("playbooks/local.yml", "-i", str(self.inventory), "-e", json.dumps(self.extra_vars(**more)), *args,
                           env=self.host.env)
        if check and run.rc != 0:
            raise AssertionError(f"local.yml {' '.join(args)} failed for stack {self.name} on the SSH host:\n{run.output[-4000:]}")
        return run

    def destroy(self) -> None:
        super().destroy()
        shutil.rmtree(self.source_copy.parent, ignore_errors=True)
