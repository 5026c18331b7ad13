# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""railway_sealed: the keyed digests of sealed values, kept in a private file per scope."""
from __future__ import annotations

import hashlib
import json
import stat

from ansible_collections.backendops.stack.plugins.module_utils.railway.sealed import SealedMemory, default_state_dir


def test_digests_are_keyed_per_file_private_and_forget_removed_names(tmp_path):
    memory = SealedMemory(str(tmp_path), "p-1", "e-1", "s-1")
    assert memory.compare({"PIN": "1234"}) == {}  # nothing remembered yet
    memory.remember({"PIN": "1234", "KEY": "abc"})
    again = SealedMemory(str(tmp_path), "p-1", "e-1", "s-1")
    assert again.compare({"PIN": "1234", "KEY": "abd", "NEW": "x"}) == {"PIN": True, "KEY": False}
    path = tmp_path / "p-1" / "e-1" / "s-1.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    # Not a plain hash a short value could be looked up by, and never the value itself.
    assert hashlib.sha256(b"1234").hexdigest() not in text and hashlib.sha256(b"PIN\x001234").hexdigest() not in text
    assert "1234" not in json.loads(text)["digests"].values()
    other = SealedMemory(str(tmp_path), "p-1", "e-1", None)
    other.remember({"PIN": "1234"})
    assert json.loads((tmp_path / "p-1" / "e-1" / "shared.json").read_text())["digests"]["PIN"] != json.loads(text)["digests"]["PIN"]
    again.remember({}, forget=["KEY"])
    assert SealedMemory(str(tmp_path), "p-1", "e-1", "s-1").compare({"PIN": "1234", "KEY": "abc"}) == {"PIN": True}


def test_the_default_directory_follows_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_state_dir() == str(tmp_path / "backendops" / "railway")
    # An ID cannot lead out of the directory.
    assert SealedMemory(None, "../x", "e", "s").path.startswith(str(tmp_path / "backendops" / "railway") + "/")
