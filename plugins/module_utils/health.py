# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether an app is healthy: wait for its health URL to answer, then read its detailed view and compare the fields
its profile expects.

Everything that names the app comes from its profile (``health.path``, ``health.details``: the view's path, the
*name* of the variable holding its bearer token, the expected fields, and optionally the field naming the deployment
that answers); the local stack and the Railway release both check with it. No AnsibleModule here; the wait uses the
waiter, whose clock and sleep are injectable.
"""

from __future__ import annotations

import json
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

from ansible_collections.backendops.stack.plugins.module_utils.waiter import Waiter

REQUEST_TIMEOUT = 10


def get(url: str, token: str | None = None, timeout: float = REQUEST_TIMEOUT, validate_certs: bool = True,
        use_proxy: bool = True) -> dict:
    """{status, json} of a GET (json: the body when it is a JSON object, else {}); status -1 with ``error`` (why)
    when nothing answered over HTTP."""
    headers = {"Authorization": "Bearer " + token} if token else {}
    try:
        response = open_url(url, headers=headers, timeout=timeout, validate_certs=validate_certs, use_proxy=use_proxy)
        status, body = response.getcode(), response.read()
    except HTTPError as exc:
        status, body = exc.code, b""
    except (URLError, OSError, ValueError) as exc:
        return {"status": -1, "json": {}, "error": str(getattr(exc, "reason", exc))}
    try:
        document = json.loads(body.decode("utf-8")) if body else None
    except ValueError:
        document = None
    return {"status": status, "json": document if isinstance(document, dict) else {}}


def answer_text(answer: dict) -> str:
    """What a GET answered, for a message: "HTTP 503", or "no answer (why)"."""
    status = answer.get("status", -1)
    if isinstance(status, int) and status > 0:
        return "HTTP %s" % status
    return "no answer (%s)" % answer.get("error", "nothing")


def wait_until_answers(url: str, timeout: float, interval: float, any_answer: bool = False, validate_certs: bool = True,
                       use_proxy: bool = True, sleep=time.sleep, clock=time.monotonic) -> dict:
    """GET ``url`` every ``interval`` seconds until it answers 200 (with ``any_answer``, any HTTP answer: the app
    serves) or ``timeout`` seconds pass; a fresh deployment may refuse or answer 404 for a little while.

    Returns {url, status, json, attempts}, with failed=True when it never did.
    """
    interval = max(float(interval), 0.1)
    waiter = Waiter(max(float(timeout), 0.0), interval=interval, max_interval=interval, factor=1, sleep=sleep, clock=clock)
    outcome = waiter.wait(lambda: get(url, validate_certs=validate_certs, use_proxy=use_proxy),
                          lambda answer: answer["status"] == 200 or (any_answer and answer["status"] > 0))
    health = dict(outcome.value, attempts=outcome.polls, url=url)
    if outcome.timed_out:
        health["failed"] = True
    return health


def read_details(url: str, details: dict, token: str | None, deployment_id: str | None = None,
                 timeout: float = REQUEST_TIMEOUT, validate_certs: bool = True, use_proxy: bool = True) -> dict:
    """The detailed view at ``url``, read with the bearer ``token`` and compared with the profile's ``details``.

    Returns {fields (the expected ones as shown), version, migrations} and, when it is not healthy, ``problem``: one
    line that names the fields and never the token. With ``details["deployment_field"]`` and ``deployment_id``, the
    view must name that deployment as the one answering (a deployment of this run must be the one serving).
    """
    answer = get(url, token, timeout=timeout, validate_certs=validate_certs, use_proxy=use_proxy)
    view = answer["json"]
    expect = {str(key): str(value) for key, value in (details.get("expect") or {}).items()}
    fields = {key: str(view.get(key, "?")) for key in expect}
    migrations = view.get("migrations")
    found = {"fields": fields, "version": str(view.get("version", "?")),
             "migrations": len(migrations) if isinstance(migrations, list) else 0}
    if answer["status"] <= 0:
        found["problem"] = "%s cannot be read: %s" % (url, answer.get("error"))
    elif answer["status"] != 200:
        hint = ""
        if answer["status"] in (401, 403) and details.get("token"):
            hint = " (the bearer token is not the value of %s the app runs with)" % details["token"]
        found["problem"] = "%s answers HTTP %s, not 200%s" % (url, answer["status"], hint)
    elif fields != expect:
        found["problem"] = "%s answers but shows %s; expected %s." % (
            url, ", ".join("%s=%s" % item for item in fields.items()), ", ".join("%s=%s" % item for item in expect.items()))
    field = details.get("deployment_field")
    if field and deployment_id and "problem" not in found:
        found["deployment"] = view.get(field)
        if view.get(field) != deployment_id:
            found["problem"] = "%s is served by deployment %s (its %s), not by %s of this run" % (
                url, view.get(field, "?"), field, deployment_id)
    return found


def summary(found: dict) -> str:
    """The expected fields and the version, as a result message shows them."""
    return ", ".join(["%s %s" % item for item in found["fields"].items()] + ["version %s" % found["version"]])
