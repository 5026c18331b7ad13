# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import release_record


def test_records_append_as_private_json_lines_and_read_back_oldest_first(tmp_path):
    path = tmp_path / "stack" / "releases.jsonl"
    release_record.append(str(path), release_record.new_record("dev", outcome="released", images=["app:abc"]))
    release_record.append(str(path), release_record.new_record("dev", outcome="restored", backup="backups/one.dump"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    records = release_record.read(str(path))
    assert [record["outcome"] for record in records] == ["released", "restored"]
    assert set(records[0]) == {"time", "user", "host", "target", "outcome", "images"}
    assert release_record.last(str(path))["backup"] == "backups/one.dump"
    assert release_record.last(str(path), outcome="released")["images"] == ["app:abc"]
    assert release_record.last(str(path), outcome="rolled back") is None


def test_a_record_refuses_fields_it_does_not_know_so_no_value_slips_in(tmp_path):
    path = tmp_path / "releases.jsonl"
    with pytest.raises(release_record.RecordError, match="no field.s. variables"):
        release_record.append(str(path), release_record.new_record("dev", outcome="released", variables={"JWT": "x"}))
    with pytest.raises(release_record.RecordError, match="outcome"):
        release_record.append(str(path), release_record.new_record("dev", outcome="unchanged"))
    assert not path.exists()


def test_a_missing_file_has_no_records_and_a_damaged_line_is_skipped(tmp_path):
    path = tmp_path / "releases.jsonl"
    assert release_record.read(str(path)) == [] and release_record.last(str(path)) is None
    path.write_text('{"outcome": "released", "target": "a"}\n{"outcome": "fail\n[1]\n{"outcome": "failed", "target": "b"}\n')
    assert [record["target"] for record in release_record.read(str(path))] == ["a", "b"]


def test_the_table_aligns_columns_and_shows_lists_and_missing_values():
    lines = release_record.table([
        {"time": "2026-12-06T18:00:00+00:00", "user": "me", "host": "h", "target": "dev", "outcome": "released",
         "migrations": ["one", "two"]},
        {"time": "2026-12-06T18:05:00+00:00", "user": "ci", "host": "runner", "target": "dev", "outcome": "failed"},
    ])
    assert lines[0].split() == list(release_record.TABLE_COLUMNS)
    assert "one, two" in lines[1] and lines[2].split()[-3:] == ["-", "-", "-"]
    assert lines[1].index("released") == lines[2].index("failed") == lines[0].index("outcome")
