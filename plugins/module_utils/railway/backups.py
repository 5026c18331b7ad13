# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The database's backup around a migration: whether a release migrates, the backup before, the restore after.

A release backs up the PostgreSQL service's volume when its pre-deploy command migrates and the migrations of the
source it deploys differ from the last successful release's (their digest, kept in the release record). Railway's
backups and restores run as workflows (``workflowStatus``); a finished restore is staged on the environment, and
committing the staged changes applies it, as Railway's dashboard does after "Restore".
"""

from __future__ import annotations

import re

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import RailwayError
from ansible_collections.backendops.stack.plugins.module_utils.waiter import Waiter

# A pre-deploy command that migrates a database: prisma migrate deploy, drizzle-kit migrate, rails db:migrate, ...
MIGRATE_COMMAND = re.compile(r"migrat", re.IGNORECASE)
SCHEDULE_KINDS = ("DAILY", "WEEKLY", "MONTHLY")


def is_migrate_command(command) -> bool:
    """True when the pre-deploy command (a string or Railway's list of strings) runs migrations."""
    text = " ".join(command) if isinstance(command, (list, tuple)) else str(command or "")
    return bool(MIGRATE_COMMAND.search(text))


def backup_reason(pre_deploy_command, deploys: bool, digest: str | None, last_digest: str | None,
                  served: bool = True) -> str | None:
    """Why this release backs the database up before migrating, or None when it does not. ``served``: a deployment of
    the service served before (else its migrations never ran: the app has no data there yet)."""
    if not deploys or not served or not is_migrate_command(pre_deploy_command):
        return None
    if digest is None:
        return "the migrations of the deployed source are not on the controller, so they may be pending"
    if last_digest is None:
        return "no successful release with a migrations digest is recorded"
    if digest != last_digest:
        return "the migrations changed since the last successful release (digest %s -> %s)" % (last_digest[:12], digest[:12])
    return None


def restore_command(template: str, backup_id: str) -> str:
    return template.replace("{backup}", backup_id)


class BackupFailed(Exception):
    """A backup or restore did not complete; the message says which and why."""


class DatabaseVolume:
    """The volume instance of one database service in one environment, its backups and their restore."""

    def __init__(self, client, environment_id: str, service_name: str, timeout: float = 600, interval: float = 2.0,
                 sleep=None) -> None:
        self.client = client
        self.environment_id = environment_id
        self.service_name = service_name
        self.waiter = Waiter(timeout, interval=interval, max_interval=max(interval, 10.0),
                             **({"sleep": sleep} if sleep else {}))
        self.instance = None

    def find(self) -> dict | None:
        """{id, mountPath, service: {id, name}, volume: {id, name}} of the service's volume instance, or None."""
        for instance in self.client.volume_instances(self.environment_id):
            if (instance.get("service") or {}).get("name") == self.service_name:
                self.instance = instance
                return instance
        return None

    def describe(self) -> str:
        volume = (self.instance or {}).get("volume") or {}
        return "volume %s of %s" % (volume.get("name") or (self.instance or {}).get("id"), self.service_name)

    def wait(self, workflow_id: str, what: str) -> None:
        result = self.waiter.wait(lambda: self.client.workflow_status(workflow_id), lambda found: found["status"] != "Running")
        status = result.value or {}
        if result.timed_out:
            raise BackupFailed("%s is still running after %d s (workflow %s)" % (what, self.waiter.timeout, workflow_id))
        if status.get("status") != "Complete":
            error = ": %s" % status["error"] if status.get("error") else ""
            raise BackupFailed("%s ended %s%s (workflow %s)" % (what, status.get("status"), error, workflow_id))

    def back_up(self, name: str) -> dict:
        """Take a backup named ``name`` and wait for it; {id, name, workflow_id, volume_instance_id, volume}."""
        try:
            workflow_id = self.client.create_backup(self.instance["id"], name)
            self.wait(workflow_id, "The backup of %s" % self.describe())
            found = [backup for backup in self.client.backups(self.instance["id"]) if backup.get("name") == name]
        except RailwayError as exc:
            raise BackupFailed("The backup of %s failed: %s" % (self.describe(), exc)) from None
        if not found:
            raise BackupFailed("The backup of %s completed but is not listed (workflow %s)" % (self.describe(), workflow_id))
        return {"id": found[0]["id"], "name": name, "workflow_id": workflow_id, "volume_instance_id": self.instance["id"],
                "volume": self.describe()}

    def restore(self, backup_id: str, message: str) -> dict:
        """Restore the backup, wait, then commit the staged restore (Railway applies it and redeploys the database)."""
        try:
            workflow_id = self.client.restore_backup(self.instance["id"], backup_id)
            self.wait(workflow_id, "The restore of backup %s" % backup_id)
            self.client.commit_staged(self.environment_id, message)
        except RailwayError as exc:
            raise BackupFailed("The restore of backup %s into %s failed: %s" % (backup_id, self.describe(), exc)) from None
        return {"backup_id": backup_id, "workflow_id": workflow_id, "volume": self.describe()}


def ensure_backup_schedules(client, environment_id: str | None, service_name: str, kinds, check_mode: bool) -> dict:
    """The database volume's backup schedules set to ``kinds`` (only when they differ): {changed, before, after, line}."""
    wanted = [kind for kind in SCHEDULE_KINDS if kind in kinds]
    database = DatabaseVolume(client, environment_id, service_name) if environment_id else None
    instance = database.find() if database else None
    if instance is None:
        if check_mode:
            # Its volume is still to be created: a run sets them once it exists.
            return {"changed": bool(wanted), "before": None, "after": wanted,
                    "line": "backup schedules of %s: %s" % (service_name, ", ".join(wanted) or "none")}
        raise BackupFailed("service %s has no volume in this environment, so it has no backups to schedule" % service_name)
    found = client.backup_schedules(instance["id"])
    before = [kind for kind in SCHEDULE_KINDS if kind in found]
    if before == wanted:
        return {"changed": False, "before": before, "after": wanted}
    if not check_mode:
        client.set_backup_schedules(instance["id"], wanted)
    return {"changed": True, "before": before, "after": wanted, "line": "backup schedules of %s: %s -> %s" % (
        service_name, ", ".join(before) or "none", ", ".join(wanted) or "none")}
