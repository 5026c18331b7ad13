# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""source_archive: which files go into the upload, and a deterministic tarball."""
from __future__ import annotations

import gzip
import io
import os
import tarfile

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import source_archive as rs
from support import write_tree as tree


def members(archive):
    with tarfile.open(fileobj=io.BytesIO(archive.data), mode="r:gz") as tar:
        return tar.getmembers()


def test_git_and_node_modules_are_always_skipped(tmp_path):
    tree(tmp_path, {"package.json": "{}", ".git/config": "x", "node_modules/a/index.js": "x",
                    "src/node_modules/b.js": "x", "src/app.js": "x", ".env.example": "A="})
    assert rs.collect_files(tmp_path) == ["package.json", "src/app.js"]
    assert rs.collect_files(tmp_path, allow=[".env.example"]) == [".env.example", "package.json", "src/app.js"]


SECRETS = {".env": "A=1", ".env.local": "A=2", "sub/.env": "A=3", "production.env": "A=4", "sub/staging.env": "A=5",
           "certs/server.pem": "k", "certs/server.key": "k", "deploy/id_rsa": "k", "deploy/id_rsa.pub": "p",
           "home/id_ed25519": "k", "Upper.ENV": "A=6"}


@pytest.mark.parametrize("ignore", [None, ".env\n.env.*\n!.env.example\nnode_modules\n", "!*.env\n!.env\n!*.pem\n"])
def test_env_files_and_private_keys_are_withheld_whatever_the_ignore_files_say(tmp_path, ignore):
    tree(tmp_path, dict(SECRETS, **{"src/app.js": "x", ".env.example": "A=", "node_modules/x.js": "x"}))
    if ignore is not None:
        (tmp_path / ".railwayignore").write_text(ignore)
    files, withheld = rs.collect(tmp_path)
    assert [f for f in files if f != ".railwayignore"] == ["src/app.js"]
    reported = {entry["path"]: entry["pattern"] for entry in withheld}
    assert {"production.env": "*.env", "sub/staging.env": "*.env", "certs/server.pem": "*.pem", "certs/server.key": "*.key",
            "deploy/id_rsa": "id_rsa*", "deploy/id_rsa.pub": "id_rsa*", "home/id_ed25519": "id_ed25519*"}.items() <= reported.items()
    # What the ignore file itself leaves out is not reported as withheld for safety.
    assert (".env" in reported) == (ignore is None or "!.env\n" in ignore)
    archive = rs.build_archive(tmp_path)
    assert not set(m.name for m in members(archive)) & set(SECRETS)
    assert archive.withheld == withheld


def test_a_named_pattern_can_be_allowed(tmp_path):
    tree(tmp_path, {"app.js": "x", "public.pem": "cert", "prod.env": "A=1", ".env.example": "A="})
    assert rs.collect_files(tmp_path, allow=["*.pem"]) == ["app.js", "public.pem"]
    assert rs.collect_files(tmp_path, allow=[".env.*"]) == [".env.example", "app.js"]
    files, withheld = rs.collect(tmp_path, allow=[".env.example"])
    assert files == [".env.example", "app.js"]
    assert withheld == [{"path": "prod.env", "pattern": "*.env"}, {"path": "public.pem", "pattern": "*.pem"}]


def test_gitignore_rules(tmp_path):
    tree(tmp_path, {
        ".gitignore": "# build output\n*.log\n!keep.log\n/dist\nbuild/\ncache/**\ndocs/*.md\n**/tmp\n\\#literal\n",
        "a.log": "", "keep.log": "", "sub/b.log": "", "dist/x.js": "", "sub/dist/y.js": "", "build/z": "",
        "sub/build": "a file named build is kept", "cache/c/d": "", "docs/a.md": "", "docs/deep/b.md": "",
        "x/y/tmp/z": "", "#literal": "", "src/index.js": "",
    })
    assert rs.collect_files(tmp_path) == [".gitignore", "docs/deep/b.md", "keep.log", "src/index.js",
                                          "sub/build", "sub/dist/y.js"]


def test_nested_ignore_files_apply_below_their_directory(tmp_path):
    tree(tmp_path, {"app/.gitignore": "*.tmp\n/local.txt\n", "app/a.tmp": "", "app/local.txt": "",
                    "app/deep/local.txt": "", "b.tmp": "", "app/keep.js": ""})
    assert rs.collect_files(tmp_path) == ["app/.gitignore", "app/deep/local.txt", "app/keep.js", "b.tmp"]


def test_railwayignore_wins_over_gitignore(tmp_path):
    tree(tmp_path, {".gitignore": "*.txt\n", ".railwayignore": "!prod.txt\ntests/\n",
                    "dev.txt": "", "prod.txt": "", "tests/t.js": "", "main.js": ""})
    assert rs.collect_files(tmp_path) == [".gitignore", ".railwayignore", "main.js", "prod.txt"]


def test_a_file_inside_an_ignored_directory_cannot_be_re_included(tmp_path):
    tree(tmp_path, {".gitignore": "out/\n!out/keep.txt\n", "out/keep.txt": "", "x": ""})
    assert rs.collect_files(tmp_path) == [".gitignore", "x"]


