# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The environment contract of the backend: the one definition of its variables, and their validation.

Both deployment paths (the local env file and Railway variables) validate against this module before they
change anything. Pure Python: no AnsibleModule, so modules, filters and tests share it.

Error texts name the variable, say what is expected and how to fix it, and never contain a secret value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
_NAME_RE = re.compile(NAME_PATTERN)
# A Railway reference variable, e.g. ${{Postgres.DATABASE_URL}} or ${{ shared.JWT_SECRET }}.
_REFERENCE_RE = re.compile(r"\$\{\{([^{}]*)\}\}")
_MAX_SHOWN_CHARS = 80


@dataclass(frozen=True)
class Variable:
    """One variable of the contract."""

    name: str
    required: bool = False
    format: str = "string"
    secret: bool = False
    choices: tuple = ()
    schemes: tuple = ()
    min_length: int = 0
    description: str = ""
    # (name, value) pairs: the variable is required when one of those variables has that value.
    required_when: tuple = ()
    # The local stack generates a value on the first run and keeps it (a secret such as JWT_SECRET).
    generate: bool = False


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of validate(): errors (one line each), and the names of the given variables."""

    errors: tuple = ()
    names: tuple = ()
    secret_names: tuple = ()
    # The given values as the strings an env file or Railway holds (numbers and booleans converted).
    values: dict = field(default_factory=dict)

    @property
    def ok(self):
        return not self.errors


# The base contract of every app: what the runtime and the stack's services need. An app adds its own variables
# (its backendops.yml `contract:`, or the playbook's), e.g. the sample backend's Supabase and JWT settings.
BASE_DEFINITIONS = {
    "NODE_ENV": dict(required=True, format="choice", choices=["development", "production", "test"],
                     description="Runtime mode of the app."),
    "PORT": dict(required=True, format="port",
                 description="TCP port the HTTP server listens on inside its container."),
}
# Added to the base when the app uses PostgreSQL or Redis.
SERVICE_DEFINITIONS = {
    "postgres": {"DATABASE_URL": dict(
        required=True, format="url", secret=True, schemes=["postgres", "postgresql"],
        description="PostgreSQL connection URL for Prisma, e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE.")},
    "redis": {"REDIS_URL": dict(
        required=True, format="url", secret=True, schemes=["redis", "rediss"],
        description="Redis connection URL, e.g. redis://HOST:6379 (rediss:// for TLS).")},
}


# ---- formats: what each expects, and what is wrong with a value (never quoting the value) ----

def _join_or(items):
    items = list(items)
    return items[0] if len(items) == 1 else "%s or %s" % (", ".join(items[:-1]), items[-1])


def _is_decimal(value):
    return value.isascii() and value.isdigit()


def _check_string(value, variable):
    return None


def _check_choice(value, variable):
    return None if value in variable.choices else "not one of the allowed values"


def _check_integer(value, variable):
    digits = value[1:] if value[:1] in ("-", "+") else value
    return None if _is_decimal(digits) else "not a whole number"


def _check_positive_integer(value, variable):
    if not _is_decimal(value):
        return "not a whole number"
    return None if int(value) >= 1 else "not positive"


def _check_port(value, variable):
    if not _is_decimal(value):
        return "not a whole number"
    return None if 1 <= int(value) <= 65535 else "out of range"


def _check_boolean(value, variable):
    return None if value in ("true", "false") else "not true or false"


def _url_problem(value, schemes):
    """What keeps value from being a URL with one of schemes and a host, or None."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "it cannot be parsed as a URL - percent-encode : / ? # @ [ ] % in the user name and password"
    if parts.scheme.lower() not in schemes:
        return "its scheme is not %s" % _join_or(schemes)
    if not parts.hostname:
        return "it has no host"
    if port == 0:
        return "its port is 0"
    return None


def _check_url(value, variable):
    return _url_problem(value, variable.schemes)


def _check_origins(value, variable):
    if value == "*":
        return None
    entries = [entry.strip() for entry in value.split(",")]
    for position, entry in enumerate(entries, 1):
        if not entry:
            return "entry %d is empty" % position
        if entry == "*":
            return "* cannot be combined with other origins"
        problem = _url_problem(entry, ("http", "https"))
        if problem:
            return "entry %d: %s" % (position, problem)
        parts = urlsplit(entry)
        if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in entry or "#" in entry:
            return "entry %d has a path, query or fragment - an origin is scheme://host[:port] only" % position
        if parts.username is not None or parts.password is not None:
            return "entry %d has a user name or password - an origin is scheme://host[:port] only" % position
    return None


