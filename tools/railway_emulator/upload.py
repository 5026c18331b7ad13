# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``railway up`` archive: a gzip-compressed tar whose member names and digest the emulator records."""
from __future__ import annotations

import hashlib
import io
import tarfile
import zlib
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"


class ArchiveError(ValueError):
    """The body is not a usable gzip tar; the message says why."""


def inspect_archive(body: bytes) -> dict[str, Any]:
    """``{"files": [member names], "sha256": digest of the body, "size": bytes}`` or :class:`ArchiveError`."""
    if not body.startswith(GZIP_MAGIC):
        raise ArchiveError("Upload must be a gzip-compressed tar archive (Content-Type: application/gzip)")
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            names = [member.name for member in archive.getmembers()]
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"Failed to read the uploaded archive: {exc}") from None
    if not names:
        raise ArchiveError("The uploaded archive is empty")
    return {"files": names, "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