def test_archive_is_deterministic_and_the_digest_follows_content(tmp_path):
    src = tree(tmp_path / "src", {"b.js": "b", "a/z.js": "z", "a/y.js": "y", "run.sh": "#!/bin/sh\n"})
    os.chmod(src / "run.sh", 0o700)
    first = rs.build_archive(src)
    os.utime(src / "b.js", (1, 1))  # time stamps do not count
    second = rs.build_archive(src)
    assert first.data == second.data and first.digest == second.digest
    entries = members(first)
    assert [m.name for m in entries] == ["a/y.js", "a/z.js", "b.js", "run.sh"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in entries} == {(0, 0, 0, "", "")}
    assert {m.name: m.mode for m in entries} == {"a/y.js": 0o644, "a/z.js": 0o644, "b.js": 0o644, "run.sh": 0o755}
    assert first.data[4:8] == b"\0\0\0\0"  # gzip header MTIME
    (src / "b.js").write_text("changed")
    assert rs.build_archive(src).digest != first.digest


def test_digest_is_the_sha256_of_the_uncompressed_tar(tmp_path):
    import hashlib
    src = tree(tmp_path / "src", {"index.js": "console.log(1)\n"})
    archive = rs.build_archive(src)
    assert archive.digest == hashlib.sha256(gzip.decompress(archive.data)).hexdigest()
    assert archive.files == ["index.js"]


def test_same_content_elsewhere_gives_the_same_digest(tmp_path):
    one = tree(tmp_path / "one", {"x/a.txt": "1", "b.txt": "2"})
    two = tree(tmp_path / "two", {"b.txt": "2", "x/a.txt": "1"})
    assert rs.build_archive(one).digest == rs.build_archive(two).digest


def test_symlinks_are_followed_and_loops_stop(tmp_path):
    src = tree(tmp_path / "src", {"real/a.txt": "a"})
    os.symlink(src / "real", src / "link")
    os.symlink(src, src / "real" / "loop")
    files = rs.collect_files(src)
    assert "link/a.txt" in files and "real/a.txt" in files
    assert files == ["link/a.txt", "real/a.txt"]  # real/loop points back at the root: skipped


def test_errors_are_clear(tmp_path):
    with pytest.raises(rs.SourceError, match="is not a directory"):
        rs.build_archive(tmp_path / "missing")
    tree(tmp_path / "empty", {".git/HEAD": "x"})
    with pytest.raises(rs.SourceError, match="nothing to upload"):
        rs.build_archive(tmp_path / "empty")


def test_a_symlink_onto_a_withheld_name_or_out_of_the_source_is_withheld(tmp_path):
    src = tree(tmp_path / "src", {"app.js": "x", ".env": "SECRET=1", "conf/real.json": "{}", "keys/deploy.pem": "k"})
    (tmp_path / "outside.txt").write_text("not part of the source")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.js").write_text("not part of the source")
    (src / "app.conf").symlink_to(".env")
    (src / "parent.conf").symlink_to("../outside.txt")
    (src / "absolute.conf").symlink_to(tmp_path / "outside.txt")
    (src / "linked").symlink_to(tmp_path / "elsewhere")
    (src / "certs").symlink_to("keys")
    (src / "settings.json").symlink_to("conf/real.json")  # within the source, a harmless name: followed
    files, withheld = rs.collect(src)
    assert files == ["app.js", "conf/real.json", "settings.json"]
    assert withheld == [
        {"path": ".env", "pattern": ".env"},
        {"path": "absolute.conf", "pattern": rs.OUTSIDE_SOURCE, "link": None},
        {"path": "app.conf", "pattern": ".env", "link": ".env"},
        {"path": "certs/deploy.pem", "pattern": "*.pem"},  # a directory link within the source is followed
        {"path": "keys/deploy.pem", "pattern": "*.pem"},
        {"path": "linked/", "pattern": rs.OUTSIDE_SOURCE, "link": None},
        {"path": "parent.conf", "pattern": rs.OUTSIDE_SOURCE, "link": None},
    ]
    archive = rs.build_archive(src)
    assert b"SECRET" not in gzip.decompress(archive.data) and b"not part of the source" not in gzip.decompress(archive.data)
    # Allowing the pattern lets the link through like the file itself; nothing lets a link out of the source.
    assert "app.conf" in rs.collect_files(src, allow=[".env", rs.OUTSIDE_SOURCE, "*.conf"])
    assert "parent.conf" not in rs.collect_files(src, allow=[".env", rs.OUTSIDE_SOURCE, "*.conf"])


def test_an_npmrc_with_a_credential_is_withheld(tmp_path):
    tree(tmp_path, {"app.js": "x", ".npmrc": "ignore-scripts=true\n//registry.example/:_authToken=${NPM_TOKEN}\n",
                    "private/.npmrc": "//registry.npmjs.org/:_authToken=npm_secret123\n"})
    (tmp_path / "npm.conf").symlink_to("private/.npmrc")
    files, withheld = rs.collect(tmp_path)
    assert files == [".npmrc", "app.js"]
    assert withheld == [{"path": "npm.conf", "pattern": ".npmrc", "link": "private/.npmrc"},
                        {"path": "private/.npmrc", "pattern": ".npmrc"}]
    assert b"npm_secret123" not in gzip.decompress(rs.build_archive(tmp_path).data)
    assert rs.collect_files(tmp_path, allow=[".npmrc"]) == [".npmrc", "app.js", "npm.conf", "private/.npmrc"]
