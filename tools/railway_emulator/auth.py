# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Railway's three token kinds and what each may see.

``Authorization: Bearer <account token>`` sees everything. ``Authorization: Bearer <workspace token>`` sees the
projects of one workspace and has no user (``me`` fails). ``Project-Access-Token: <token>`` sees one project and
only the environment the token belongs to. When a request carries both headers the project token decides, as the
Railway CLI gives RAILWAY_TOKEN precedence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tools.railway_emulator.errors import NOT_AUTHORIZED, PROJECT_TOKEN_NOT_FOUND, RailwayError
from tools.railway_emulator.model import ProjectToken
from tools.railway_emulator.state import Store

PROJECT_TOKEN_HEADER = "Project-Access-Token"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account (``user_id``), a workspace token (``workspace_id``) or a project token."""

    user_id: str | None = None
    project_token: ProjectToken | None = None
    workspace_id: str | None = None
    # A workspace token's projects, read when the request is authenticated.
    workspace_projects: frozenset[str] = frozenset()

    @property
    def is_account(self) -> bool:
        """An account or workspace token: anything but a project token."""
        return self.project_token is None

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    @property
    def rate_key(self) -> str:
        if self.project_token:
            return f"project:{self.project_token.id}"
        return f"workspace:{self.workspace_id}" if self.workspace_id else f"user:{self.user_id}"

    def can_see_project(self, project_id: str) -> bool:
        if self.project_token is not None:
            return self.project_token.project_id == project_id
        return self.workspace_id is None or project_id in self.workspace_projects

    def can_see_environment(self, environment_id: str) -> bool:
        return self.project_token is None or self.project_token.environment_id == environment_id


@dataclass(frozen=True)
class Credentials:
    """The outcome of reading the auth headers: a principal, or the error Railway would give."""

    principal: Principal | None
    error: str | None = None

    def require(self) -> Principal:
        if self.principal is None:
            raise RailwayError(self.error or NOT_AUTHORIZED)
        return self.principal


def authenticate(header: Callable[[str], str | None], store: Store) -> Credentials:
    """Resolve the request's token headers (``header`` looks a header up case-insensitively)."""
    project_token = (header(PROJECT_TOKEN_HEADER) or "").strip()
    if project_token:
        match = next((t for t in store.data.project_tokens if t.token == project_token), None)
        return Credentials(Principal(project_token=match)) if match else Credentials(None, PROJECT_TOKEN_NOT_FOUND)
    token = bearer_token(header("Authorization"))
    match = next((t for t in store.data.account_tokens if t.token == token), None) if token else None
    if match is None:
        return Credentials(None, NOT_AUTHORIZED)
    if match.workspace_id is not None:
        projects = frozenset(p.id for p in store.data.projects if p.workspace_id == match.workspace_id)
        return Credentials(Principal(workspace_id=match.workspace_id, workspace_projects=projects))
    return Credentials(Principal(user_id=match.user_id))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    scheme, _space, token = (authorization or "").strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None
