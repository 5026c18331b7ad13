# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backendops.stack.source_sync run by ansible-playbook: copied once, then only when the source changed; check mode
writes nothing; a source the controller cannot pack fails in one line. (Over SSH: test_local_stack_ssh.py.)"""
from __future__ import annotations

import json
import os


from support import run_playbook, write_play


def sync(tmp_path, src, dest, *args):
    result = tmp_path / "result.json"
    playbook = write_play(tmp_path / "sync.yml", [
        {"name": "Copy", "backendops.stack.source_sync": {"src": str(src), "dest": str(dest)}, "register": "copied",
         "ignore_errors": True},
        {"name": "Keep the result", "ansible.builtin.copy": {"content": "{{ copied | to_json }}", "dest": str(result), "mode": "0600"},
         "check_mode": False},
    ])
    run = run_playbook(playbook, "-i", "localhost,", "-e", "ansible_python_interpreter={{ ansible_playbook_python }}", *args)
    assert run.rc == 0, run.output[-3000:]
    return dict(json.loads(result.read_text(encoding="utf-8")), output=run.output)


def test_source_sync_copies_only_when_the_source_changed(tmp_path):
    src, dest = tmp_path / "app", tmp_path / "host" / "copy"
    (src / "src").mkdir(parents=True)
    (src / "package.json").write_text("{}")
    (src / "src/app.js").write_text("one")
    (src / ".env").write_text("JWT_SECRET=never-copied")

    first = sync(tmp_path, src, dest)
    assert first["changed"] and first["written"] == ["package.json", "src/app.js"] and first["files"] == 2
    assert first["path"] == str(dest) and not (dest / ".env").exists()
    assert not sync(tmp_path, src, dest)["changed"]

    (src / "src/app.js").write_text("two")
    plan = sync(tmp_path, src, dest, "--check")
    assert plan["changed"] and "written" not in plan
    assert (dest / "src/app.js").read_text() == "one"
    assert sync(tmp_path, src, dest)["written"] == ["src/app.js"]
    assert (dest / "src/app.js").read_text() == "two"


def test_a_symlink_out_of_the_source_or_onto_a_secret_is_left_out_with_a_warning(tmp_path):
    src, dest = tmp_path / "app", tmp_path / "host" / "copy"
    src.mkdir()
    (src / "package.json").write_text("{}")
    (src / ".env").write_text("JWT_SECRET=never-copied")
    (tmp_path / "controller.txt").write_text("outside the source")
    (src / "app.conf").symlink_to(".env")
    (src / "notes.txt").symlink_to("../controller.txt")

    result = sync(tmp_path, src, dest)
    assert result["written"] == ["package.json"] and os.listdir(dest) == ["package.json"]
    assert {"path": "app.conf", "pattern": ".env", "link": ".env"} in result["withheld"]
    assert {"path": "notes.txt", "pattern": "symlink outside the source", "link": None} in result["withheld"]
    assert "left out symbolic links that lead out of %s or onto a withheld name (see withheld): app.conf, notes.txt" % src \
        in " ".join(result["output"].split())
    assert "never-copied" not in result["output"]


def test_a_source_the_controller_cannot_pack_fails_in_one_line(tmp_path):
    result = sync(tmp_path, tmp_path / "missing", tmp_path / "copy")
    assert result["failed"]
    assert result["msg"].startswith("Cannot pack the app's source on the controller: path ") and "\n" not in result["msg"]
    assert not (tmp_path / "copy").exists()
