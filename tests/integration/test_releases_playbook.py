# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/releases.yml: the record of a stack's releases as a table, as a user reads it (no engine needed)."""
from __future__ import annotations

import json

from ansible_collections.backendops.stack.plugins.module_utils import release_record
from support import run_playbook


def releases(project_dir, *extra):
    return run_playbook("playbooks/releases.yml", "-e", json.dumps({"compose_stack_project_dir": str(project_dir)}), *extra)


def test_the_releases_of_a_stack_are_listed_newest_last_and_an_empty_record_says_so(tmp_path):
    empty = releases(tmp_path)
    assert empty.rc == 0, empty.stdout + empty.stderr
    assert "No release recorded in %s/releases.jsonl" % tmp_path in empty.stdout

    path = str(tmp_path / "releases.jsonl")
    release_record.append(path, release_record.new_record("dev", outcome="released", migrations=["0001_init"]))
    release_record.append(path, release_record.new_record("dev", outcome="restored", backup="backups/dev-1.dump",
                                                          detail="migration 0002_orders failed"))
    listed = releases(tmp_path, "-e", "releases_limit=1")
    assert listed.rc == 0 and listed.recap()["changed"] == 0, listed.stdout
    assert "restored" in listed.stdout and "backups/dev-1.dump" in listed.stdout
    assert "0001_init" not in listed.stdout  # limit 1: only the newest

    bad = releases(tmp_path, "-e", "releases_limit=-1")
    assert bad.rc != 0 and "limit must be 0 (all records) or more, not -1" in bad.stdout
