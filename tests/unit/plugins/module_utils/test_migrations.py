# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The migrations' digest both release paths compare with the serving release's."""

from __future__ import annotations

from ansible_collections.backendops.stack.plugins.module_utils.migrations import directory_digest


def test_the_migrations_digest_follows_names_and_contents(tmp_path):
    assert directory_digest(str(tmp_path / "missing")) is None
    (tmp_path / "001_init").mkdir()
    (tmp_path / "001_init" / "migration.sql").write_text("CREATE TABLE a (id int);")
    first = directory_digest(str(tmp_path))
    assert first == directory_digest(str(tmp_path))
    (tmp_path / "002_b").mkdir()
    (tmp_path / "002_b" / "migration.sql").write_text("CREATE TABLE b (id int);")
    second = directory_digest(str(tmp_path))
    assert second != first
    (tmp_path / "002_b" / "migration.sql").write_text("CREATE TABLE b (id bigint);")
    assert directory_digest(str(tmp_path)) not in (first, second)
