# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A minimal Debian base image made on the Docker host: debootstrap once, keep the tarball, docker import it.

The tarball is kept in the work directory, so an image removed later is imported again without the network.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli

# Left out of the tarball: the packages and package lists debootstrap downloaded (~80 MB).
TAR_EXCLUDES = ("--exclude=./var/cache/apt/archives/*.deb", "--exclude=./var/lib/apt/lists/*")
LOG_LINES = 20


class DebianBaseError(Exception):
    """An expected failure, reported with debootstrap's own last lines."""


def suite_of(ref: str) -> str:
    """The Debian suite an image reference names by its tag: backendops/debian:bookworm -> bookworm."""
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last or not last.rsplit(":", 1)[1]:
        raise DebianBaseError("Debian base image %s names no suite: tag it with one, e.g. backendops/debian:bookworm" % ref)
    return last.rsplit(":", 1)[1]


def tarball_path(work_dir: str, suite: str) -> str:
    return os.path.join(work_dir, "debian-%s.tar" % suite)


def import_argv(ref: str, suite: str, mirror: str, tarball: str) -> list[str]:
    """The docker arguments that import the tarball as ref, with the official Debian images' LANG and CMD."""
    return ["import", "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["bash"]',
            "--message", "debootstrap --variant=minbase %s %s" % (suite, mirror), tarball, ref]


def tail(path: str, count: int = LOG_LINES) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "\n".join(handle.read().splitlines()[-count:])
    except OSError:
        return "(no log)"


class DebianBase:
    """Imports missing Debian bases; plan() says what a run would do without doing it."""

    def __init__(self, module, docker: DockerCli, mirror: str, work_dir: str):
        self.module = module
        self.docker = docker
        self.mirror = mirror
        self.work_dir = os.path.expanduser(work_dir)

    def plan(self, ref: str) -> str:
        """What making ref takes, as one diff line."""
        suite = suite_of(ref)
        if os.path.exists(tarball_path(self.work_dir, suite)):
            return "import %s (from %s)" % (ref, tarball_path(self.work_dir, suite))
        return "import %s (debootstrap Debian %s from %s)" % (ref, suite, self.mirror)

    def make(self, ref: str) -> None:
        suite = suite_of(ref)
        tarball = tarball_path(self.work_dir, suite)
        if not os.path.exists(tarball):
            self.debootstrap(suite, tarball)
        self.docker.run(*import_argv(ref, suite, self.mirror, tarball))

    def debootstrap_bin(self) -> str:
        found = self.module.get_bin_path("debootstrap", required=False)
        if found:
            return found
        apt_get = self.module.get_bin_path("apt-get", required=False)
        if not apt_get:
            raise DebianBaseError("debootstrap is not installed on the Docker host and apt-get is not there to install it: "
                                  "install debootstrap")
        for argv in ([apt_get, "update"], [apt_get, "install", "--yes", "--no-install-recommends", "debootstrap"]):
            rc, out, err = self.module.run_command(argv, environ_update={"DEBIAN_FRONTEND": "noninteractive"})
            if rc != 0:
                raise DebianBaseError("installing debootstrap failed (%s, rc %s): %s"
                                      % (" ".join(argv[1:]), rc, " ".join((err or out).split())[-300:]))
        return self.module.get_bin_path("debootstrap", required=True)

    def debootstrap(self, suite: str, tarball: str) -> None:
        rootfs = os.path.join(self.work_dir, "rootfs", suite)
        # An interrupted debootstrap leaves a root file system it cannot resume.
        shutil.rmtree(rootfs, ignore_errors=True)
        os.makedirs(rootfs, mode=0o755)
        rc, out, err = self.module.run_command([self.debootstrap_bin(), "--variant=minbase", suite, rootfs, self.mirror])
        if rc != 0:
            output = ((err or "") + "\n" + (out or "")).strip().splitlines()
            raise DebianBaseError(
                "debootstrap of Debian %s from %s failed (rc %s). Check that the Docker host reaches the mirror and that it "
                "serves %s (debian.mirror).\n%s\n--- %s/debootstrap/debootstrap.log (end) ---\n%s"
                % (suite, self.mirror, rc, suite, "\n".join(output[-10:]), rootfs, tail(os.path.join(rootfs, "debootstrap", "debootstrap.log"))))
        partial = tarball + ".partial"
        rc, out, err = self.module.run_command(["tar", "--numeric-owner", *TAR_EXCLUDES, "-C", rootfs, "-cf", partial, "."])
        if rc != 0:
            raise DebianBaseError("packing Debian %s into %s failed (rc %s): %s" % (suite, partial, rc, " ".join((err or out).split())[-300:]))
        # Renamed only when complete: an interrupted run never leaves a truncated tarball that looks done.
        os.replace(partial, tarball)
        shutil.rmtree(rootfs, ignore_errors=True)
