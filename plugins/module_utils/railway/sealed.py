# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What was last sent for each sealed Railway variable, remembered by keyed digest.

Railway never returns a sealed variable's value, so the plan cannot compare it; it compares the value given here with
the digest of the value sent last time instead. One file per project, environment and service (``shared`` for the
environment's shared variables) under ``${XDG_DATA_HOME:-~/.local/share}/backendops/railway``.

The digests are HMAC-SHA256 under a random key made for each file and kept in it: the same value gives different
digests in different files and no precomputed table matches them. The file is private (0600, directories 0700), as
whoever can read it holds the key and could test guesses of a short value; that user can read the inventory or vault
that holds the values anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file

SHARED_SCOPE = "shared"


def default_state_dir() -> str:
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "backendops", "railway")


def _safe(part: str) -> str:
    # Railway IDs are UUIDs; anything else must not climb out of the state directory.
    return "".join(character if character.isalnum() or character in "-_" else "_" for character in str(part))


class SealedMemory:
    """The digests of one scope's sealed variables: compare before a run, remember after one."""

    def __init__(self, directory: str | None, project_id: str, environment_id: str, service_id: str | None) -> None:
        self.path = os.path.join(directory or default_state_dir(), _safe(project_id), _safe(environment_id),
                                 _safe(service_id or SHARED_SCOPE) + ".json")
        self._key = None
        self._digests = None

    def _load(self) -> None:
        if self._digests is not None:
            return
        try:
            with open(self.path) as stream:
                document = json.load(stream)
            self._key, self._digests = bytes.fromhex(document["key"]), dict(document["digests"])
        except (OSError, ValueError, KeyError, TypeError):
            # Nothing remembered (first run, or an unreadable file): every sealed value is sent once more.
            self._key, self._digests = os.urandom(32), {}

    def digest(self, name: str, value: str) -> str:
        self._load()
        return hmac.new(self._key, name.encode("utf-8") + b"\0" + value.encode("utf-8"), hashlib.sha256).hexdigest()

    def compare(self, values: dict) -> dict:
        """{name: whether the value here is the one sent last} for the names with a remembered digest."""
        self._load()
        return {name: hmac.compare_digest(self._digests[name], self.digest(name, value))
                for name, value in values.items() if name in self._digests and value is not None}

    def remember(self, sent: dict, forget: list | tuple = ()) -> None:
        """Record the digests of the values just sent and drop the removed names; writes only when that changes."""
        self._load()
        digests = {name: digest for name, digest in self._digests.items() if name not in forget}
        digests.update((name, self.digest(name, value)) for name, value in sent.items())
        if digests == self._digests:
            return
        self._digests = digests
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        document = {"key": self._key.hex(), "digests": digests}
        replace_file(self.path, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8"), 0o600)