def _expect_choice(variable):
    return "one of %s" % ", ".join(variable.choices)


def _expect_url(variable):
    example = {
        ("postgres", "postgresql"): ", e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE",
        ("redis", "rediss"): ", e.g. redis://HOST:6379",
    }.get(tuple(variable.schemes), "")
    return "a URL with a host that starts with %s%s" % (_join_or(["%s://" % scheme for scheme in variable.schemes]), example)


@dataclass(frozen=True)
class _Format:
    check: object
    expectation: object


FORMATS = {
    "string": _Format(_check_string, lambda variable: "a string"),
    "choice": _Format(_check_choice, _expect_choice),
    "integer": _Format(_check_integer, lambda variable: "a whole number"),
    "positive_integer": _Format(_check_positive_integer, lambda variable: "a whole number of at least 1"),
    "port": _Format(_check_port, lambda variable: "an integer from 1 to 65535"),
    "boolean": _Format(_check_boolean, lambda variable: "true or false"),
    "url": _Format(_check_url, _expect_url),
    "origins": _Format(_check_origins, lambda variable: "* or a comma-separated list of http(s) origins like https://app.example.com"),
}
DEFAULT_URL_SCHEMES = ("http", "https")


def expectation(variable):
    """What a valid value of variable looks like, in words (used in errors and the documentation)."""
    text = FORMATS[variable.format].expectation(variable)
    if variable.min_length > 1:
        text = "at least %d characters" % variable.min_length if variable.format == "string" else \
            "%s of at least %d characters" % (text, variable.min_length)
    elif variable.min_length == 1 and variable.format == "string":
        text = "a non-empty string"
    return text


# ---- definitions: the base contract, the app's own (a mapping) and the playbook's extra (a list) ----

DEFINITION_KEYS = ("name", "required", "format", "secret", "choices", "schemes", "min_length", "description",
                   "required_when", "generate")

_DEFINITION_OPTIONS = dict(
    name=dict(type="str", required=True),
    required=dict(type="bool", default=False),
    format=dict(type="str", default="string", choices=list(FORMATS)),
    secret=dict(type="bool", default=False),
    choices=dict(type="list", elements="str"),
    schemes=dict(type="list", elements="str"),
    min_length=dict(type="int", default=0),
    description=dict(type="str", default=""),
    required_when=dict(type="dict"),
    generate=dict(type="bool", default=False),
)
# The `extra` and `contract` options of the modules that validate the contract (their DOCUMENTATION mirrors them).
EXTRA_ARGUMENT_SPEC = dict(type="list", elements="dict", default=[], options=_DEFINITION_OPTIONS)
CONTRACT_ARGUMENT_SPEC = dict(type="list", elements="dict", options=_DEFINITION_OPTIONS)


class ContractError(ValueError):
    """A definition that does not add up; the message is one line that names it."""


def _definition_problem(definition):
    """What is wrong with a dict definition of a variable, or None."""
    # Defaults filled in by an argument spec arrive as None.
    definition = {key: value for key, value in definition.items() if value is not None}
    unknown = sorted(set(definition) - set(DEFINITION_KEYS), key=str)
    if unknown:
        return "unknown key(s) %s - use only %s" % (", ".join(map(str, unknown)), ", ".join(DEFINITION_KEYS))
    name = definition.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        return "name must match %s (upper-case letters, digits and _, not starting with a digit)" % NAME_PATTERN
    for key in ("required", "secret", "generate"):
        if key in definition and not isinstance(definition[key], bool):
            return "%s must be true or false" % key
    fmt = definition.get("format") or "string"
    if fmt not in FORMATS:
        return "format %r is unknown - use one of %s" % (fmt, ", ".join(FORMATS))
    for key in ("choices", "schemes"):
        items = definition.get(key)
        if items is not None and (not isinstance(items, (list, tuple)) or not all(isinstance(item, str) and item for item in items)):
            return "%s must be a list of non-empty strings" % key
    if fmt == "choice" and not definition.get("choices"):
        return "format choice needs a non-empty choices list"
    if fmt != "choice" and definition.get("choices"):
        return "choices only apply to format choice (format is %s)" % fmt
    if fmt != "url" and definition.get("schemes"):
        return "schemes only apply to format url (format is %s)" % fmt
    min_length = definition.get("min_length")
    if min_length is not None and (isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 0):
        return "min_length must be a whole number of at least 0"
    if definition.get("description") is not None and not isinstance(definition["description"], str):
        return "description must be a string"
    when = definition.get("required_when")
    if when is not None and (not isinstance(when, dict) or not all(
            isinstance(key, str) and _NAME_RE.match(key) and isinstance(value, str) for key, value in when.items())):
        return "required_when must map variable names to values, e.g. {NODE_ENV: production}"
    if definition.get("generate") and fmt != "string":
        return "generate only applies to format string (format is %s)" % fmt
    return None


