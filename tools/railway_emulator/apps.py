# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The "deployed app" behind a service domain, so health checks have something real to probe.

It answers from the serving (newest SUCCESS) deployment and its frozen variables, like a real container:
changing HEALTH_TOKEN takes effect only with the next deployment.
"""
from __future__ import annotations

import hmac
from typing import Any

from tools.railway_emulator.auth import bearer_token
from tools.railway_emulator.state import Store

HEALTH_PATH = "api/health"
DETAILS_PATH = "api/health/details"


def app_response(store: Store, domain_name: str, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for ``GET https://<domain_name>/<path>``."""
    domain = store.domain_named(domain_name)
    deployment = store.serving_deployment(domain.environment_id, domain.service_id) if domain else None
    if deployment is None:
        # Railway's edge answers 404 for unknown hosts and for services with nothing running.
        return 404, {"status": "error", "message": "Application not found"}
    path = path.strip("/")
    healthy = not deployment.app_unhealthy
    # The app answers on the health check path the deployment was configured with (an app's own, e.g. /healthz).
    if path in {HEALTH_PATH, (deployment.settings.get("healthcheckPath") or "").strip("/")} - {""}:
        return (200, {"status": "ok"}) if healthy else (503, {"status": "unhealthy"})
    if path == DETAILS_PATH:
        expected = deployment.variables.get("HEALTH_TOKEN")
        token = bearer_token(authorization)
        if not expected or not token or not hmac.compare_digest(token.encode(), expected.encode()):
            return 401, {"status": "error", "message": "Unauthorized"}
        version = deployment.variables.get("APP_VERSION") or deployment.meta.get("commitHash") or deployment.id
        body = {"status": "ok" if healthy else "unhealthy", "database": "up", "redis": "up", "version": version, "deploymentId": deployment.id}
        return (200 if healthy else 503), body
    return 404, {"status": "error", "message": f"Cannot GET /{path}"}
