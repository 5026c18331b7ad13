# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An app's migrations as one digest: a release compares it with the serving release's to tell whether its migrate
step may change the schema (so whether to back the database up first), on the local stack and on Railway alike."""

from __future__ import annotations

import hashlib
import os


def files_digest(root: str, paths: list[str]) -> str:
    """sha256 (hex) over each file's path relative to root and the sha256 of its bytes, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.path.relpath(path, root).replace(os.sep, "/").encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def directory_digest(directory: str | None) -> str | None:
    """files_digest of every file under directory, walked in name order; None when there is no such directory."""
    if not directory or not os.path.isdir(directory):
        return None
    paths = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        paths += [os.path.join(root, name) for name in sorted(files)]
    return files_digest(directory, paths)
