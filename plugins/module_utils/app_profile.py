# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app profile: what an app is, read from its own files, with every field overridable.

Both deployment paths read it: the local stack (Dockerfile, commands, services, health check) and Railway
(start and pre-deploy commands, health check path). detect() only reads files; it raises ProfileError with
one line that names the file or setting at fault and how to fix it.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.backendops.stack.plugins.module_utils import env_contract

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

APP_FILE = "backendops.yml"
# The Node.js of the collection's base images (Debian trixie's nodejs).
BASE_NODE_VERSION = "20.19.2"
DEFAULT_PORT = 3000
# The rendered Dockerfile's stages: prod and dev run the app, build has every dependency (and the Prisma CLI).
RENDERED_TARGETS = {"prod": "prod", "dev": "dev", "build": "build"}
OVERRIDABLE = ("build_command", "start_command", "dev_command", "source_roots", "migrate_command", "port",
               "health_path", "health_details", "services", "node_version", "dockerfile", "targets")
POSTGRES_PACKAGES = ("pg", "postgres", "pg-promise")
REDIS_PACKAGES = ("ioredis", "redis", "bullmq")
# Top-level folders that hold no source to bind-mount in dev mode.
NOT_SOURCE = {"node_modules", "dist", "build", "coverage", "test", "tests", "__tests__", "prisma", "public"}
SOURCE_EXTENSIONS = (".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".json")
OTHER_LOCKFILES = {"yarn.lock": "yarn", "pnpm-lock.yaml": "pnpm", "bun.lockb": "bun", "bun.lock": "bun"}


class ProfileError(ValueError):
    """The app cannot be deployed as it is; the message says why and what to do, in one line."""


# ---- Node.js version ranges (the subset of npm's semver that engines.node and .nvmrc use) ----

def _version_tuple(text):
    parts = text.strip().lstrip("v=").split(".")
    numbers = []
    for part in parts[:3]:
        if part in ("x", "X", "*", ""):
            break
        if not part.isdigit():
            raise ValueError(text)
        numbers.append(int(part))
    return tuple(numbers)


def _comparator_holds(version, comparator):
    match = re.match(r"^(\^|~|>=|<=|>|<|=)?\s*v?([0-9xX*][0-9A-Za-z.*]*)$", comparator)
    if not match:
        raise ValueError(comparator)
    operator, bound = match.group(1) or "", _version_tuple(match.group(2))
    size = len(bound)
    if operator in ("", "=") or (operator in ("^", "~") and size < 3):
        if operator == "~" and size >= 2:
            return version[:2] == bound[:2]
        if operator == "^" and size >= 1 and bound[0] > 0:
            return version[:1] == bound[:1] and version[:size] >= bound
        return version[:size] == bound
    padded = bound + (0,) * (3 - size)
    if operator == "^":
        upper = (padded[0] + 1, 0, 0) if padded[0] else (0, padded[1] + 1, 0)
        return padded <= version < upper
    if operator == "~":
        return padded <= version < (padded[0], padded[1] + 1, 0)
    if operator == ">=":
        return version >= padded
    if operator == ">":
        return version[:size] > bound
    if operator == "<=":
        return version[:size] <= bound
    return version < padded


def satisfies(version_text, range_text):
    """Whether Node.js version_text (e.g. 20.19.2) is in the npm-style range_text; ValueError if unreadable."""
    version = _version_tuple(version_text) + (0, 0, 0)
    version = version[:3]
    text = range_text.strip()
    if text in ("", "*", "x", "latest", "node", "lts/*") or text.startswith("lts/"):
        return True
    for alternative in text.split("||"):
        alternative = re.sub(r"\s+-\s+", " - ", alternative.strip())
        if " - " in alternative:
            low, high = alternative.split(" - ", 1)
            comparators = [">=" + low.strip(), "<=" + high.strip()]
        else:
            comparators = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", alternative).split()
        if all(_comparator_holds(version, comparator) for comparator in comparators or ["*"] if comparator != "*"):
            return True
    return False


# ---- reading the app's files ----

def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except ValueError as exc:
        raise ProfileError("%s is not valid JSON (%s): fix %s" % (path, exc, what))


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def read_app_file(source_dir):
    """The app's backendops.yml as a dict ({} when there is none)."""
    path = os.path.join(source_dir, APP_FILE)
    text = _read_text(path)
    if text is None:
        return {}
    if yaml is None:
        raise ProfileError("%s needs PyYAML on the host that reads it: pip install pyyaml" % path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError("%s is not valid YAML: %s" % (path, " ".join(str(exc).split())))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProfileError("%s must be a mapping (health:, contract:, local_env:, ...)" % path)
    known = {"health", "contract", "local_env", "port", "services"} | set(OVERRIDABLE)
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise ProfileError("%s has unknown key(s) %s: use %s" % (path, ", ".join(map(str, unknown)), ", ".join(sorted(known))))
    return data


def dockerfile_stages(text):
    """Names of the build stages of a Dockerfile, in order (unnamed stages are left out)."""
    stages = []
    for line in text.splitlines():
        match = re.match(r"^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+([A-Za-z0-9_.-]+)\s*$", line, re.IGNORECASE)
        if match:
            stages.append(match.group(1).lower())
    return stages


def _own_targets(stages):
    """Which stages of an app's own Dockerfile to build for prod, dev and migrations (None: the last stage)."""
    def first(*names):
        return next((name for name in names if name in stages), None)
    prod = first("prod", "production", "runtime", "release")
    return {"prod": prod, "dev": first("dev", "development"), "build": first("build", "builder") or prod}


_PRISMA_CONFIG_FILES = ("prisma.config.ts", "prisma.config.js", "prisma.config.mjs", "prisma.config.cjs", "prisma.config.mts")


def _prisma_schema_path(source_dir, package):
    """The Prisma schema the app declares (package.json prisma.schema or its Prisma config), else the default."""
    declared = (package.get("prisma") or {}).get("schema") if isinstance(package.get("prisma"), dict) else None
    if isinstance(declared, str) and declared:
        return declared, "package.json prisma.schema"
    for name in _PRISMA_CONFIG_FILES:
        text = _read_text(os.path.join(source_dir, name))
        if text is None:
            continue
        match = re.search(r"\bschema\s*:\s*(?:path\.join\(\s*([^)]*)\)|[\"']([^\"']+)[\"'])", text)
        if match and match.group(2):
            return match.group(2), name
        if match:
            parts = re.findall(r"[\"']([^\"']+)[\"']", match.group(1))
            if parts:
                return "/".join(parts), name
    return "prisma/schema.prisma", "default location"


def _datasource_provider(schema_text):
    match = re.search(r"datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*\"([^\"]+)\"", schema_text, re.S)
    return match.group(1) if match else None


def _start_file(command):
    """The script a `node FILE` start command runs, or None for other commands."""
    match = re.match(r"^\s*(?:exec\s+)?node\s+(?:--?[\w-]+(?:=\S+)?\s+)*([^\s;&|]+\.(?:c|m)?js)\b", command or "")
    return match.group(1) if match else None


def _without_npm(command, scripts, seen=()):
    """command with `npm start` / `npm run X` replaced by the script it runs: the prod image has no npm."""
    match = re.match(r"^\s*npm\s+(?:run(?:-script)?\s+([\w:.-]+)|(start))\s*$", command or "")
    if not match:
        return command
    name = match.group(1) or match.group(2)
    if name in seen or not isinstance(scripts.get(name), str):
        raise ProfileError("the start command %r runs the npm script %r, which package.json does not define" % (command, name))
    return _without_npm(scripts[name], scripts, seen + (name,))


def _source_roots(source_dir):
    roots = []
    for entry in sorted(os.listdir(source_dir)):
        path = os.path.join(source_dir, entry)
        if entry.startswith(".") or entry in NOT_SOURCE or not os.path.isdir(path):
            continue
        for _dirpath, _dirs, files in os.walk(path):
            if any(name.endswith(SOURCE_EXTENSIONS) for name in files):
                roots.append(entry)
                break
    return roots


def _dependencies(package):
    names = set()
    for key in ("dependencies", "devDependencies", "optionalDependencies"):
        section = package.get(key)
        if isinstance(section, dict):
            names.update(section)
    return names


def _health(app_file, overrides):
    health = app_file.get("health") or {}
    if not isinstance(health, dict):
        raise ProfileError("%s health must be a mapping with path (and optional details)" % APP_FILE)
    path = overrides.get("health_path", health.get("path"))
    details = overrides.get("health_details", health.get("details"))
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise ProfileError("health path %r must start with /, e.g. /healthz" % (path,))
    if details:
        if not isinstance(details, dict) or not str(details.get("path", "")).startswith("/"):
            raise ProfileError("health details need a path that starts with /, e.g. {path: /api/health/details}")
        details = {"path": details["path"], "token": details.get("token"),
                   "expect": {str(key): str(value) for key, value in (details.get("expect") or {}).items()}}
    return {"path": path, "probe": "http" if path else "tcp", "details": details or None}


def detect(source_dir, overrides=None, contract=None, base_node_version=BASE_NODE_VERSION):
    """The profile of the app in source_dir, as a dict of plain values (see docs/your-app.md).

    overrides: profile fields given by the user (OVERRIDABLE), winning over detection and backendops.yml.
    contract: the user's contract mapping (NAME: definition), merged over the app's own.
    """
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ProfileError("unknown app profile override(s) %s: use %s" % (", ".join(unknown), ", ".join(OVERRIDABLE)))
    source_dir = os.path.abspath(os.path.expanduser(source_dir))
    if not os.path.isdir(source_dir):
        raise ProfileError("%s is not a directory: point the source directory at the app's root (where package.json is)" % source_dir)
    package_path = os.path.join(source_dir, "package.json")
    if not os.path.isfile(package_path):
        raise ProfileError("%s has no package.json: point the source directory at the root of a Node.js app" % source_dir)
    package = _read_json(package_path, "package.json")
    if not isinstance(package, dict):
        raise ProfileError("%s must hold a JSON object" % package_path)
    app_file = read_app_file(source_dir)
    for key in OVERRIDABLE:
        if key in app_file and key not in overrides:
            overrides[key] = app_file[key]
    detected = {}

    # Package manager and lockfile: npm ci needs package-lock.json.
    lockfile = next((name for name in ("package-lock.json", "npm-shrinkwrap.json")
                     if os.path.isfile(os.path.join(source_dir, name))), None)
    if lockfile is None:
        other = next((name for name in OTHER_LOCKFILES if os.path.isfile(os.path.join(source_dir, name))), None)
        if other:
            raise ProfileError("%s uses %s (%s): only npm with package-lock.json is supported - run `npm install` "
                               "to create package-lock.json" % (source_dir, OTHER_LOCKFILES[other], other))
        raise ProfileError("%s has no package-lock.json: run `npm install` there and commit package-lock.json "
                           "(builds run `npm ci`)" % source_dir)

    # Node.js: the base image must satisfy engines.node (or .nvmrc).
    node_version = str(overrides.get("node_version") or base_node_version)
    engines = package.get("engines") if isinstance(package.get("engines"), dict) else {}
    wanted, wanted_from = engines.get("node"), "package.json engines.node"
    if not wanted:
        nvmrc = _read_text(os.path.join(source_dir, ".nvmrc"))
        wanted, wanted_from = (nvmrc.strip() if nvmrc else None), ".nvmrc"
    if wanted:
        try:
            ok = satisfies(node_version, str(wanted))
        except ValueError:
            raise ProfileError("%s %r is not a version range the collection reads: write e.g. >=20 or 20.x" % (wanted_from, wanted))
        if not ok:
            raise ProfileError("%s asks for Node.js %s, but the base image has Node.js %s: allow %s (e.g. >=20) or override "
                               "the profile's node_version with the Node.js of your own base image"
                               % (wanted_from, wanted, node_version, node_version.split(".", maxsplit=1)[0]))
    detected["node_version"] = wanted_from if wanted else "base image"

    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    dockerfile = overrides.get("dockerfile")
    if dockerfile is None:
        dockerfile = "Dockerfile" if os.path.isfile(os.path.join(source_dir, "Dockerfile")) else None
    elif dockerfile is False or dockerfile == "":
        dockerfile = None
    if dockerfile and not os.path.isfile(os.path.join(source_dir, dockerfile)):
        raise ProfileError("dockerfile %s is not in %s: give a path relative to the app's root" % (dockerfile, source_dir))

    if "build_command" in overrides:
        build_command = overrides["build_command"] or None
    else:
        build_command = "npm run build" if scripts.get("build") else None

    # The start command: an own Dockerfile keeps its CMD; else the start script, else main.
    if "start_command" in overrides:
        start_command, detected["start_command"] = overrides["start_command"] or None, "override"
    elif dockerfile:
        start_command, detected["start_command"] = None, "the image's CMD (%s)" % dockerfile
    elif scripts.get("start"):
        start_command, detected["start_command"] = scripts["start"], "package.json scripts.start"
    elif isinstance(package.get("main"), str) and package["main"]:
        start_command, detected["start_command"] = "node %s" % package["main"], "package.json main"
    else:
        raise ProfileError("%s has no start command: add a \"start\" script (e.g. \"node src/server.js\") or \"main\" to "
                           "package.json, or override the profile's start_command" % package_path)
    start_command = _without_npm(start_command, scripts)
    start_file = _start_file(start_command)
    if start_file and not build_command and not os.path.isfile(os.path.join(source_dir, start_file)):
        raise ProfileError("the start command %r runs %s, which is not in %s and no build script makes it: fix the "
                           "start script or add a build script" % (start_command, start_file, source_dir))

    if "dev_command" in overrides:
        dev_command = overrides["dev_command"] or None
    elif scripts.get("dev"):
        dev_command = scripts["dev"]
    elif start_file:
        dev_command = "node --watch %s" % start_file
    else:
        dev_command = start_command
    source_roots = overrides.get("source_roots")
    if source_roots is None:
        source_roots = _source_roots(source_dir)

    # Prisma: its schema says which database; migrations beside it mean a migrate step.
    dependencies = _dependencies(package)
    schema_path, schema_from = _prisma_schema_path(source_dir, package)
    schema_text = _read_text(os.path.join(source_dir, schema_path))
    provider = _datasource_provider(schema_text) if schema_text else None
    if provider and provider not in ("postgresql", "postgres"):
        raise ProfileError("%s declares a %s datasource: only PostgreSQL is supported (provider = \"postgresql\")"
                           % (os.path.join(source_dir, schema_path), provider))
    migrations_dir = os.path.join(os.path.dirname(os.path.join(source_dir, schema_path)), "migrations")
    has_migrations = os.path.isdir(migrations_dir) and any(
        os.path.isdir(os.path.join(migrations_dir, entry)) for entry in os.listdir(migrations_dir))
    if "migrate_command" in overrides:
        migrate_command = overrides["migrate_command"] or None
    else:
        migrate_command = "prisma migrate deploy" if has_migrations else None

    services = {"postgres": bool(provider) or bool(dependencies & set(POSTGRES_PACKAGES)),
                "redis": bool(dependencies & set(REDIS_PACKAGES))}
    wanted_services = overrides.get("services", app_file.get("services"))
    if wanted_services is not None:
        if not isinstance(wanted_services, dict) or not set(wanted_services) <= set(services):
            raise ProfileError("services must be a mapping of postgres and/or redis to true or false")
        services.update({name: bool(value) for name, value in wanted_services.items()})

    port = overrides.get("port", app_file.get("port", DEFAULT_PORT))
    if isinstance(port, bool) or not str(port).isdigit() or not 1 <= int(port) <= 65535:
        raise ProfileError("port %r must be a TCP port from 1 to 65535" % (port,))

    if dockerfile:
        try:
            with open(os.path.join(source_dir, dockerfile), encoding="utf-8") as handle:
                targets = _own_targets(dockerfile_stages(handle.read()))
        except OSError as exc:
            raise ProfileError("cannot read %s: %s" % (os.path.join(source_dir, dockerfile), exc.strerror))
    else:
        targets = dict(RENDERED_TARGETS)
    targets.update(overrides.get("targets") or {})

    try:
        app_contract = env_contract.contract_from_mapping(app_file.get("contract"), "%s contract" % APP_FILE)
        user_contract = env_contract.contract_from_mapping(contract, "contract")
    except env_contract.ContractError as exc:
        raise ProfileError(str(exc))
    used = [name for name, used in sorted(services.items()) if used]
    variables = env_contract.merged(env_contract.base_contract(used), app_contract, user_contract)
    local_env = app_file.get("local_env") or {}
    if not isinstance(local_env, dict):
        raise ProfileError("%s local_env must map variable names to values" % APP_FILE)

    return {
        "source_dir": source_dir,
        "name": str(package.get("name") or os.path.basename(source_dir)),
        "package_manager": "npm",
        "lockfile": lockfile,
        "node_version": node_version,
        "node_range": str(wanted) if wanted else None,
        "dockerfile": dockerfile,
        "targets": targets,
        "build_command": build_command,
        "start_command": start_command,
        "dev_command": dev_command,
        "source_roots": list(source_roots),
        "migrate_command": migrate_command,
        # The generated client must exist before the build step and in the image (it is not a package).
        "generate_command": "prisma generate" if schema_text is not None and "@prisma/client" in dependencies else None,
        "prisma_schema": schema_path if schema_text is not None else None,
        "prisma_provider": provider,
        "port": int(port),
        "health": _health(app_file, overrides),
        "services": services,
        "contract": [env_contract.definition_of(variable) for variable in variables],
        "generated_secrets": [variable.name for variable in variables if variable.generate],
        "local_env": {str(name): env_contract.env_string(value) for name, value in local_env.items()},
        "detected_from": dict(detected, prisma_schema=schema_from, app_file=APP_FILE if app_file else None),
    }