def variable_from_definition(definition):
    """A Variable from a dict of DEFINITION_KEYS; raises ContractError with a one-line reason."""
    if isinstance(definition, Variable):
        return definition
    if not isinstance(definition, dict):
        raise ContractError("must be a dict with the keys %s" % ", ".join(DEFINITION_KEYS))
    problem = _definition_problem(definition)
    if problem:
        raise ContractError(problem)
    fmt = definition.get("format") or "string"
    schemes = tuple(scheme.lower() for scheme in definition.get("schemes") or ())
    return Variable(
        name=definition["name"],
        required=bool(definition.get("required")),
        format=fmt,
        secret=bool(definition.get("secret")),
        choices=tuple(definition.get("choices") or ()),
        schemes=schemes or (DEFAULT_URL_SCHEMES if fmt == "url" else ()),
        min_length=definition.get("min_length") or 0,
        description=definition.get("description") or "",
        required_when=tuple(sorted((definition.get("required_when") or {}).items())),
        generate=bool(definition.get("generate")),
    )


def definition_of(variable):
    """The dict form of a Variable (what modules return and take back as their contract option)."""
    return dict(name=variable.name, required=variable.required, format=variable.format, secret=variable.secret,
                choices=list(variable.choices) or None, schemes=list(variable.schemes) or None,
                min_length=variable.min_length, description=variable.description,
                required_when=dict(variable.required_when) or None, generate=variable.generate)


def contract_from_mapping(mapping, where):
    """Variables from an app's `contract:` mapping (NAME: {definition}); ContractError names where and the entry."""
    if mapping is None:
        return ()
    if not isinstance(mapping, dict):
        raise ContractError("%s must map variable names to their definitions, e.g. API_KEY: {required: true, secret: true}" % where)
    variables = []
    for name, definition in mapping.items():
        if definition is None:
            definition = {}
        if not isinstance(definition, dict):
            raise ContractError("%s.%s must be a mapping of %s" % (where, name, ", ".join(DEFINITION_KEYS[1:])))
        try:
            variables.append(variable_from_definition(dict(definition, name=name)))
        except ContractError as exc:
            raise ContractError("%s.%s: %s" % (where, name, exc))
    return tuple(variables)


def base_contract(services=("postgres", "redis")):
    """The base contract of an app that uses the given services."""
    definitions = dict(BASE_DEFINITIONS)
    for service in services:
        definitions.update(SERVICE_DEFINITIONS.get(service, {}))
    return contract_from_mapping(definitions, "base contract")


def merged(*contracts):
    """One contract from several: a later definition of a name replaces an earlier one, order kept."""
    by_name = {}
    for contract in contracts:
        for variable in contract or ():
            by_name[variable.name] = variable_from_definition(variable)
    return tuple(by_name.values())


def definitions(extra=(), contract=None):
    """(name -> Variable for the contract plus extra, errors in the definitions).

    contract: Variables or definition dicts (an app profile's contract); None is the base contract.
    """
    errors = []
    by_name = {}
    for index, definition in enumerate(base_contract() if contract is None else contract):
        try:
            variable = variable_from_definition(definition)
        except ContractError as exc:
            errors.append("contract[%d]: %s" % (index, exc))
            continue
        by_name[variable.name] = variable
    contract_names = set(by_name)
    for index, definition in enumerate(extra or ()):
        label = "extra[%d]" % index
        if isinstance(definition, dict) and isinstance(definition.get("name"), str):
            label += " (%s)" % definition["name"]
        try:
            variable = variable_from_definition(definition)
        except ContractError as exc:
            errors.append("%s: %s" % (label, exc))
            continue
        if variable.name in contract_names:
            errors.append("%s: %s is already defined by the environment contract - remove it from extra" % (label, variable.name))
        elif variable.name in by_name:
            errors.append("%s: %s is defined twice in extra - keep one definition" % (label, variable.name))
        else:
            by_name[variable.name] = variable
    return by_name, errors


# ---- values ----

