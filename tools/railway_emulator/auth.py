"""Railway's two token kinds and what each may see.

``Authorization: Bearer <account token>`` sees everything. ``Project-Access-Token: <token>`` sees one
project and only the environment the token belongs to. When a request carries both headers the project
token decides, as the Railway CLI gives RAILWAY_TOKEN precedence.
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
    """Who is calling: an account (``user_id``) or a project token (``project_token``)."""

    user_id: str | None = None
    project_token: ProjectToken | None = None

    @property
    def is_account(self) -> bool:
        return self.user_id is not None

    @property
    def rate_key(self) -> str:
        return f"project:{self.project_token.id}" if self.project_token else f"user:{self.user_id}"

    def can_see_project(self, project_id: str) -> bool:
        return self.is_account or self.project_token.project_id == project_id

    def can_see_environment(self, environment_id: str) -> bool:
        return self.is_account or self.project_token.environment_id == environment_id


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
    return Credentials(Principal(user_id=match.user_id)) if match else Credentials(None, NOT_AUTHORIZED)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    scheme, _space, token = (authorization or "").strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None
