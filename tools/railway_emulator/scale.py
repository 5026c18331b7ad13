# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scale and resource settings as Railway treats them: replicas, regions, limits, and what it refuses."""
from __future__ import annotations

from typing import Any

from tools.railway_emulator.errors import RailwayError
from tools.railway_emulator.model import ServiceInstance
from tools.railway_emulator.state import Store

# The largest limits of Railway's Pro plan; more is refused as beyond the plan.
MAX_VCPUS = 32.0
MAX_MEMORY_GB = 32.0
BYTES_PER_GB = 1000 ** 3
LIMITS = "limitOverride"


def instances(settings: dict[str, Any]) -> int:
    """Instances the settings run: the sum over multiRegionConfig's regions, else numReplicas (default 1)."""
    regions = settings.get("multiRegionConfig") or {}
    if regions:
        return sum(int((region or {}).get("numReplicas") or 0) for region in regions.values())
    return int(settings.get("numReplicas") or 1)


def has_volume(store: Store, instance: ServiceInstance) -> bool:
    return any(v.service_id == instance.service_id for v in store.volume_instances_in(instance.environment_id))


def check_replicas(store: Store, instance: ServiceInstance, update: dict[str, Any]) -> None:
    """Railway runs a service with a volume as one instance: more replicas (or regions) are refused."""
    settings = dict(instance.settings)
    settings.update((name, value) for name, value in update.items() if name in ("numReplicas", "multiRegionConfig"))
    if instances(settings) > 1 and has_volume(store, instance):
        raise RailwayError("Cannot set more than one replica on a service with a volume attached")


def update_limits(instance: ServiceInstance, update: dict[str, Any]) -> None:
    """serviceInstanceLimitsUpdate: vCPUs and memoryGB, each positive and within the plan; null removes one."""
    limits = dict(instance.settings.get(LIMITS) or {})
    for field, key, most, factor in (("vCPUs", "cpu", MAX_VCPUS, 1), ("memoryGB", "memoryBytes", MAX_MEMORY_GB, BYTES_PER_GB)):
        if field not in update:
            continue
        value = update[field]
        if value is None:
            limits.pop(key, None)
        elif not 0 < value <= most:
            raise RailwayError(f"{field} must be more than 0 and at most {most:g} on your plan")
        else:
            limits[key] = value if factor == 1 else int(round(value * factor))
    if limits:
        instance.settings[LIMITS] = limits
    else:
        instance.settings.pop(LIMITS, None)


def limit_override(instance: ServiceInstance) -> dict[str, Any] | None:
    limits = instance.settings.get(LIMITS)
    return {"containers": dict(limits)} if limits else None


def environment_config(store: Store, environment_id: str) -> dict[str, Any]:
    """The environment's config as far as the emulator keeps it: each service's regions and limits, no variables."""
    services = {}
    for instance in store.instances_in(environment_id):
        deploy = {}
        if instance.settings.get("multiRegionConfig"):
            deploy["multiRegionConfig"] = instance.settings["multiRegionConfig"]
        if instance.settings.get(LIMITS):
            deploy["limitOverride"] = limit_override(instance)
        services[instance.service_id] = {"deploy": deploy}
    return {"services": services}
