# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The record of every release: one JSON line per run that changed something, locally in the stack's
releases.jsonl and for Railway in a file per project and environment. The one writer and reader of that file.

A record holds names, digests, IDs and outcomes only: the fields are fixed, so no value of a variable can land in it.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket

RECORD_FIELDS = ("time", "user", "host", "target", "kind", "source_digest", "commit", "images", "deployments",
                 "migrations_digest", "migrations", "backup", "outcome", "detail")
OUTCOMES = ("released", "failed", "restored", "rolled back")
# The columns of the table playbooks/releases.yml prints.
TABLE_COLUMNS = ("time", "user", "host", "target", "outcome", "commit", "migrations", "backup")


class RecordError(Exception):
    """A record that cannot be written as asked; the message is one line."""


def controller_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry, e.g. in a container
        return str(os.getuid())


def new_record(target: str, **fields) -> dict:
    """A record of ``target`` (a stack or project/environment) now, by this user on this host."""
    record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "user": controller_user(), "host": socket.gethostname(), "target": target}
    record.update(fields)
    return record


def append(path: str, record: dict) -> None:
    """Append one line; the file is created 0600 in a 0700 directory, and a record never holds unknown fields."""
    unknown = sorted(set(record) - set(RECORD_FIELDS))
    if unknown:
        raise RecordError("a release record has no field(s) %s; its fields are %s" % (", ".join(unknown), ", ".join(RECORD_FIELDS)))
    if record.get("outcome") not in OUTCOMES:
        raise RecordError("a release record's outcome is one of %s, not %r" % (", ".join(OUTCOMES), record.get("outcome")))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    line = json.dumps({key: record[key] for key in RECORD_FIELDS if key in record}, sort_keys=False) + "\n"
    # O_APPEND: concurrent writers each add whole lines (one write of a short line is atomic on local filesystems).
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(handle, line.encode("utf-8"))
    finally:
        os.close(handle)


def read(path: str) -> list[dict]:
    """Every record, oldest first; a missing file has none, a damaged line is skipped."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def last(path: str, outcome: str | None = None) -> dict | None:
    """The newest record (of ``outcome`` when given), or None."""
    for record in reversed(read(path)):
        if outcome is None or record.get("outcome") == outcome:
            return record
    return None


def cell(value) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join("%s=%s" % item for item in sorted(value.items()))
    return str(value)


def table(records: list[dict], columns=TABLE_COLUMNS) -> list[str]:
    """The records as aligned text lines, a header first; the newest last, as the file holds them."""
    rows = [list(columns)] + [[cell(record.get(column)) for column in columns] for record in records]
    widths = [max(len(row[index]) for row in rows) for index in range(len(columns))]
    return ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in rows]
