# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backups of a local stack's PostgreSQL database: pg_dump (custom format) before a migration, and the restore.

Both run in the stack's own postgres container (its client matches its server) through DockerCli; the dumps live in
the stack's directory under backups/, mode 0600, named by their UTC time so that their names sort by age.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file
from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerError, last_lines

BACKUP_DIR = "backups"
SUFFIX = ".dump"
LATEST = "latest"


class BackupError(Exception):
    """A backup or restore that failed, or a backup that is not there; the message is one line."""


def backup_name(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ") + SUFFIX


def backups(project_dir: str) -> list[str]:
    """The stack's backups, oldest first."""
    try:
        names = os.listdir(os.path.join(project_dir, BACKUP_DIR))
    except FileNotFoundError:
        return []
    return sorted(name for name in names if name.endswith(SUFFIX) and not name.startswith("."))


def resolve(project_dir: str, wanted: str) -> str:
    """The backup's file name: `latest`, or a name with or without its .dump."""
    found = backups(project_dir)
    if wanted == LATEST:
        if not found:
            raise BackupError("no backup in %s" % os.path.join(project_dir, BACKUP_DIR))
        return found[-1]
    name = wanted if wanted.endswith(SUFFIX) else wanted + SUFFIX
    if os.path.basename(name) != name or name not in found:
        raise BackupError("no backup %s in %s; there are: %s"
                          % (wanted, os.path.join(project_dir, BACKUP_DIR), ", ".join(found) or "none"))
    return name


def to_prune(names: list[str], keep: int) -> list[str]:
    """The oldest names beyond the last `keep` (at least one is always kept: the one just taken)."""
    return sorted(names)[:-max(keep, 1)]


def dump(docker, container: str, db_user: str, db_name: str, project_dir: str, name: str) -> str:
    """pg_dump -Fc of the database into backups/name (0600, directory 0700); its path."""
    directory = os.path.join(project_dir, BACKUP_DIR)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    try:
        rc, out, err = docker.run("exec", container, "pg_dump", "--format=custom", "--username", db_user,
                                  "--dbname", db_name, check=False, binary=True)
    except DockerError as exc:
        raise BackupError("pg_dump of database %s failed: %s" % (db_name, exc)) from None
    if rc != 0 or not out:
        raise BackupError("pg_dump of database %s failed: %s" % (db_name, last_lines(err)))
    path = os.path.join(directory, name)
    replace_file(path, out, 0o600)
    return path


def prune(project_dir: str, keep: int) -> list[str]:
    """Removes the backups beyond the last `keep`; their names."""
    removed = to_prune(backups(project_dir), keep)
    for name in removed:
        os.remove(os.path.join(project_dir, BACKUP_DIR, name))
    return removed


# Every schema of the database dropped at once, public created again (pg_dump never dumps its definition).
EMPTY_DATABASE = r"""DO $$
DECLARE ns record;
BEGIN
  FOR ns IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', ns.nspname);
  END LOOP;
  CREATE SCHEMA public;
END $$"""


def restore(docker, container: str, db_user: str, db_name: str, project_dir: str, name: str) -> None:
    """The database as the dump has it: every schema dropped, then pg_restore in one transaction.

    Dropping the schemas also removes what a failed migration created and the dump does not know, which
    `pg_restore --clean` would leave behind; the database itself stays, so the serving backend keeps its connections.
    """
    with open(os.path.join(project_dir, BACKUP_DIR, name), "rb") as handle:
        data = handle.read()
    steps = [
        ("psql", "--username", db_user, "--dbname", db_name, "--set", "ON_ERROR_STOP=1", "--quiet",
         "--command", EMPTY_DATABASE),
        ("pg_restore", "--username", db_user, "--dbname", db_name, "--single-transaction", "--no-password"),
    ]
    for number, argv in enumerate(steps):
        rc, out, err = docker.run("exec", "--interactive", container, *argv, check=False,
                                  data=data if number else None)
        if rc != 0:
            raise BackupError("restoring database %s from %s failed at %s: %s"
                              % (db_name, name, argv[0], last_lines(err or out)))