def env_string(value):
    """The env-file text of an Ansible value: str as is, booleans as true/false, numbers in decimal.

    None stands for "not set". Raises TypeError for lists and dicts (message without the value).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise TypeError("a %s" % type(value).__name__)


def is_secret(name, by_name):
    """Contract and extra say which variables are secret; unknown variables count as secret, to be safe."""
    variable = by_name.get(name)
    return variable is None or variable.secret


def references(value):
    """The Railway references (${{...}}) in value, and whether some ${{ is not a well-formed reference."""
    found = [match.group(0) for match in _REFERENCE_RE.finditer(value) if match.group(1).strip()]
    malformed = value.count("${{") != len(found)
    return found, malformed


def _shown(value, secret):
    if secret:
        return "a hidden secret value"
    text = value if len(value) <= _MAX_SHOWN_CHARS else value[:_MAX_SHOWN_CHARS] + "..."
    return repr(text)


def _hint(variable, value):
    if variable.min_length > 1 and len(value) < variable.min_length and variable.secret:
        return ": generate one, e.g. with openssl rand -hex %d" % max(16, (variable.min_length + 1) // 2)
    return ""


def _value_error(variable, value, allow_references):
    """One line about what is wrong with a set value of variable, or None."""
    found, malformed = references(value)
    if malformed:
        return "%s has a malformed Railway reference: write it as ${{SERVICE.VARIABLE}}" % variable.name
    if found:
        if allow_references:
            # Railway renders the reference later; its format can only be checked there.
            return None
        return ("%s holds a Railway reference (${{...}}) that only Railway resolves: give the literal value, "
                "or set allow_references: true for Railway variables" % variable.name)
    problem = None
    if value != value.strip():
        problem = "leading or trailing whitespace - remove it"
    else:
        problem = FORMATS[variable.format].check(value, variable)
    if problem is None and len(value) < variable.min_length:
        problem = "%d characters" % len(value)
    if problem is None:
        return None
    return "%s must be %s, got %s (%s)%s" % (
        variable.name, expectation(variable), _shown(value, variable.secret), problem, _hint(variable, value))


def _missing_error(variable, condition=""):
    return "%s is required%s but not set: set it to %s" % (variable.name, condition, expectation(variable))


def validate(values, extra=(), allow_references=False, check_values=True, contract=None, sealed=()):
    """Check values (name -> value) against the contract (None: the base one) plus the extra definitions.

    Unknown variables are allowed but need valid names. With check_values=False only names, value types and
    extra definitions are checked (the required and format checks are skipped). ``sealed`` names are set on Railway
    with values nobody can read: they count as set, and their format is not checked.
    Returns a ValidationResult; its errors are one line per bad variable and never contain secret values.
    """
    by_name, errors = definitions(extra, contract)
    if not isinstance(values, dict):
        return ValidationResult(errors=tuple(errors + ["variables must be a dict of NAME: value"]))

    strings = {}
    for raw_name, raw_value in values.items():
        name = str(raw_name)
        if not _NAME_RE.match(name):
            errors.append("%r is not a valid variable name: use upper-case letters, digits and _, not starting with a digit"
                          % name[:_MAX_SHOWN_CHARS])
            continue
        try:
            value = env_string(raw_value)
        except TypeError as exc:
            errors.append("%s must be a string, number or boolean, got %s: quote or join it" % (name, exc))
            continue
        if value is not None:
            strings[name] = value

    if check_values:
        for name, variable in sorted(by_name.items()):
            value = strings.get(name)
            if name in sealed:
                continue
            # An empty optional variable counts as unset, as the app reads it.
            if value is None or value == "":
                if variable.required:
                    errors.append(_missing_error(variable))
                continue
            error = _value_error(variable, value, allow_references)
            if error:
                errors.append(error)
        for name, variable in sorted(by_name.items()):
            if variable.required or strings.get(name) or name in sealed:
                continue
            for condition_name, condition_value in variable.required_when:
                if strings.get(condition_name) == condition_value:
                    errors.append(_missing_error(variable, " when %s=%s" % (condition_name, condition_value)))
                    break

    names = tuple(sorted(strings))
    return ValidationResult(
        errors=tuple(errors),
        names=names,
        secret_names=tuple(name for name in names if is_secret(name, by_name)),
        values=strings,
    )


def failure_message(errors):
    """The one-line failure of modules that validate the contract."""
    return "Environment contract: %d bad variable(s): %s" % (len(errors), "; ".join(errors))


def public_values(result):
    """Values that are safe to show: those of non-secret variables that no secret variable shares.

    Modules take `variables` with no_log, which masks every value in their output, including e.g. the
    PORT "3000" inside unrelated paths; they drop these strings from the mask so non-secret values read normally.
    """
    secrets = {result.values[name] for name in result.secret_names}
    return {value for name, value in result.values.items() if name not in result.secret_names and value not in secrets}
