# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Docker host's copy of an app's source: its digest, and bringing it to the content of a packed archive.

The controller packs the source with source_archive.build_archive (the rules of a Railway upload: ignore files
honoured; .git, node_modules, env files and keys never included). The host's copy holds exactly the archive's files,
so packing the copy again gives the same digest: no stamp file is needed to tell whether it is up to date, and a
copy edited on the host counts as changed.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile

from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file
from ansible_collections.backendops.stack.plugins.module_utils.source_archive import SourceError, build_archive


def tree_digest(path):
    """The digest of the copy at ``path`` as build_archive computes it, or None when there is no copy yet."""
    if not os.path.isdir(path):
        return None
    try:
        return build_archive(path).digest
    except SourceError:  # empty, or unreadable: write it again
        return None


def _member_path(dest, name):
    """The file ``name`` of the archive under ``dest``; refuses names that would leave it."""
    normal = posixpath.normpath(name)
    if normal.startswith("/") or normal == ".." or normal.startswith("../"):
        raise SourceError("archive entry %r leaves the destination" % name)
    return os.path.join(dest, *normal.split("/"))


def _same_file(path, content, mode):
    try:
        if os.path.islink(path) or not os.path.isfile(path) or (os.stat(path).st_mode & 0o777) != mode:
            return False
        with open(path, "rb") as handle:
            return handle.read() == content
    except OSError:
        return False


def _write_file(path, content, mode):
    """Replace ``path`` whole (a reader sees the old or the new file, never half of one)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    replace_file(path, content, mode)


def _make_dirs(dest, path):
    """Create ``path`` (``dest`` or under it) and its parents below ``dest`` as real directories.

    A file or a symbolic link in the way is removed first: following a link (os.path.isdir does) would write
    outside ``dest``, or into another directory of the copy.
    """
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o755)
    current = dest
    for part in os.path.relpath(path, dest).split(os.sep):
        if part == os.curdir:
            continue
        current = os.path.join(current, part)
        if os.path.islink(current) or (os.path.lexists(current) and not os.path.isdir(current)):
            os.unlink(current)
        if not os.path.lexists(current):
            os.mkdir(current, 0o755)


def sync_tree(dest, archive_path):
    """Make ``dest`` hold exactly the regular files of the gzip tarball at ``archive_path``, in place.

    In place, file by file, because dev mode bind-mounts directories of the copy into the running container: a
    replaced directory would leave the container on the old one. Returns ``(written, removed)``, relative paths.
    """
    written, wanted = [], set()
    _make_dirs(dest, dest)
    with tarfile.open(archive_path, mode="r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            target = _member_path(dest, member.name)
            wanted.add(os.path.relpath(target, dest))
            content = archive.extractfile(member).read()
            mode = 0o755 if member.mode & 0o111 else 0o644
            _make_dirs(dest, os.path.dirname(target))  # first: _same_file must not look through a link
            if _same_file(target, content, mode):
                continue
            _write_file(target, content, mode)
            written.append(member.name)
    removed = []
    for directory, dirnames, filenames in os.walk(dest, topdown=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, dest)
            if relative not in wanted:
                os.unlink(path)
                removed.append(relative.replace(os.sep, "/"))
        if directory != dest and not os.listdir(directory):
            os.rmdir(directory)
    return sorted(written), sorted(removed)
