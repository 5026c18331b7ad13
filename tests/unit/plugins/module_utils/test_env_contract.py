# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The environment contract: its one definition, every format, references, extra definitions, safe errors.

Run this file directly to rewrite the variable table in docs/environment-contract.md from the definition:
    .venv/bin/python tests/unit/plugins/module_utils/test_env_contract.py
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT / ".collections"))

# pylint: disable-next=wrong-import-position
from ansible_collections.backendops.stack.plugins.module_utils import env_contract as contract  # noqa: E402
from ansible_collections.backendops.stack.plugins.module_utils.app_profile import detect  # noqa: E402

# The sample backend's contract: the base one plus its backendops.yml.
SAMPLE = tuple(contract.variable_from_definition(definition) for definition in detect(str(REPO_ROOT / "examples" / "backend"))["contract"])


def validate(values, **kwargs):
    return contract.validate(values, contract=kwargs.pop("contract", SAMPLE), **kwargs)


DOC_PATH = REPO_ROOT / "docs" / "environment-contract.md"
TABLE_START = "<!-- contract-table:start (generated from examples/backend/backendops.yml; see tests) -->"
TABLE_END = "<!-- contract-table:end -->"

# Distinctive secret values: an error that leaks one (or a piece of it) is easy to spot.
VALID = {
    "NODE_ENV": "production",
    "PORT": "3000",
    "DATABASE_URL": "postgresql://app:Pg9qXw7Lz@db.internal:5432/app?schema=public",
    "REDIS_URL": "redis://:Rd4kVm2Nq@redis:6379",
    "SUPABASE_URL": "https://abcd.supabase.co",
    "SUPABASE_ANON_KEY": "anonKey-Hx5Tb8Wc",
    "JWT_SECRET": "jwtSecret-Yf3Gp6Jr-0123456789abcdef",
    "HEALTH_TOKEN": "healthTok-Ud7Ks1Ze",
}


def errors_for(changes, **kwargs):
    values = dict(VALID)
    values.update(changes)
    values = {name: value for name, value in values.items() if value is not Ellipsis}
    return validate(values, **kwargs).errors


def single_error(name, value, **kwargs):
    errors = errors_for({name: value}, **kwargs)
    assert len(errors) == 1, errors
    assert errors[0].startswith(name + " "), errors
    return errors[0]


# ---- the definition ----

def test_contract_defines_each_variable_once_with_valid_names_and_formats():
    names = [variable.name for variable in SAMPLE]
    assert len(names) == len(set(names))
    for variable in SAMPLE:
        assert re.match(contract.NAME_PATTERN, variable.name)
        assert variable.format in contract.FORMATS
        assert variable.description
        # Every definition is one a user could have written in extra.
        assert contract.variable_from_definition(variable) == variable


