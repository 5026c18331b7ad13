# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every GraphQL document the collection sends validates against Railway's published schema.

A document that fails here would fail against Railway too. The documents live in
plugins/module_utils/railway/documents.py; the client refuses anything not registered there
(tests/unit/plugins/module_utils/test_railway_client.py proves that), so this covers all of them.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from ansible_collections.backendops.stack.plugins.module_utils.railway import documents
from support import railway_schema, railway_schema_what, require

REPO_ROOT = Path(__file__).resolve().parents[2]
EMULATOR_SCHEMA = REPO_ROOT / "tools" / "railway_emulator" / "schema.graphql"

DOCUMENTS = sorted(documents.DOCUMENTS.items())


def _load(path):
    # assume_valid: Railway's schema has a quirk graphql-core rejects (Team.id deprecated, Node.id not).
    return build_schema(path.read_text(encoding="utf-8"), assume_valid=True)


@pytest.fixture(name="official_schema", scope="module")
def official_schema_fixture():
    require(railway_schema().is_file(), railway_schema_what())
    return _load(railway_schema())


@pytest.fixture(name="emulator_schema", scope="module")
def emulator_schema_fixture():
    return _load(EMULATOR_SCHEMA)


def test_every_document_constant_is_registered():
    constants = {name: value for name, value in vars(documents).items()
                 if isinstance(value, documents.GraphQLDocument)}
    assert constants, "no documents found"
    assert {doc.name for doc in constants.values()} == set(documents.DOCUMENTS)
    assert all(documents.DOCUMENTS[doc.name] is doc for doc in constants.values())


@pytest.mark.parametrize("name, document", DOCUMENTS, ids=[name for name, _document in DOCUMENTS])
def test_document_has_one_operation_named_like_its_registration(name, document):
    operations = [d for d in parse(document.text).definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1
    assert operations[0].name.value == name
    assert document.is_mutation == (operations[0].operation.value == "mutation")
    # Queries are always safe to repeat; only some mutations are.
    assert document.retry_safe or document.is_mutation


@pytest.mark.parametrize("name, document", DOCUMENTS, ids=[name for name, _document in DOCUMENTS])
def test_document_validates_against_railways_schema(name, document, official_schema):
    errors = validate(official_schema, parse(document.text))
    assert not errors, "%s is invalid against Railway's schema: %s" % (name, "; ".join(e.message for e in errors))


@pytest.mark.parametrize("name, document", DOCUMENTS, ids=[name for name, _document in DOCUMENTS])
def test_document_is_served_by_the_emulator(name, document, emulator_schema):
    errors = validate(emulator_schema, parse(document.text))
    assert not errors, "the emulator cannot serve %s: %s" % (name, "; ".join(e.message for e in errors))
