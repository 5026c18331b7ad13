# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""source_sync: the Docker host's copy of the source is brought to the packed archive in place, and its digest tells
whether it is up to date."""
from __future__ import annotations

import io
import os
import tarfile

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.source_archive import SourceError, build_archive
from ansible_collections.backendops.stack.plugins.module_utils.source_sync import sync_tree, tree_digest
from support import write_tree as tree


def archive_file(tmp_path, src):
    path = tmp_path / "source.tar.gz"
    path.write_bytes(build_archive(src).data)
    return path


def files_of(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_first_copy_holds_the_source_without_what_is_never_copied(tmp_path):
    src = tree(tmp_path / "src", {"package.json": "{}", "src/app.js": "a", ".env": "SECRET=1", ".git/HEAD": "x",
                                  "node_modules/x/index.js": "x", ".gitignore": "dist\n", "dist/out.js": "built"})
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o700)
    dest = tmp_path / "host" / "copy"
    assert tree_digest(dest) is None
    written, removed = sync_tree(str(dest), archive_file(tmp_path, src))
    assert written == [".gitignore", "package.json", "run.sh", "src/app.js"] and removed == []
    assert files_of(dest) == written
    assert oct((dest / "run.sh").stat().st_mode & 0o777) == "0o755" and oct((dest / "package.json").stat().st_mode & 0o777) == "0o644"
    assert tree_digest(str(dest)) == build_archive(src).digest


def test_a_changed_source_writes_only_what_changed_and_removes_what_is_gone(tmp_path):
    src = tree(tmp_path / "src", {"package.json": "{}", "src/app.js": "a", "src/old/gone.js": "g", "lib": "file"})
    dest = tmp_path / "copy"
    sync_tree(str(dest), archive_file(tmp_path, src))
    inode = (dest / "src").stat().st_ino
    (src / "src/app.js").write_text("b")
    (src / "src/old/gone.js").unlink()
    (src / "src/old").rmdir()
    (src / "lib").unlink()
    tree(src, {"lib/index.js": "now a directory", "src/new.js": "n"})
    (dest / "stray.txt").write_text("edited on the host")
    assert tree_digest(str(dest)) != build_archive(src).digest

    written, removed = sync_tree(str(dest), archive_file(tmp_path, src))
    assert written == ["lib/index.js", "src/app.js", "src/new.js"]
    assert removed == ["src/old/gone.js", "stray.txt"]
    assert not (dest / "src/old").exists()
    # In place: a bind mount of src/ (dev mode) keeps seeing the copy.
    assert (dest / "src").stat().st_ino == inode
    assert tree_digest(str(dest)) == build_archive(src).digest
    assert sync_tree(str(dest), archive_file(tmp_path, src)) == ([], [])


def test_an_entry_that_leaves_the_destination_is_refused(tmp_path):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, mode="w:gz") as archive:
        entry = tarfile.TarInfo("../outside.txt")
        entry.size = 1
        archive.addfile(entry, io.BytesIO(b"x"))
    with pytest.raises(SourceError, match="leaves the destination"):
        sync_tree(str(tmp_path / "copy"), path)
    assert not (tmp_path / "outside.txt").exists()


def test_an_empty_copy_has_no_digest(tmp_path):
    (tmp_path / "copy").mkdir()
    assert tree_digest(str(tmp_path / "copy")) is None
    assert os.listdir(tmp_path / "copy") == []


def test_a_symlinked_directory_in_the_copy_is_replaced_before_anything_is_written_through_it(tmp_path):
    src = tree(tmp_path / "src", {"package.json": "{}", "dir/app.js": "new", "dir/deep/lib.js": "lib", "shared/same.js": "s",
                                  "other/x.js": "x"})
    elsewhere = tree(tmp_path / "elsewhere", {"app.js": "someone else's", "keep.txt": "k", "same.js": "s"})
    dest = tree(tmp_path / "copy", {"package.json": "{}"})
    (dest / "dir").symlink_to(elsewhere)
    (dest / "other").symlink_to("dir")  # a link within the copy must not be written through either
    (dest / "shared").symlink_to(elsewhere)
    written, removed = sync_tree(str(dest), archive_file(tmp_path, src))
    # shared/same.js too: the file seen through the link is not the copy's, whatever its content.
    assert written == ["dir/app.js", "dir/deep/lib.js", "other/x.js", "shared/same.js"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["app.js", "keep.txt", "same.js"]
    assert (elsewhere / "app.js").read_text() == "someone else's"
    assert not any((dest / name).is_symlink() for name in ("dir", "other", "shared"))
    assert files_of(dest) == ["dir/app.js", "dir/deep/lib.js", "other/x.js", "package.json", "shared/same.js"]
    assert tree_digest(str(dest)) == build_archive(src).digest
