# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Errors that become Railway-shaped GraphQL errors (``{"errors": [{"message": ...}]}``)."""
from __future__ import annotations

NOT_AUTHORIZED = "Not Authorized"
PROJECT_TOKEN_NOT_FOUND = "Project Token not found"


class RailwayError(Exception):
    """A user error as Railway reports it; the message is sent to the client verbatim."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
