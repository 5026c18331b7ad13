# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GraphQL request handling: parse once (faults and counters need the operation), then execute."""
from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode, FieldNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, build_schema, execute_sync, get_operation_ast, parse, validate,
)

from tools.railway_emulator.errors import RailwayError
from tools.railway_emulator.resolvers import Root
from tools.railway_emulator.context import Context

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")


@lru_cache(maxsize=1)
def load_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))


@dataclass
class GraphQLRequest:
    """A parsed ``POST /graphql/v2`` body; ``error`` is set when it cannot be executed at all."""

    document: DocumentNode | None = None
    operation: OperationDefinitionNode | None = None
    operation_name: str | None = None
    variables: dict[str, Any] | None = None
    error: str | None = None
    http_status: int = 200
    root_fields: list[str] = field(default_factory=list)

    @property
    def label(self) -> str | None:
        """How counters and logs name the request: its operationName, else its first root field."""
        if self.operation is not None and self.operation.name is not None:
            return self.operation.name.value
        return self.operation_name or next(iter(self.root_fields), None)

    @property
    def names(self) -> set[str]:
        """Names a fault's ``operation`` filter may match."""
        return {name for name in (self.label, self.operation_name, *self.root_fields) if name}

    @classmethod
    def from_body(cls, body: bytes) -> GraphQLRequest:
        try:
            payload = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            return cls(error="Request body must be JSON", http_status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return cls(error='Request body must be a JSON object with a "query" string', http_status=400)
        operation_name, variables = payload.get("operationName"), payload.get("variables")
        if operation_name is not None and not isinstance(operation_name, str):
            return cls(error='"operationName" must be a string', http_status=400)
        if variables is not None and not isinstance(variables, dict):
            return cls(operation_name=operation_name, error='"variables" must be a JSON object', http_status=400)
        try:
            document = parse(payload["query"])
        except GraphQLError as exc:
            return cls(operation_name=operation_name, error=exc.message)
        operation = get_operation_ast(document, operation_name)
        root_fields = [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)] if operation else []
        request = cls(document=document, operation=operation, operation_name=operation_name, variables=variables, root_fields=root_fields)
        if operation is None:
            request.error = (f"Unknown operation named {operation_name!r}" if operation_name
                             else "Must provide operation name if query contains multiple operations")
        return request


def error_body(*messages: str) -> dict[str, Any]:
    """Railway's error shape: HTTP 200 with ``data: null``."""
    return {"data": None, "errors": [{"message": message} for message in messages]}


def execute(request: GraphQLRequest, ctx: Context) -> tuple[dict[str, Any], bool]:
    """(response body, executed?) for a request parsed without ``error``."""
    schema = load_schema()
    problems = validate(schema, request.document)
    if problems:
        return error_body(*(problem.message for problem in problems)), False
    result = execute_sync(schema, request.document, root_value=Root(ctx), context_value=ctx, variable_values=request.variables,
                          operation_name=request.operation_name)
    if not result.errors:
        return {"data": result.data}, True
    for error in result.errors:
        if error.original_error is not None and not isinstance(error.original_error, RailwayError):
            # An emulator bug, not a Railway-like user error: keep the traceback for whoever debugs it.
            traceback.print_exception(error.original_error, file=sys.stderr)
    return {"data": result.data, "errors": [error.formatted for error in result.errors]}, True
