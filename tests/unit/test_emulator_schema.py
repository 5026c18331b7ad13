# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator's schema must be a strict subset of Railway's: what passes against the emulator passes on Railway."""
from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLArgument, GraphQLEnumType, GraphQLInputField, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLNamedType, GraphQLObjectType, GraphQLSchema,
    build_schema, is_required_argument, is_required_input_field, print_ast, validate_schema,
)

from support import railway_schema, railway_schema_what, require

REPO_ROOT = Path(__file__).resolve().parents[2]
EMULATOR_SCHEMA = REPO_ROOT / "tools" / "railway_emulator" / "schema.graphql"


@pytest.fixture(name="emulator_schema", scope="module")
def emulator_schema_fixture() -> GraphQLSchema:
    # Built strictly: the emulator's own schema must be valid on its own.
    schema = build_schema(EMULATOR_SCHEMA.read_text(encoding="utf-8"))
    assert not validate_schema(schema)
    return schema


@pytest.fixture(name="official_schema", scope="module")
def official_schema_fixture() -> GraphQLSchema:
    require(railway_schema().is_file(), railway_schema_what())
    # assume_valid: Railway's schema has a quirk graphql-core rejects (Team.id deprecated, Node.id not).
    return build_schema(railway_schema().read_text(encoding="utf-8"), assume_valid=True)


def _signature(value: GraphQLArgument | GraphQLInputField) -> str:
    """Type plus default, e.g. ``Boolean = false`` (graphql-core 3.3 keeps SDL defaults as literals)."""
    default = value.default.literal if value.default is not None else None
    return f"{value.type} = {print_ast(default)}" if default is not None else str(value.type)


def _named_types(schema: GraphQLSchema) -> dict[str, GraphQLNamedType]:
    return {name: t for name, t in schema.type_map.items() if not name.startswith("__")}


def subset_violations(mine: GraphQLSchema, official: GraphQLSchema) -> list[str]:
    """Every way ``mine`` is not a strict subset of ``official`` (empty when it is)."""
    problems: list[str] = []
    theirs_types = _named_types(official)
    for root in ("query_type", "mutation_type", "subscription_type"):
        ours, theirs = getattr(mine, root), getattr(official, root)
        if ours is not None and (theirs is None or ours.name != theirs.name):
            problems.append(f"root {root} {ours.name} is not the official root type")
    for name, ours in _named_types(mine).items():
        theirs = theirs_types.get(name)
        if theirs is None:
            problems.append(f"type {name} does not exist in Railway's schema")
        elif type(ours) is not type(theirs):
            problems.append(f"type {name} is a {type(ours).__name__}, Railway's is a {type(theirs).__name__}")
        elif isinstance(ours, GraphQLEnumType):
            problems += [f"enum value {name}.{value} does not exist" for value in ours.values if value not in theirs.values]
        elif isinstance(ours, (GraphQLObjectType, GraphQLInterfaceType)):
            problems += _field_violations(name, ours, theirs)
        elif isinstance(ours, GraphQLInputObjectType):
            problems += _input_violations(name, ours, theirs)
    return problems


def _field_violations(type_name: str, ours, theirs) -> list[str]:
    problems = [f"{type_name} implements {i.name}, Railway's does not" for i in ours.interfaces if i.name not in {t.name for t in theirs.interfaces}]
    for field_name, field in ours.fields.items():
        where = f"{type_name}.{field_name}"
        official = theirs.fields.get(field_name)
        if official is None:
            problems.append(f"field {where} does not exist")
            continue
        if str(field.type) != str(official.type):
            problems.append(f"field {where} is {field.type}, Railway's is {official.type}")
        for arg_name, arg in field.args.items():
            official_arg = official.args.get(arg_name)
            if official_arg is None:
                problems.append(f"argument {where}({arg_name}) does not exist")
            elif _signature(arg) != _signature(official_arg):
                problems.append(f"argument {where}({arg_name}) is {_signature(arg)}, Railway's is {_signature(official_arg)}")
        # A required argument left out would let documents validate here that Railway rejects.
        problems += [f"required argument {where}({a}) is missing" for a, arg in official.args.items() if is_required_argument(arg) and a not in field.args]
    return problems


def _input_violations(type_name: str, ours: GraphQLInputObjectType, theirs: GraphQLInputObjectType) -> list[str]:
    problems = []
    for field_name, field in ours.fields.items():
        official = theirs.fields.get(field_name)
        if official is None:
            problems.append(f"input field {type_name}.{field_name} does not exist")
        elif _signature(field) != _signature(official):
            problems.append(f"input field {type_name}.{field_name} is {_signature(field)}, Railway's is {_signature(official)}")
    problems += [
        f"required input field {type_name}.{f} is missing" for f, field in theirs.fields.items() if is_required_input_field(field) and f not in ours.fields
    ]
    return problems


def test_emulator_schema_is_a_strict_subset_of_railways(emulator_schema: GraphQLSchema, official_schema: GraphQLSchema) -> None:
    assert subset_violations(emulator_schema, official_schema) == []


def test_emulator_serves_the_operations_the_modules_rely_on(emulator_schema: GraphQLSchema) -> None:
    queries = {"me", "projects", "project", "projectToken", "environment", "environments", "service", "serviceInstance", "variables",
               "variablesForServiceDeployment", "deployment", "deployments", "deploymentEvents", "buildLogs", "deploymentLogs", "domains"}
    mutations = {"variableCollectionUpsert", "variableUpsert", "variableDelete", "serviceInstanceUpdate", "serviceInstanceDeployV2",
                 "serviceInstanceRedeploy", "deploymentRedeploy", "deploymentRollback", "deploymentApprove", "deploymentCancel",
                 "deploymentRestart", "serviceDomainCreate", "projectCreate", "serviceCreate", "serviceDelete", "volumeCreate",
                 "environmentCreate", "environmentDelete"}
    assert queries <= set(emulator_schema.query_type.fields)
    assert mutations <= set(emulator_schema.mutation_type.fields)


@pytest.mark.parametrize(
    ("sdl", "problem"),
    [
        ("type Query { me: User }\ntype User { id: ID! }", "field Query.me is User, Railway's is User!"),
        ("type Query { me: User! }\ntype User { id: ID! nickname: String }", "field User.nickname does not exist"),
        ("type Query { deployment: Deployment! }\ntype Deployment { id: ID! }", "required argument Query.deployment(id) is missing"),
        ("type Query { project(id: ID!): Project! }\ntype Project { id: ID! }", "argument Query.project(id) is ID!, Railway's is String!"),
        ("type Query { me: User! }\ntype User { id: ID! }\nenum Builder { DOCKERFILE }", "enum value Builder.DOCKERFILE does not exist"),
        ("type Query { me: User! }\ntype User { id: ID! }\ninput VariableDeleteInput { name: String! }",
         "required input field VariableDeleteInput.projectId is missing"),
        ("type Query { me: User! }\ntype User { id: ID! }\ninput VariableUpsertInput { environmentId: String! name: String! projectId: String!"
         " value: String! skipDeploys: Boolean = true }", "input field VariableUpsertInput.skipDeploys is Boolean = true, Railway's is Boolean = false"),
    ],
)
def test_subset_check_catches_deviations(official_schema: GraphQLSchema, sdl: str, problem: str) -> None:
    # The checker itself must fail on each kind of drift, or the subset test proves nothing.
    assert problem in subset_violations(build_schema(sdl), official_schema)
