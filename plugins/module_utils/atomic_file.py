# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Replace a file whole, so that a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile


def replace_file(path, data, mode):
    """Write data (bytes) to path through a temporary file beside it, renamed over path, with mode (an int).

    The temporary file is private from its creation (mkstemp: 0600) until it gets its mode.
    """
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp",
                                         dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
