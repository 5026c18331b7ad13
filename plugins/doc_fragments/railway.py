# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # Connection, retry and target options of every railway_* module (plugins/module_utils/railway/module.py).
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - URL of Railway's public GraphQL API.
      - The source upload of M(backendops.stack.railway_deploy) goes to the same scheme and host.
      - If not set in the task, the value of the environment variable E(RAILWAY_API_URL) is used instead.
      - Point it at a local Railway emulator for offline tests.
    type: str
    default: https://backboard.railway.com/graphql/v2
  api_token:
    description:
      - "Railway account or workspace token, sent as C(Authorization: Bearer <token>)."
      - Mutually exclusive with O(project_token); one of the two is required.
      - If neither O(api_token) nor O(project_token) is set, the environment variable E(RAILWAY_API_TOKEN) is used
        for this option, or E(RAILWAY_TOKEN) for O(project_token) (the names the Railway CLI uses). Setting both
        variables without either option is an error.
    type: str
  project_token:
    description:
      - Railway project token, sent as C(Project-Access-Token). It is scoped to one environment of one project, so
        O(project) and O(environment) may be omitted; if given they must match the token.
      - Mutually exclusive with O(api_token); see there for the environment variable E(RAILWAY_TOKEN). To use a
        project token in a task while C(module_defaults) set O(api_token), set O(api_token=null) in the task.
    type: str
  request_timeout:
    description:
      - Seconds to wait for one HTTP answer from Railway.
    type: float
    default: 30
  retries:
    description:
      - How many times one API call is retried after a connection error, HTTP 502, 503 or 504, or HTTP 429 (rate
        limited); reads (queries, status checks included) also after HTTP 500 and Railway's C(Problem processing
        request) error. The wait between attempts doubles from 0.5 up to 8 seconds; for 429 the C(Retry-After)
        header (seconds or HTTP date) is honoured.
      - Operations that create deployments or delete variables are not repeated when Railway may already have
        applied them (connection lost after sending, 502, 504); the module then fails and says so.
    type: int
    default: 5
  retry_timeout:
    description:
      - Seconds one API call may take in total, all attempts and waits included. A C(Retry-After) longer than what
        is left fails at once instead of sleeping.
    type: float
    default: 120
  validate_certs:
    description:
      - Whether to verify Railway's TLS certificate.
    type: bool
    default: true
  project:
    description:
      - Name or ID of the Railway project. Names match case-insensitively when unambiguous.
      - Required with O(api_token) (an account or a workspace token) unless O(project_id) is set. With
        O(project_token) it defaults to the token's project.
      - A Railway project ID (a UUID) is read directly with C(project(id:)); a name is looked up in the projects the
        token can list (C(me) for account tokens, C(projects) when C(me) fails, as it does for workspace tokens).
      - An unknown name fails and lists the projects the token can see.
    type: str
  environment:
    description:
      - Name or ID of the environment in O(project), for example V(production).
      - With O(project_token) it defaults to the token's environment. With O(api_token) it may be omitted only when
        the project has a single environment.
      - An unknown name fails and lists the environments of the project.
    type: str
  project_id:
    description:
      - ID of the project, as an earlier task found it (C(project.id) in the result of
        M(backendops.stack.railway_info), C(target.project.id) in the others), to spare the lookup. O(project) is
        then only used in messages.
      - With O(project_id), O(environment_id) and (where a service is meant) O(service_id) no lookup request is
        sent at all; with O(project_id) alone the project is read directly with C(project(id:)).
    type: str
  environment_id:
    description:
      - ID of the environment, as an earlier task found it; O(environment) is then only used in messages.
    type: str
  service_id:
    description:
      - ID of the service, as an earlier task found it; the module's C(service) option is then only used in
        messages.
    type: str
requirements:
  - requests
  - websocket-client (optional; M(backendops.stack.railway_deploy) waits by subscription with it, else it polls)
notes:
  - Railway allows 100 (Free), 1000 (Hobby) or 10000 (Pro) API requests per hour; every result includes
    RV(api_requests), the number of HTTP requests the task sent.
  - Tokens are never logged. Use Ansible Vault or the environment variables for them.
seealso:
  - name: Railway public API
    description: Endpoint, tokens and rate limits.
    link: https://docs.railway.com/integrations/api
"""

    # The Railway action group. What the other attributes mean is in backendops.stack.common_attributes, which every module
    # extends too; each module adds its own support levels.
    ATTRIBUTES = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/backendops.stack.railway) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - backendops.stack.railway
"""

    # Sealed variables, as railway_variables and railway_release manage them (plugins/module_utils/railway/sealed.py).
    SEALED = r"""
options:
  sealed:
    description:
      - Names of the variables to create sealed, or to seal when Railway holds them unsealed. Railway then never
        returns their values (not even to this module) and cannot unseal them; it deploys them like any other.
      - A variable sealed on Railway is write-only here, named or not; it is compared by the digest of the value
        sent last (O(sealed_state_dir)) and set again only when its value here is new.
      - Railway's variable upserts cannot seal, so sealed variables are sent as one environment patch (staged, then
        committed, deploys skipped as for the other variables); changes staged in Railway's dashboard for the
        environment are committed with it.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  sealed_state_dir:
    description:
      - Where the digests of the sealed values sent last are kept, one file per project, environment and service
        (C(shared) for shared variables), mode C(0600). The digests are HMAC-SHA256 under a random key of each file.
      - Defaults to C(${XDG_DATA_HOME:-~/.local/share}/backendops/railway) on the host that runs the module. When the
        file is missing (a new machine or CI runner), each sealed variable is sent once more; keep the directory
        (for example in a CI cache) to avoid that.
    type: path
    version_added: 0.1.0
"""
