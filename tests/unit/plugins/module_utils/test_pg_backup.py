# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Database backups of the local stack: names, which to keep, the dump written 0600 and the restore's steps."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import pg_backup


class FakeDocker:
    def __init__(self, results=None):
        self.calls = []
        self.results = list(results or [])

    def run(self, *args, check=True, data=None, binary=False):
        self.calls.append((args, data, binary))
        return self.results.pop(0) if self.results else (0, b"" if binary else "", "")


def make_backups(tmp_path, names):
    directory = tmp_path / pg_backup.BACKUP_DIR
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).write_bytes(b"PGDMP")


def test_names_sort_by_time_and_latest_or_a_name_resolves(tmp_path):
    assert pg_backup.backup_name(datetime(2026, 12, 6, 18, 30, 5, tzinfo=timezone.utc)) == "20261206T183005Z.dump"
    with pytest.raises(pg_backup.BackupError, match="no backup in"):
        pg_backup.resolve(str(tmp_path), "latest")
    make_backups(tmp_path, ["20261206T100000Z.dump", "20261205T100000Z.dump", "notes.txt"])
    assert pg_backup.backups(str(tmp_path)) == ["20261205T100000Z.dump", "20261206T100000Z.dump"]
    assert pg_backup.resolve(str(tmp_path), "latest") == "20261206T100000Z.dump"
    assert pg_backup.resolve(str(tmp_path), "20261205T100000Z") == "20261205T100000Z.dump"
    with pytest.raises(pg_backup.BackupError, match="there are: 20261205T100000Z.dump, 20261206T100000Z.dump"):
        pg_backup.resolve(str(tmp_path), "../../etc/passwd")


def test_only_the_last_n_backups_are_kept_and_never_none(tmp_path):
    names = ["20261201T000000Z.dump", "20261202T000000Z.dump", "20261203T000000Z.dump"]
    assert pg_backup.to_prune(names, 2) == names[:1]
    assert pg_backup.to_prune(names, 0) == names[:2]
    make_backups(tmp_path, names)
    assert pg_backup.prune(str(tmp_path), 1) == names[:2]
    assert pg_backup.backups(str(tmp_path)) == names[2:]


def test_the_dump_is_custom_format_from_the_container_and_private(tmp_path):
    docker = FakeDocker([(0, b"PGDMP-bytes", "")])
    path = pg_backup.dump(docker, "c1", "app", "app", str(tmp_path), "20261206T183005Z.dump")
    args, _data, binary = docker.calls[0]
    assert args[:3] == ("exec", "c1", "pg_dump") and "--format=custom" in args and binary
    assert open(path, "rb").read() == b"PGDMP-bytes"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / pg_backup.BACKUP_DIR).st_mode & 0o777 == 0o700


def test_a_failed_dump_writes_nothing_and_says_why(tmp_path):
    docker = FakeDocker([(1, b"", "pg_dump: error: connection failed")])
    with pytest.raises(pg_backup.BackupError, match="pg_dump of database app failed: pg_dump: error: connection failed"):
        pg_backup.dump(docker, "c1", "app", "app", str(tmp_path), "x.dump")
    assert pg_backup.backups(str(tmp_path)) == []


def test_the_restore_empties_the_database_then_feeds_the_dump_to_pg_restore(tmp_path):
    make_backups(tmp_path, ["20261206T100000Z.dump"])
    docker = FakeDocker()
    pg_backup.restore(docker, "c1", "app", "app", str(tmp_path), "20261206T100000Z.dump")
    (drop, no_data, _binary), (feed, data, _binary_too) = docker.calls
    assert "psql" in drop and pg_backup.EMPTY_DATABASE in drop and "DROP SCHEMA %I CASCADE" in pg_backup.EMPTY_DATABASE
    assert no_data is None
    assert "pg_restore" in feed and "--single-transaction" in feed and data == b"PGDMP"


def test_a_failed_restore_names_its_step(tmp_path):
    make_backups(tmp_path, ["b.dump"])
    docker = FakeDocker([(0, "", ""), (1, "", "pg_restore: error: could not execute query")])
    with pytest.raises(pg_backup.BackupError, match="from b.dump failed at pg_restore: pg_restore: error"):
        pg_backup.restore(docker, "c1", "app", "app", str(tmp_path), "b.dump")
