# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Debian base import: debootstrap once into a kept tarball, then docker import; its plan and its failure."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.debian_base import (
    DebianBase, DebianBaseError, import_argv, suite_of, tarball_path)
from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli

MIRROR = "http://deb.example/debian"


class Module:
    """run_command recorded; debootstrap writes its log and fails, tar makes its output file."""

    def __init__(self, debootstrap_rc=0):
        self.commands = []
        self.debootstrap_rc = debootstrap_rc

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/" + name if name == "debootstrap" else None

    def run_command(self, argv, **_kwargs):
        self.commands.append(argv)
        if argv[0].endswith("debootstrap"):
            if self.debootstrap_rc:
                rootfs = argv[3]
                (Path(rootfs) / "debootstrap").mkdir(parents=True)
                (Path(rootfs) / "debootstrap/debootstrap.log").write_text(
                    "".join("line %d\n" % n for n in range(30)) + "E: Failed getting release file\n")
                return self.debootstrap_rc, "", "E: Failed getting release file " + MIRROR
            return 0, "I: Base system installed successfully.\n", ""
        if argv[0] == "tar":
            with open(argv[argv.index("-cf") + 1], "w", encoding="utf-8") as handle:
                handle.write("tar")
        return 0, "", ""


@pytest.mark.parametrize("ref, suite", [("backendops/debian:bookworm", "bookworm"), ("localhost:5000/debian:trixie", "trixie")])
def test_the_tag_names_the_suite(ref, suite):
    assert suite_of(ref) == suite


@pytest.mark.parametrize("ref", ["backendops/debian", "localhost:5000/debian"])
def test_a_reference_without_a_suite_fails_naming_it(ref):
    with pytest.raises(DebianBaseError, match="names no suite"):
        suite_of(ref)


def test_the_import_sets_the_official_images_lang_and_cmd():
    argv = import_argv("backendops/debian:bookworm", "bookworm", MIRROR, "/w/debian-bookworm.tar")
    assert argv[0] == "import" and argv[-2:] == ["/w/debian-bookworm.tar", "backendops/debian:bookworm"]
    assert ["--change", "ENV LANG=C.UTF-8"] == argv[1:3] and 'CMD ["bash"]' in argv


def test_debootstrap_runs_once_and_the_kept_tarball_is_imported_without_it(tmp_path):
    module = Module()
    maker = DebianBase(module, DockerCli(module), MIRROR, str(tmp_path / "work"))
    assert maker.plan("backendops/debian:bookworm") == "import backendops/debian:bookworm (debootstrap Debian bookworm from %s)" % MIRROR
    maker.make("backendops/debian:bookworm")
    assert [argv[0] for argv in module.commands] == ["/usr/sbin/debootstrap", "tar", "docker"]
    assert (tmp_path / "work/debian-bookworm.tar").exists() and not (tmp_path / "work/rootfs/bookworm").exists()
    assert not (tmp_path / "work/debian-bookworm.tar.partial").exists()

    module.commands.clear()
    assert maker.plan("backendops/debian:bookworm").endswith("(from %s)" % tarball_path(str(tmp_path / "work"), "bookworm"))
    maker.make("backendops/debian:bookworm")
    assert [argv[0] for argv in module.commands] == ["docker"]


def test_a_failed_debootstrap_shows_its_output_and_the_end_of_its_log(tmp_path):
    module = Module(debootstrap_rc=1)
    maker = DebianBase(module, DockerCli(module), MIRROR, str(tmp_path / "work"))
    with pytest.raises(DebianBaseError) as failure:
        maker.make("backendops/debian:bookworm")
    message = str(failure.value)
    assert message.startswith("debootstrap of Debian bookworm from %s failed (rc 1)" % MIRROR)
    assert "(debian.mirror)" in message and "debootstrap.log (end)" in message
    assert "line 11\n" in message and "line 10\n" not in message  # the last 20 lines of the log
    assert not (tmp_path / "work/debian-bookworm.tar").exists()
