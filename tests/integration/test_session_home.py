# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test session keeps its files in a home of its own (tests/conftest.py): the roles' ~/.cache/backendops and
~/.local/share/backendops paths, as the playbooks the tests start expand them, are never the user's."""
from __future__ import annotations

import json
import os
from pathlib import Path

from support import REPO_ROOT, real_home, write_play

# What the roles keep under ~, by their defaults: app image sources, the registry state, the stacks' files.
ROLE_PATHS = {"app_image": "app_image_work_dir", "base_images": "base_images_registry_state_file",
              "compose_stack": "compose_stack_project_dir"}


def test_this_process_and_its_children_have_the_sessions_home():
    home = Path.home()
    assert home != real_home() and home.name.startswith("backendops-test-home-")
    assert os.environ["XDG_CACHE_HOME"] == str(home / ".cache") and os.environ["XDG_DATA_HOME"] == str(home / ".local/share")
    # Empty to begin with, not links to the user's directories.
    assert not (home / ".cache").is_symlink() and not (home / ".local").is_symlink()


def test_a_playbook_expands_the_roles_home_paths_into_the_sessions_home(playbook, tmp_path):
    tasks = [{"ansible.builtin.include_vars": {"file": str(REPO_ROOT / "roles" / role / "defaults/main.yml")}}
             for role in ROLE_PATHS]
    paths = {role: f"{{{{ {variable} | expanduser }}}}" for role, variable in ROLE_PATHS.items()}
    paths["sealed"] = "{{ lookup('ansible.builtin.env', 'XDG_DATA_HOME') }}"
    out = tmp_path / "paths.json"
    tasks.append({"ansible.builtin.copy": {"dest": str(out), "content": json.dumps(paths), "mode": "0600"}})
    run = playbook(write_play(tmp_path / "paths.yml", tasks), "-e", "compose_stack_name=probe")
    assert run.rc == 0, run.output[-3000:]
    expanded = json.loads(out.read_text(encoding="utf-8"))
    home = Path.home()
    assert all(Path(path).is_relative_to(home) for path in expanded.values()), expanded
    assert not any(Path(path).is_relative_to(real_home()) for path in expanded.values()), expanded
