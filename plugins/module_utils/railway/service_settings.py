# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The settings step: a service's settings read (with the scale read only when needed), compared and sent.

railway_service applies it alone; the Release applies it for web and each process's service.
"""

from __future__ import annotations

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import instance_settings, normalize_setting
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import BY_OPTION, SCALE_SETTINGS, api_value, total_replicas


def needs_scale(wanted: dict) -> bool:
    """Whether the settings need the scale read: limits or regions managed, or more than one instance (volume rule)."""
    return any(option in wanted for option in SCALE_SETTINGS) or (total_replicas(wanted) or 0) > 1


def current_settings(client, environment_id: str, service_id: str, wanted: dict, instance: dict | None = None) -> tuple:
    """(settings as Railway has them, whether the service mounts a volume); the scale read only when ``wanted`` needs it."""
    if instance is None:
        instance = client.service_instance(environment_id, service_id)
    scale = client.service_scale(environment_id, service_id) if needs_scale(wanted) else {}
    return instance_settings(instance, scale), bool(scale.get("volume"))


def scale_problem(service: str, wanted: dict, volume: bool) -> str | None:
    """Railway's rule that a service with a volume runs one instance, as one line (None when it holds)."""
    instances = total_replicas(wanted) or 1
    if volume and instances > 1:
        return ("service %s mounts a volume, and Railway runs a service with a volume as one instance, so it cannot run "
                "%d (replicas/regions); set replicas to 1 and regions to one replica in all, or move the "
                "data off the volume" % (service, instances))
    return None


def apply_settings(railway, environment_id, service_id, wanted, current=None, pending=None):
    """(current settings, changes): read (unless given), compare, and outside check mode send only what differs (the
    instance's fields left in ``pending`` when given, to go with the variables in one request)."""
    if current is None:
        current = current_settings(railway.client, environment_id, service_id, wanted)[0]
    # Compared as read back ('' and [] are "not set"), so a removed setting is not sent again on every run.
    wanted = {option: normalize_setting(option, value) for option, value in wanted.items()}
    changes = {option: value for option, value in wanted.items() if current.get(option) != value}
    if changes and not railway.check_mode:
        # None reaches Railway as null, which removes the setting. Limits have a mutation of their own.
        for limits, send in ((False, railway.client.update_service_instance), (True, railway.client.update_service_limits)):
            fields = {BY_OPTION[option].field: api_value(option, value) for option, value in changes.items()
                      if (BY_OPTION[option].read == "limits") == limits}
            if fields and pending is not None and not limits:
                pending["settings"] = fields
            elif fields:
                send(environment_id, service_id, fields)
    return current, changes


def settings_result(railway, wanted, current, changes, **extra):
    settings = dict(current)
    settings.update(changes)
    result = dict(changed=bool(changes), changed_settings=sorted(changes), settings=settings, **extra)
    if railway.diff_mode:
        result["diff"] = {
            "before": {option: current.get(option) for option in wanted},
            "after": {option: settings[option] for option in wanted},
        }
    return result