def test_contract_names_required_and_secret_variables():
    required = {variable.name for variable in SAMPLE if variable.required}
    secret = {variable.name for variable in SAMPLE if variable.secret}
    assert required == {"NODE_ENV", "PORT", "DATABASE_URL", "REDIS_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "JWT_SECRET"}
    assert secret == {"DATABASE_URL", "REDIS_URL", "SUPABASE_ANON_KEY", "JWT_SECRET", "HEALTH_TOKEN"}
    optional = {variable.name for variable in SAMPLE if not variable.required}
    assert optional == {"ALLOWED_ORIGINS", "LOG_LEVEL", "RATE_LIMIT_MAX", "HEALTH_TOKEN"}


def test_variables_are_immutable():
    with pytest.raises(AttributeError):
        SAMPLE[0].required = False  # type: ignore[misc]


# ---- validate: the whole picture ----

def test_valid_values_pass_and_report_names_and_secret_names():
    result = validate(dict(VALID))
    assert result.ok and result.errors == ()
    assert result.names == tuple(sorted(VALID))
    assert result.secret_names == ("DATABASE_URL", "HEALTH_TOKEN", "JWT_SECRET", "REDIS_URL", "SUPABASE_ANON_KEY")
    assert result.values == VALID


def test_only_required_variables_are_needed():
    minimal = {name: value for name, value in VALID.items() if name != "HEALTH_TOKEN"}
    minimal["NODE_ENV"] = "development"
    assert validate(minimal).ok


def test_every_missing_required_variable_is_reported_once():
    errors = validate({}).errors
    assert len(errors) == 7
    for name in ("NODE_ENV", "PORT", "DATABASE_URL", "REDIS_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "JWT_SECRET"):
        assert sum(error.startswith(name + " is required but not set: set it to ") for error in errors) == 1, name


@pytest.mark.parametrize("empty", ["", None])
def test_empty_or_null_required_variable_counts_as_missing(empty):
    assert errors_for({"JWT_SECRET": empty}) == (
        "JWT_SECRET is required but not set: set it to at least 32 characters",)


@pytest.mark.parametrize("name", ["ALLOWED_ORIGINS", "LOG_LEVEL", "RATE_LIMIT_MAX"])
def test_empty_optional_variable_counts_as_unset(name):
    assert errors_for({name: ""}) == ()


def test_health_token_is_required_in_production_only():
    assert errors_for({"HEALTH_TOKEN": ...}) == (
        "HEALTH_TOKEN is required when NODE_ENV=production but not set: set it to at least 16 characters",)
    assert errors_for({"HEALTH_TOKEN": ..., "NODE_ENV": "test"}) == ()


# ---- formats ----

@pytest.mark.parametrize("value", ["development", "production", "test"])
def test_node_env_accepts_its_choices(value):
    assert errors_for({"NODE_ENV": value, "HEALTH_TOKEN": ...} if value != "production" else {"NODE_ENV": value}) == ()


@pytest.mark.parametrize("value", ["prod", "Production", "staging"])
def test_node_env_rejects_other_values_and_quotes_them(value):
    assert single_error("NODE_ENV", value) == (
        "NODE_ENV must be one of development, production, test, got %r (not one of the allowed values)" % value)


@pytest.mark.parametrize("value", ["1", "3000", "65535", "03000", 8080])
def test_port_accepts_integers_in_range(value):
    assert errors_for({"PORT": value}) == ()


@pytest.mark.parametrize("value,problem", [
    ("0", "out of range"), ("65536", "out of range"), ("-1", "not a whole number"), ("3000.0", "not a whole number"),
    ("http", "not a whole number"), ("\uff13\uff10\uff10\uff10", "not a whole number"),
    (" 3000", "leading or trailing whitespace - remove it"), (70000, "out of range"),
])
def test_port_rejects_other_values(value, problem):
    assert single_error("PORT", value) == "PORT must be an integer from 1 to 65535, got %r (%s)" % (str(value), problem)


@pytest.mark.parametrize("name,value", [
    ("DATABASE_URL", "postgres://app:pw@db:5432/app"),
    ("DATABASE_URL", "postgresql://db/app"),
    ("DATABASE_URL", "POSTGRESQL://app:pw@[::1]:5432/app"),
    ("DATABASE_URL", "postgresql://app:p%23w%40rd@db/app?sslmode=require"),
    ("REDIS_URL", "redis://redis:6379"),
    ("REDIS_URL", "rediss://default:pw@cache.example.com:6380/0"),
    ("SUPABASE_URL", "http://127.0.0.1:54321"),
    ("SUPABASE_URL", "https://abcd.supabase.co/"),
])
def test_urls_with_an_allowed_scheme_and_a_host_pass(name, value):
    assert errors_for({name: value}) == ()


@pytest.mark.parametrize("name,value,problem", [
    ("DATABASE_URL", "mysql://app:Pg9qXw7Lz@db/app", "its scheme is not postgres or postgresql"),
    ("DATABASE_URL", "postgresql:///app?host=/run/Pg9qXw7Lz", "it has no host"),
    ("DATABASE_URL", "Hk3Lm9Qp.internal:5432", "its scheme is not postgres or postgresql"),
    ("DATABASE_URL", "postgresql://app:Pg9q#Xw7Lz@db/app", "it cannot be parsed as a URL"),
    ("DATABASE_URL", "postgresql://u:Pg9qXw7Lz@db:0/app", "its port is 0"),
    ("REDIS_URL", "http://Rd4kVm2Nq@redis:6379", "its scheme is not redis or rediss"),
])
def test_secret_urls_are_rejected_without_showing_the_value(name, value, problem):
    error = single_error(name, value)
    assert "got a hidden secret value (%s" % problem in error
    assert_no_leak(error, value)


def test_non_secret_url_errors_quote_the_value():
    error = single_error("SUPABASE_URL", "ftp://files.example.com")
    assert error == ("SUPABASE_URL must be a URL with a host that starts with http:// or https://, "
                     "got 'ftp://files.example.com' (its scheme is not http or https)")


def test_url_expectation_shows_an_example_for_the_database():
    error = single_error("DATABASE_URL", "sqlite://x")
    assert error.startswith("DATABASE_URL must be a URL with a host that starts with postgres:// or postgresql://, "
                            "e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE, got a hidden secret value")


@pytest.mark.parametrize("value", [
    "*", "https://app.example.com", "https://app.example.com/", "http://localhost:5173",
    "https://a.example.com,http://localhost:5173", "https://a.example.com, https://b.example.com:8443",
])
def test_allowed_origins_accept_star_and_origin_lists(value):
    assert errors_for({"ALLOWED_ORIGINS": value}) == ()


@pytest.mark.parametrize("value,problem", [
    ("app.example.com", "entry 1: its scheme is not http or https"),
    ("https://a.example.com/app", "entry 1 has a path, query or fragment"),
    ("https://a.example.com?x=1", "entry 1 has a path, query or fragment"),
    ("https://a.example.com,ftp://b.example.com", "entry 2: its scheme is not http or https"),
    ("https://a.example.com,,https://b.example.com", "entry 2 is empty"),
    ("*,https://a.example.com", "* cannot be combined with other origins"),
    ("https://user:pw@a.example.com", "entry 1 has a user name or password"),
    ("https://", "entry 1: it has no host"),
])
def test_allowed_origins_reject_what_is_not_an_origin(value, problem):
    error = single_error("ALLOWED_ORIGINS", value)
    assert error.startswith("ALLOWED_ORIGINS must be * or a comma-separated list of http(s) origins like "
                            "https://app.example.com, got %r (%s" % (value, problem))


@pytest.mark.parametrize("value", ["error", "warn", "info", "debug"])
def test_log_level_accepts_its_choices(value):
    assert errors_for({"LOG_LEVEL": value}) == ()


def test_log_level_rejects_others():
    assert single_error("LOG_LEVEL", "verbose") == (
        "LOG_LEVEL must be one of error, warn, info, debug, got 'verbose' (not one of the allowed values)")


@pytest.mark.parametrize("value", ["1", "100", 250])
def test_rate_limit_accepts_positive_integers(value):
    assert errors_for({"RATE_LIMIT_MAX": value}) == ()


@pytest.mark.parametrize("value,problem", [("0", "not positive"), ("-5", "not a whole number"), ("1e3", "not a whole number")])
def test_rate_limit_rejects_others(value, problem):
    assert single_error("RATE_LIMIT_MAX", value) == (
        "RATE_LIMIT_MAX must be a whole number of at least 1, got %r (%s)" % (value, problem))


def test_jwt_secret_needs_32_characters_and_says_how_to_make_one():
    assert errors_for({"JWT_SECRET": "x" * 32}) == ()
    short = "Sh0rtJwt-Qm8Vb"
    error = single_error("JWT_SECRET", short)
    assert error == ("JWT_SECRET must be at least 32 characters, got a hidden secret value (14 characters): "
                     "generate one, e.g. with openssl rand -hex 16")
    assert_no_leak(error, short)


def test_health_token_needs_16_characters():
    assert errors_for({"HEALTH_TOKEN": "h" * 16}) == ()
    error = single_error("HEALTH_TOKEN", "Hx7-Tk2")
    assert error.startswith("HEALTH_TOKEN must be at least 16 characters, got a hidden secret value (7 characters)")


def test_secret_with_surrounding_whitespace_is_rejected_without_showing_it():
    value = " " + VALID["JWT_SECRET"] + " "
    error = single_error("JWT_SECRET", value)
    assert "(leading or trailing whitespace - remove it)" in error
    assert_no_leak(error, value)


def test_long_non_secret_values_are_shortened_in_errors():
    error = single_error("NODE_ENV", "p" * 500)
    assert "'" + "p" * 80 + "...'" in error and "p" * 81 not in error


# ---- value types ----

def test_numbers_and_booleans_become_env_strings():
    result = validate(dict(VALID, PORT=3000, RATE_LIMIT_MAX=5, FEATURE_ON=True, FEATURE_OFF=False, RATIO=0.5))
    assert result.ok, result.errors
    assert result.values["PORT"] == "3000" and result.values["RATE_LIMIT_MAX"] == "5"
    assert result.values["FEATURE_ON"] == "true" and result.values["FEATURE_OFF"] == "false"
    assert result.values["RATIO"] == "0.5"


def test_null_values_are_left_out():
    result = validate(dict(VALID, LOG_LEVEL=None))
    assert result.ok and "LOG_LEVEL" not in result.names


@pytest.mark.parametrize("value,kind", [(["a", "b"], "list"), ({"a": 1}, "dict")])
def test_structured_values_are_rejected_by_type_only(value, kind):
    errors = errors_for({"APP_LIST": value})
    assert errors == ("APP_LIST must be a string, number or boolean, got a %s: quote or join it" % kind,)


def test_non_dict_variables_are_reported():
    assert validate(["PORT=3000"]).errors == ("variables must be a dict of NAME: value",)


# ---- unknown variables ----

def test_unknown_variables_with_valid_names_are_allowed_and_count_as_secret():
    result = validate(dict(VALID, STRIPE_KEY="sk_live_Wq2", _PRIVATE="1"))
    assert result.ok
    assert {"STRIPE_KEY", "_PRIVATE"} <= set(result.secret_names)


@pytest.mark.parametrize("name", ["lower_case", "1ST", "WITH-DASH", "WITH SPACE", "DOT.NAME", ""])
def test_unknown_variables_need_valid_names(name):
    errors = errors_for({name: "x"})
    assert errors == ("%r is not a valid variable name: use upper-case letters, digits and _, not starting with a digit"
                      % name,)


def test_non_string_keys_are_checked_as_their_text():
    assert errors_for({7: "x"}) == ("'7' is not a valid variable name: use upper-case letters, digits and _, "
                                    "not starting with a digit",)


# ---- Railway references ----

@pytest.mark.parametrize("name,value", [
    ("DATABASE_URL", "${{Postgres.DATABASE_URL}}"),
    ("DATABASE_URL", "postgresql://${{PGUSER}}:${{PGPASSWORD}}@${{PGHOST}}:${{PGPORT}}/${{PGDATABASE}}"),
    ("REDIS_URL", "${{ Redis.REDIS_URL }}"),
    ("JWT_SECRET", "${{shared.JWT_SECRET}}"),
    ("PORT", "${{PORT}}"),
    ("NODE_ENV", "${{shared.NODE_ENV}}"),
    ("SUPABASE_URL", "https://${{shared.SUPABASE_PROJECT}}.supabase.co"),
    ("HEALTH_TOKEN", "${{shared.A}}${{shared.B}}"),
    ("SUPABASE_ANON_KEY", "${{Supabase Auth.ANON_KEY}}"),
])
def test_references_pass_the_format_check_when_allowed(name, value):
    assert errors_for({name: value}, allow_references=True) == ()


@pytest.mark.parametrize("name,value", [
    ("DATABASE_URL", "${{Postgres.DATABASE_URL}}"),
    ("PORT", "${{PORT}}"),
])
def test_references_are_rejected_by_default_with_the_fix(name, value):
    assert single_error(name, value) == (
        "%s holds a Railway reference (${{...}}) that only Railway resolves: give the literal value, "
        "or set allow_references: true for Railway variables" % name)


@pytest.mark.parametrize("value", [
    "${{Postgres.DATABASE_URL}", "${{Postgres.DATABASE_URL", "${{}}", "${{ }}", "${{a}}${{b", "${{a{b}}",
])
def test_malformed_references_are_errors_even_when_allowed(value):
    for allow in (False, True):
        assert single_error("DATABASE_URL", value, allow_references=allow) == (
            "DATABASE_URL has a malformed Railway reference: write it as ${{SERVICE.VARIABLE}}")


def test_references_do_not_excuse_a_missing_required_variable():
    assert errors_for({"JWT_SECRET": ...}, allow_references=True) == (
        "JWT_SECRET is required but not set: set it to at least 32 characters",)


def test_a_referenced_node_env_does_not_trigger_the_production_rule():
    assert errors_for({"NODE_ENV": "${{shared.NODE_ENV}}", "HEALTH_TOKEN": ...}, allow_references=True) == ()


def test_compose_style_interpolation_is_not_a_reference():
    # ${NAME} (one brace) is Compose syntax; the contract checks the text as it is.
    assert single_error("SUPABASE_URL", "${SUPABASE_URL}", allow_references=True).startswith(
        "SUPABASE_URL must be a URL with a host")


# ---- extra definitions ----

def test_extra_variables_are_checked_like_contract_variables():
    extra = [
        dict(name="STRIPE_SECRET", required=True, secret=True, min_length=20),
        dict(name="QUEUE_MODE", format="choice", choices=["inline", "worker"]),
        dict(name="WEBHOOK_URL", format="url"),
        dict(name="S3_ENDPOINT", format="url", schemes=["HTTPS"]),
        dict(name="DEBUG_SQL", format="boolean"),
        dict(name="RETRY_OFFSET", format="integer"),
    ]
    ok = dict(VALID, STRIPE_SECRET="sk_" + "a" * 20, QUEUE_MODE="worker", WEBHOOK_URL="http://hooks.local/x",
              S3_ENDPOINT="https://s3.example.com", DEBUG_SQL="false", RETRY_OFFSET="-3")
    result = validate(ok, extra=extra)
    assert result.ok, result.errors
    assert "STRIPE_SECRET" in result.secret_names
    assert "QUEUE_MODE" not in result.secret_names

    bad = dict(VALID, QUEUE_MODE="cron", WEBHOOK_URL="ftp://x", S3_ENDPOINT="http://s3.example.com", DEBUG_SQL="yes",
               RETRY_OFFSET="two")
    errors = validate(bad, extra=extra).errors
    assert errors == (
        "DEBUG_SQL must be true or false, got 'yes' (not true or false)",
        "QUEUE_MODE must be one of inline, worker, got 'cron' (not one of the allowed values)",
        "RETRY_OFFSET must be a whole number, got 'two' (not a whole number)",
        "S3_ENDPOINT must be a URL with a host that starts with https://, got 'http://s3.example.com' (its scheme is not https)",
        "STRIPE_SECRET is required but not set: set it to at least 20 characters",
        "WEBHOOK_URL must be a URL with a host that starts with http:// or https://, got 'ftp://x' (its scheme is not http or https)",
    )


def test_extra_accepts_variable_instances_and_ansible_style_dicts_with_nulls():
    ansible_style = dict(name="APP_MODE", required=False, format="choice", secret=False, choices=["a"], schemes=None,
                         min_length=0, description="")
    extra = [contract.Variable("APP_REGION", required=True), ansible_style]
    assert validate(dict(VALID, APP_REGION="eu", APP_MODE="a"), extra=extra).ok
    assert validate(dict(VALID, APP_MODE="a"), extra=extra).errors == (
        "APP_REGION is required but not set: set it to a string",)


def test_declared_non_secret_extra_variables_are_not_secret():
    result = validate(dict(VALID, APP_REGION="eu"), extra=[dict(name="APP_REGION")])
    assert "APP_REGION" not in result.secret_names


@pytest.mark.parametrize("definition,problem", [
    (dict(name="bad-name"), "extra[0] (bad-name): name must match ^[A-Z_][A-Z0-9_]*$ (upper-case letters, digits and _, "
                            "not starting with a digit)"),
    (dict(required=True), "extra[0]: name must match ^[A-Z_][A-Z0-9_]*$ (upper-case letters, digits and _, "
                          "not starting with a digit)"),
    (dict(name="X", format="uuid"), "extra[0] (X): format 'uuid' is unknown - use one of string, choice, integer, "
                                    "positive_integer, port, boolean, url, origins"),
    (dict(name="X", format="choice"), "extra[0] (X): format choice needs a non-empty choices list"),
    (dict(name="X", choices=["a"]), "extra[0] (X): choices only apply to format choice (format is string)"),
    (dict(name="X", schemes=["s3"]), "extra[0] (X): schemes only apply to format url (format is string)"),
    (dict(name="X", format="url", schemes="https"), "extra[0] (X): schemes must be a list of non-empty strings"),
    (dict(name="X", format="choice", choices=["a", ""]), "extra[0] (X): choices must be a list of non-empty strings"),
    (dict(name="X", min_length=-1), "extra[0] (X): min_length must be a whole number of at least 0"),
    (dict(name="X", min_length="8"), "extra[0] (X): min_length must be a whole number of at least 0"),
    (dict(name="X", required="yes"), "extra[0] (X): required must be true or false"),
    (dict(name="X", secret=1), "extra[0] (X): secret must be true or false"),
    (dict(name="X", description=["a"]), "extra[0] (X): description must be a string"),
    (dict(name="X", secrte=True), "extra[0] (X): unknown key(s) secrte - use only name, required, format, secret, "
                                  "choices, schemes, min_length, description, required_when, generate"),
    ("X", "extra[0]: must be a dict with the keys name, required, format, secret, choices, schemes, min_length, "
          "description, required_when, generate"),
    (dict(name="X", required_when="NODE_ENV"), "extra[0] (X): required_when must map variable names to values, "
                                               "e.g. {NODE_ENV: production}"),
    (dict(name="X", format="port", generate=True), "extra[0] (X): generate only applies to format string (format is port)"),
    (dict(name="PORT", format="port"), "extra[0] (PORT): PORT is already defined by the environment contract - "
                                       "remove it from extra"),
])
def test_bad_extra_definitions_are_reported_clearly(definition, problem):
    assert validate(dict(VALID), extra=[definition]).errors == (problem,)


def test_duplicate_extra_definitions_are_reported():
    errors = validate(dict(VALID), extra=[dict(name="APP_X"), dict(name="APP_X")]).errors
    assert errors == ("extra[1] (APP_X): APP_X is defined twice in extra - keep one definition",)


def test_bad_definitions_and_bad_values_are_reported_together():
    errors = validate(dict(VALID, PORT="x"), extra=[dict(name="X", format="nope")]).errors
    assert len(errors) == 2
    assert errors[0].startswith("extra[0] (X): format 'nope' is unknown") and errors[1].startswith("PORT must be")


# ---- check_values=False ----

def test_without_value_checks_only_names_types_and_definitions_count():
    values = {"PORT": "not-a-port", "lower": "x", "LIST": [1]}
    result = validate(values, extra=[dict(name="Y", format="nope")], check_values=False)
    assert [error.split(" ")[0] for error in result.errors] == ["extra[0]", "'lower'", "LIST"]
    assert validate({"PORT": "not-a-port"}, check_values=False).ok


# ---- error texts never contain secret values ----

def assert_no_leak(text, secret):
    """Neither the secret nor any distinctive piece of it (a run of letters mixed with digits) shows in text."""
    assert secret not in text
    pieces = [piece for piece in re.findall(r"[A-Za-z0-9]{4,}", secret) if re.search(r"[0-9]", piece) and re.search(r"[A-Za-z]", piece)]
    assert pieces, "test secrets need a distinctive piece such as Pg9qXw7Lz: %r" % secret
    leaked = [piece for piece in pieces if piece in text]
    assert not leaked, "secret pieces %r leaked into: %s" % (leaked, text)


BAD_SECRETS = {
    "DATABASE_URL": "mysql://Lk8Wq:Zx4Pv@Hj2Nb/Rt6Ym",
    "REDIS_URL": "memcache://Qa1Zs:Wx2Ed@Rf3Tg",
    "SUPABASE_ANON_KEY": " Yh6Uj7Ik8Ol ",
    "JWT_SECRET": "Pq0Ow9Ie8Ur",
    "HEALTH_TOKEN": "Mn5Bv4Cx",
    "APP_SECRET": "Gf3Ds2Aq",
}


@pytest.mark.parametrize("allow_references", [False, True])
def test_no_error_contains_a_secret_value(allow_references):
    extra = [dict(name="APP_SECRET", secret=True, min_length=12)]
    result = validate(dict(VALID, **BAD_SECRETS), extra=extra, allow_references=allow_references)
    assert len(result.errors) == len(BAD_SECRETS)
    message = contract.failure_message(result.errors)
    for secret in BAD_SECRETS.values():
        assert_no_leak(message, secret.strip())


def test_no_error_contains_a_secret_reference_or_its_surroundings():
    value = "Vb7Nm8${{Postgres.DATABASE_URL}"
    error = single_error("DATABASE_URL", value)
    assert_no_leak(error, value)


# ---- failure message, public values ----

def test_failure_message_is_one_line_counting_the_bad_variables():
    errors = validate(dict(VALID, PORT="0", NODE_ENV="prod")).errors
    message = contract.failure_message(errors)
    assert message == ("Environment contract: 2 bad variable(s): NODE_ENV must be one of development, production, test, "
                       "got 'prod' (not one of the allowed values); PORT must be an integer from 1 to 65535, got '0' "
                       "(out of range)")
    assert "\n" not in message


def test_public_values_are_non_secret_values_that_no_secret_shares():
    values = dict(VALID, LOG_LEVEL="info", APP_NAME="same-as-secret", APP_SECRET="same-as-secret")
    extra = [dict(name="APP_NAME"), dict(name="APP_SECRET", secret=True)]
    public = contract.public_values(validate(values, extra=extra))
    assert public == {"production", "3000", "https://abcd.supabase.co", "info"}


# ---- the documentation table ----

def required_text(variable):
    conditions = ["when %s=%s" % (condition, value) for condition, value in variable.required_when]
    return "yes" if variable.required else "no" + ("".join(", required " + text for text in conditions))


def contract_table():
    """The Markdown table of the contract, as docs/environment-contract.md holds it."""
    lines = ["| Variable | Required | Value | Secret | Description |", "|---|---|---|---|---|"]
    for variable in SAMPLE:
        lines.append("| `%s` | %s | %s | %s | %s |" % (
            variable.name, required_text(variable), contract.expectation(variable).replace("|", "\\|"),
            "yes" if variable.secret else "no", variable.description.replace("|", "\\|")))
    return "\n".join(lines)


def documented_table(text):
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    return text[start:end].strip()


def test_documentation_table_matches_the_definition():
    assert documented_table(DOC_PATH.read_text(encoding="utf-8")) == contract_table(), (
        "docs/environment-contract.md is out of date: run .venv/bin/python %s" % Path(__file__).relative_to(REPO_ROOT))


def write_documentation_table():
    text = DOC_PATH.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    DOC_PATH.write_text(text[:start] + "\n" + contract_table() + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":
    write_documentation_table()
    print("updated", DOC_PATH.relative_to(REPO_ROOT))


def test_a_sealed_variable_counts_as_set_without_a_readable_value():
    # Railway lists a sealed variable with a null value: not missing, and its format cannot be checked.
    assert errors_for({"JWT_SECRET": None}, sealed=["JWT_SECRET"]) == ()
    assert errors_for({"JWT_SECRET": None})[0].startswith("JWT_SECRET ")
