# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AnsibleModule glue shared by the railway_* modules: common options, client set-up, error mapping.

The options here are documented once in the doc fragment backendops.stack.railway.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.backendops.stack.plugins.module_utils.railway.client import (
    API_URL_ENV,
    DEFAULT_API_URL,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    RailwayClient,
    RailwayError,
)

# Tokens have no env_fallback on purpose: RailwayClient reads RAILWAY_API_TOKEN / RAILWAY_TOKEN only when neither
# option is set, so an explicit api_token is not rejected as "mutually exclusive" because RAILWAY_TOKEN is exported.
RAILWAY_COMMON_ARGS = dict(
    api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(env_fallback, [API_URL_ENV])),
    api_token=dict(type="str", no_log=True),
    project_token=dict(type="str", no_log=True),
    request_timeout=dict(type="float", default=30.0),
    retries=dict(type="int", default=5),
    retry_timeout=dict(type="float", default=120.0),
    validate_certs=dict(type="bool", default=True),
    project=dict(type="str"),
    environment=dict(type="str"),
    # IDs an earlier task resolved (its result's target): given, they spare the lookup requests.
    project_id=dict(type="str"),
    environment_id=dict(type="str"),
    service_id=dict(type="str"),
)

# The options of the doc fragment backendops.stack.railway.sealed (railway_variables, railway_release).
SEALED_ARGS = dict(
    sealed=dict(type="list", elements="str", default=[]),
    sealed_state_dir=dict(type="path"),
)


class RailwayModule:
    """An AnsibleModule with the common Railway options and a ready RailwayClient.

    ``run(main)`` calls ``main(self)`` and turns expected RailwayErrors into a one-line ``fail_json``, never a
    traceback.
    """

    def __init__(self, argument_spec, mutually_exclusive=None, **kwargs):
        spec = dict(RAILWAY_COMMON_ARGS)
        spec.update(argument_spec)
        self.module = AnsibleModule(
            argument_spec=spec,
            # api_token/project_token exclusivity is checked by the client on values, not on key presence, so a
            # task can switch token kind with api_token=null over module_defaults.
            mutually_exclusive=mutually_exclusive,
            supports_check_mode=True,
            **kwargs
        )
        self.params = self.module.params
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        self.warnings = []
        self.client = None
        try:
            self.client = RailwayClient(
                api_token=self.params["api_token"],
                project_token=self.params["project_token"],
                api_url=self.params["api_url"],
                request_timeout=self.params["request_timeout"],
                retries=self.params["retries"],
                retry_timeout=self.params["retry_timeout"],
                validate_certs=self.params["validate_certs"],
            )
        except RailwayError as exc:
            self.fail(str(exc), **exc.details)
        # A token read from the environment is not an option value, so Ansible does not know to mask it.
        self.module.no_log_values.update(self.client.secret_values)

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff

    def warn(self, message):
        self.module.warn(message)

    def fail(self, msg, **result):
        if self.client is not None:
            result.setdefault("api_requests", self.client.request_count)
        self.module.fail_json(msg=msg, **result)

    def exit(self, **result):
        result.setdefault("api_requests", self.client.request_count)
        self.module.exit_json(**result)

    def resolve(self, service=None, list_services=False):
        """The target; a failure here is the lookup step, before anything changed."""
        # A blank name would silently mean "no service" (shared variables, a project-wide read).
        for option in ("project", "environment", "service", "project_id", "environment_id", "service_id"):
            value = service if option == "service" else self.params.get(option)
            if value is not None and not str(value).strip():
                self.fail("%s is empty: give the %s's %s%s" % (
                    option, option.split("_", 1)[0], "ID" if option.endswith("_id") else "name or ID",
                    ", or leave the option out" if option != "service" else ""))
        return self.client.resolve(self.params["project"], self.params["environment"], service,
                                   project_id=self.params["project_id"], environment_id=self.params["environment_id"],
                                   service_id=self.params["service_id"], list_services=list_services)

    def run(self, main):
        try:
            main(self)
        except RailwayError as exc:
            self.fail(str(exc), **exc.details)
