# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app profile: what an app is, read from its own files, with every field overridable.

Both deployment paths read it: the local stack (Dockerfile, commands, processes, services, health check) and
Railway (root directory, build, start and pre-deploy commands, health check path, each process's start command).
detect() only reads files; it raises ProfileError with one line that names the file or setting at fault and the
override or edit that fixes it.
"""

from __future__ import annotations

import json
import os
import re
import shlex

from ansible_collections.backendops.stack.plugins.module_utils import env_contract, node_versions, package_manager, workspaces

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

APP_FILE = "backendops.yml"
DEFAULT_PORT = 3000
# The rendered Dockerfile's stages: prod and dev run the app, build has every dependency (and the Prisma CLI).
RENDERED_TARGETS = {"prod": "prod", "dev": "dev", "build": "build"}
OVERRIDABLE = ("build_command", "start_command", "dev_command", "source_roots", "migrate_command", "port",
               "health_path", "health_details", "services", "node_version", "dockerfile", "targets",
               "prisma_schema", "generate_command", "prune_dev_dependencies", "schema_sync", "processes", "app_dir")
POSTGRES_PACKAGES = ("pg", "postgres", "pg-promise")
REDIS_PACKAGES = ("ioredis", "redis", "bullmq")
# Top-level folders that hold no source to bind-mount in dev mode.
NOT_SOURCE = {"node_modules", "dist", "build", "coverage", "test", "tests", "__tests__", "prisma", "public"}
SOURCE_EXTENSIONS = (".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".json")
# Programs that come from a package of another name (their bin), for the devDependency check.
PROGRAM_PACKAGES = {"nest": "@nestjs/cli", "tsc": "typescript", "babel-node": "@babel/node", "ts-node-dev": "ts-node-dev"}
# Scripts that run a worker process when the app names none (Procfile or backendops.yml win).
WORKER_SCRIPTS = ("start:worker", "worker", "worker:start", "start:queue", "queue")
PROCESS_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
RESERVED_PROCESS_NAMES = ("web", "backend", "migrate", "postgres", "redis")


class ProfileError(ValueError):
    """The app cannot be deployed as it is; the message says why and what to do, in one line."""


# ---- reading the app's files ----

def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except ValueError as exc:
        raise ProfileError("%s is not valid JSON (%s): fix %s" % (path, exc, what))


def read_app_file(source_dir):
    """The app's backendops.yml as a dict ({} when there is none)."""
    path = os.path.join(source_dir, APP_FILE)
    text = workspaces.read_text(path)
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


def _datasource_provider(schema_text):
    match = re.search(r"datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*\"([^\"]+)\"", schema_text, re.S)
    return match.group(1) if match else None


def _start_file(command):
    """The script a `node FILE` start command runs, or None for other commands."""
    match = re.match(r"^\s*(?:exec\s+)?node\s+(?:--?[\w-]+(?:=\S+)?\s+)*([^\s;&|]+\.(?:c|m)?js)\b", command or "")
    return match.group(1) if match else None


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
            raise ProfileError("health details need a path that starts with /, e.g. {path: /healthz/details}")
        unknown = sorted(set(details) - {"path", "token", "expect", "deployment_field"})
        if unknown:
            raise ProfileError("health details have unknown key(s) %s: use path, token, expect, deployment_field"
                               % ", ".join(map(str, unknown)))
        details = {"path": details["path"], "token": details.get("token"),
                   "expect": {str(key): str(value) for key, value in (details.get("expect") or {}).items()},
                   # The field in which the view names the deployment that answers, if it does.
                   "deployment_field": details.get("deployment_field")}
    # Without a path, any HTTP answer at / proves the app serves (a TCP connect alone does not).
    return {"path": path, "probe": "http" if path else "http-any", "details": details or None}


def _dependencies(package, sections=("dependencies", "devDependencies", "optionalDependencies")):
    names = set()
    for key in sections:
        if isinstance(package.get(key), dict):
            names.update(package[key])
    return names


def _scripts(package):
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    return {str(name): value for name, value in scripts.items() if isinstance(value, str)}


def _resolve_script(command, scripts, seen=()):
    """command with `npm start` / `pnpm run X` / `yarn X` replaced by the script it runs: the prod image has no
    package manager."""
    name = package_manager.script_called(command)
    if name is None:
        return command
    if name in seen or name not in scripts:
        raise ProfileError("the command %r runs the script %r, which package.json does not define: add it or override "
                           "the profile's start_command" % (command, name))
    return _resolve_script(scripts[name], scripts, seen + (name,))


def _program(command):
    """The program a shell command starts (after `exec` and VAR=value words), or None."""
    try:
        words = shlex.split(command or "")
    except ValueError:
        return None
    for word in words:
        if word == "exec" or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            continue
        return word
    return None


def _dev_only_package(command, production, development):
    """The devDependency that provides the command's program when no production dependency does, else None."""
    program = _program(command)
    if not program or "/" in program:
        return None
    package = PROGRAM_PACKAGES.get(program, program)
    if package in development and package not in production:
        return package
    return None


def _prisma_schema_path(directory, package):
    """The Prisma schema a package declares (package.json prisma.schema or its Prisma config), else the default."""
    declared = (package.get("prisma") or {}).get("schema") if isinstance(package.get("prisma"), dict) else None
    if isinstance(declared, str) and declared:
        return declared, "package.json prisma.schema"
    for name in _PRISMA_CONFIG_FILES:
        text = workspaces.read_text(os.path.join(directory, name))
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


def _join(directory, path):
    """A path relative to the build context root, '.'-free."""
    return os.path.normpath(os.path.join(directory, path)) if directory not in ("", ".") else os.path.normpath(path)


def _find_prisma(root, package_dirs, override):
    """(schema path relative to root, the package directory holding it, where it was found) or (None, None, None)."""
    if override:
        path = os.path.normpath(override)
        if not os.path.isfile(os.path.join(root, path)):
            raise ProfileError("prisma_schema %s is not in %s: give the schema's path relative to the source directory"
                               % (override, root))
        holder = next((directory for directory in package_dirs if directory == "." or path.startswith(directory + "/")),
                      package_dirs[0])
        return path, holder, "override"
    for directory in package_dirs:
        package = workspaces.read_package(os.path.join(root, directory)) or {}
        relative, where = _prisma_schema_path(os.path.join(root, directory), package)
        path = _join(directory, relative)
        if os.path.isfile(os.path.join(root, path)):
            return path, directory, "%s (%s)" % (where, directory) if directory != "." else where
    return None, None, None


def _procfile(path):
    """{name: command} of a Procfile (Heroku's format)."""
    text = workspaces.read_text(path)
    entries = {}
    for line in (text or "").splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+?)\s*$", line)
        if match and not line.lstrip().startswith("#"):
            entries[match.group(1).lower()] = match.group(2)
    return entries


def _process(name, value, source):
    if not PROCESS_NAME_RE.match(str(name)) or name in RESERVED_PROCESS_NAMES:
        raise ProfileError("process name %r (%s) must be lowercase letters, digits and '-', and not %s (web is the "
                           "start command, the others are the stack's services)"
                           % (name, source, ", ".join(RESERVED_PROCESS_NAMES)))
    if isinstance(value, str):
        value = {"command": value}
    if not isinstance(value, dict) or not isinstance(value.get("command"), str) or not value["command"].strip():
        raise ProfileError("process %s (%s) needs a command, e.g. {command: node dist/worker.js}" % (name, source))
    unknown = sorted(set(value) - {"command", "schedule", "health_command"})
    if unknown:
        raise ProfileError("process %s (%s) has unknown key(s) %s: use command, schedule, health_command"
                           % (name, source, ", ".join(unknown)))
    schedule = value.get("schedule")
    if schedule is not None and (not isinstance(schedule, str) or len(schedule.split()) != 5):
        raise ProfileError("process %s (%s) schedule %r must be a five-field cron expression in UTC, e.g. '*/15 * * * *'"
                           % (name, source, schedule))
    return {"name": str(name), "command": value["command"].strip(), "kind": "cron" if schedule else "worker",
            "schedule": schedule, "health_command": value.get("health_command"), "from": source}


def _processes(declared, procfile, scripts, manager):
    """The app's processes besides web: backendops.yml/overrides, else the Procfile, else worker scripts."""
    if declared is not None:
        if not isinstance(declared, dict):
            raise ProfileError("processes must map a process name to its command or to {command, schedule, health_command}")
        return [_process(name, value, "processes") for name, value in declared.items() if value not in (None, False)]
    listed = {name: command for name, command in procfile.items() if name not in ("web", "release")}
    if listed:
        return [_process(name, command, "Procfile") for name, command in listed.items()]
    found = next((name for name in WORKER_SCRIPTS if name in scripts), None)
    return [_process("worker", manager.run(found), "package.json scripts.%s" % found)] if found else []


_ARG_RE = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


def _expand(ref, args):
    """ref with the build arguments it names replaced by their defaults (None when one has none)."""
    missing = []

    def value(match):
        name = match.group(1) or match.group(3)
        if name in args:
            return args[name]
        if match.group(2) is not None:
            return match.group(2)
        missing.append(name)
        return ""
    expanded = _ARG_RE.sub(value, ref)
    return None if missing else expanded


def _own_dockerfile_images(text):
    """{FROM reference as written: as the build resolves it} of an own Dockerfile, without its own stages and the
    images the collection passes (BACKENDOPS_NODE_IMAGE, BACKENDOPS_NODE_RUNTIME_IMAGE)."""
    stages, images, args, seen_from = set(), {}, {}, False
    for line in text.splitlines():
        arg = re.match(r"^\s*ARG\s+(\w+)(?:=(\S*))?\s*$", line, re.IGNORECASE)
        if arg and not seen_from and arg.group(2) is not None:
            args[arg.group(1)] = arg.group(2).strip("\"'")  # global ARGs are what FROM lines can use
        match = re.match(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", line, re.IGNORECASE)
        if not match:
            continue
        seen_from = True
        ref = match.group(1)
        if "BACKENDOPS_NODE" not in ref and ref.lower() not in stages:
            resolved = _expand(ref, args) if "$" in ref else ref
            if resolved and resolved.lower() != "scratch" and resolved.lower() not in stages:
                images.setdefault(ref, resolved)
        if match.group(2):
            stages.add(match.group(2).lower())
    return images


_NODE_IMAGE_RE = re.compile(r"^(?:(?:docker\.io|index\.docker\.io)/)?(?:library/)?node(?::(?P<tag>[\w.-]+))?$")
_DEBIAN_VARIANTS = ("", "slim", "bookworm", "bookworm-slim", "bullseye", "bullseye-slim", "trixie", "trixie-slim",
                    "buster", "buster-slim")


def official_node_major(ref):
    """The Node.js major of an official Debian-based node image reference (node:22-slim, node:lts), else None."""
    match = _NODE_IMAGE_RE.match(ref)
    if not match:
        return None
    tag = match.group("tag") or "latest"
    version_match = re.match(r"^(\d+)(?:\.\d+){0,2}(?:-(.*))?$", tag)
    if version_match:
        major, variant = int(version_match.group(1)), version_match.group(2) or ""
    else:
        word, _sep, variant = tag.partition("-")
        aliases = {"lts": node_versions.LTS_MAJOR, "current": node_versions.CURRENT_MAJOR,
                   "latest": node_versions.CURRENT_MAJOR}
        if word in aliases:
            major = aliases[word]
        elif tag in _DEBIAN_VARIANTS:
            major, variant = node_versions.CURRENT_MAJOR, tag
        else:
            return None
    if variant not in _DEBIAN_VARIANTS or major not in node_versions.SUPPORTED_MAJORS:
        return None
    return major


def _in_dir(directory, command):
    return command if directory in (".", "") else "cd %s && %s" % (directory, command)


def _deploy(manager, app_dir, workspace, prisma_dir, generate_command, build_steps, start_command, migrate_command):
    """The commands of a builder that installs at the repository root with the app's package manager, as Railway's
    does: a workspace app keeps the root (its lockfile is there) and runs its steps in its packages' folders; an app
    alone in a folder of a repository is that folder (Railway's root directory)."""
    if not workspace:
        app_dir, prisma_dir = ".", "." if prisma_dir else None
        build_steps = [dict(step, dir=".") for step in build_steps]
    steps = []
    if generate_command:
        steps.append(_in_dir(prisma_dir or app_dir, manager.exec_bin(generate_command)))
    steps += [_in_dir(step["dir"], step["command"]) for step in build_steps]
    migrate = None
    if migrate_command:
        program = migrate_command.split(None, 1)[0]
        command = manager.exec_bin(migrate_command) if program == "prisma" else migrate_command
        migrate = [_in_dir(prisma_dir or app_dir, command)]
    return {"root_directory": None, "build_command": " && ".join(steps) or None,
            "start_command": _in_dir(app_dir, start_command) if start_command else None,
            "pre_deploy_command": migrate}


def _deploy_processes(processes: list[dict], app_dir: str, workspace: bool) -> list[dict]:
    """The processes besides web as a builder at the repository root runs them (see _deploy): each one's start
    command in the app's folder of a workspace (an app alone in a folder is Railway's root directory) and its cron
    schedule, if any."""
    directory = app_dir if workspace else "."
    return [{"name": process["name"], "start_command": _in_dir(directory, process["command"]),
             "cron_schedule": process["schedule"]} for process in processes]


def _locate(source_dir, app_dir):
    """(context root, app directory relative to it) from the source directory and an optional app_dir."""
    source_dir = os.path.abspath(os.path.expanduser(source_dir))
    if not os.path.isdir(source_dir):
        raise ProfileError("%s is not a directory: point the source directory at the app's root (where package.json is)"
                           % source_dir)
    if app_dir:
        root_package = workspaces.read_package(source_dir) or {}
        members = workspaces.packages(source_dir, workspaces.patterns(source_dir, root_package))
        relative = members.get(app_dir, os.path.normpath(app_dir))
        if relative.startswith("..") or os.path.isabs(relative):
            raise ProfileError("app_dir %s must be a folder inside %s or a workspace package's name" % (app_dir, source_dir))
        if not os.path.isfile(os.path.join(source_dir, relative, "package.json")):
            raise ProfileError("app_dir %s has no package.json in %s: give the app's folder relative to the source "
                               "directory or its package name (workspace packages: %s)"
                               % (app_dir, source_dir, ", ".join(sorted(members)) or "none"))
        return source_dir, relative
    if not os.path.isfile(os.path.join(source_dir, "package.json")):
        raise ProfileError("%s has no package.json: point the source directory at the root of a Node.js app, or at a "
                           "monorepo's root with app_dir naming the app" % source_dir)
    root = workspaces.find_root(source_dir)
    if root:
        return root, os.path.relpath(source_dir, root)
    return source_dir, "."


def detect(source_dir, overrides=None, contract=None):
    """The profile of the app in source_dir, as a dict of plain values (see docs/your-app.md).

    overrides: profile fields given by the user (OVERRIDABLE), winning over detection and backendops.yml.
    contract: the user's contract mapping (NAME: definition), merged over the app's own.
    """
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ProfileError("unknown app profile override(s) %s: use %s" % (", ".join(unknown), ", ".join(OVERRIDABLE)))
    try:
        root, app_dir = _locate(source_dir, overrides.get("app_dir"))
        app_path = os.path.join(root, app_dir)
        package = workspaces.read_package(app_path)
        root_package = package if app_dir == "." else (workspaces.read_package(root) or {})
    except workspaces.WorkspaceError as exc:
        raise ProfileError(str(exc)) from None
    # The app's own backendops.yml, else the workspace root's (a monorepo with one deployable app keeps it there).
    app_file = read_app_file(app_path) or (read_app_file(root) if app_dir != "." else {})
    for key in OVERRIDABLE:
        if key in app_file and key not in overrides:
            overrides[key] = app_file[key]
    detected = {}

    # Package manager and lockfile, at the workspace root (one lockfile for the whole workspace).
    try:
        manager = package_manager.detect(root, root_package)
        members = workspaces.packages(root, workspaces.patterns(root, root_package))
        local_packages = workspaces.local_dependencies(root, app_dir, members) if members else []
    except (package_manager.PackageManagerError, workspaces.WorkspaceError) as exc:
        raise ProfileError(str(exc)) from None
    if package_manager.plug_n_play(root, manager):
        raise ProfileError("%s uses Yarn Plug'n'Play, which the collection does not build: set `nodeLinker: node-modules` "
                           "in .yarnrc.yml and run `yarn install`" % root)
    detected["package_manager"] = manager.source
    package_dirs = [app_dir] + local_packages
    packages_read = {directory: workspaces.read_package(os.path.join(root, directory)) or {} for directory in package_dirs}

    # Node.js: the app's pin (or the workspace root's), else the active LTS.
    try:
        if overrides.get("node_version") is not None:
            node_major, node_range, node_from = node_versions.major_of(overrides["node_version"]), str(overrides["node_version"]), "override"
        else:
            node_range, node_from = node_versions.declared_range([app_path, root], package)
            if node_range is None and app_dir != ".":
                node_range, node_from = node_versions.declared_range([], root_package)
            node_major = node_versions.choose_major(node_range, node_from)
    except node_versions.VersionRangeError as exc:
        raise ProfileError(str(exc)) from None
    detected["node_version"] = node_from or "the active LTS (%d)" % node_versions.LTS_MAJOR

    scripts = _scripts(package)
    dockerfile = overrides.get("dockerfile")
    if dockerfile is None:
        dockerfile = "Dockerfile" if os.path.isfile(os.path.join(app_path, "Dockerfile")) else None
    elif dockerfile is False or dockerfile == "":
        dockerfile = None
    if dockerfile and not os.path.isfile(os.path.join(app_path, dockerfile)):
        raise ProfileError("dockerfile %s is not in %s: give a path relative to the app's folder" % (dockerfile, app_path))

    # What the install runs: the own lifecycle scripts of the app and of the workspace packages it uses.
    install_scripts = ["%s%s" % (name, "" if directory == "." else " (%s)" % directory)
                       for directory in package_dirs + ([] if app_dir == "." else ["."])
                       for name in package_manager.INSTALL_SCRIPTS
                       if name in _scripts(packages_read.get(directory, root_package))]

    # The build: heroku-postbuild when present (as Heroku's buildpack), else build; workspace packages first.
    if "build_command" in overrides:
        build_command, detected["build_command"] = overrides["build_command"] or None, "override"
    else:
        build_script = next((name for name in ("heroku-postbuild", "build") if name in scripts), None)
        build_command = manager.run(build_script) if build_script else None
        detected["build_command"] = "package.json scripts.%s" % build_script if build_script else None
    build_steps = [{"dir": directory, "command": manager.run("build")} for directory in local_packages
                   if "build" in _scripts(packages_read[directory])]
    if build_command:
        build_steps.append({"dir": app_dir, "command": build_command})

    # The start command: Procfile web, else start (start:prod when start needs a devDependency, as NestJS), else main.
    procfile = _procfile(os.path.join(app_path, "Procfile"))
    production = _dependencies(package, ("dependencies", "optionalDependencies"))
    for directory in local_packages:
        production |= _dependencies(packages_read[directory], ("dependencies", "optionalDependencies"))
    development = _dependencies(package, ("devDependencies",)) | _dependencies(root_package, ("devDependencies",))
    if "start_command" in overrides:
        start_command, detected["start_command"] = overrides["start_command"] or None, "override"
    elif dockerfile:
        start_command, detected["start_command"] = None, "the image's CMD (%s)" % dockerfile
    elif procfile.get("web"):
        start_command, detected["start_command"] = procfile["web"], "Procfile web"
    elif scripts.get("start"):
        start_command, detected["start_command"] = scripts["start"], "package.json scripts.start"
        if scripts.get("start:prod") and _dev_only_package(_resolve_script(scripts["start"], scripts), production, development):
            start_command, detected["start_command"] = scripts["start:prod"], "package.json scripts.start:prod"
    elif isinstance(package.get("main"), str) and package["main"]:
        start_command, detected["start_command"] = "node %s" % package["main"], "package.json main"
    else:
        raise ProfileError("%s has no start command: add a \"start\" script (e.g. \"node src/server.js\") or \"main\" to "
                           "package.json, a Procfile web line, or override the profile's start_command"
                           % os.path.join(app_path, "package.json"))
    start_command = _resolve_script(start_command, scripts)
    start_file = _start_file(start_command)
    makes_files = bool(build_steps) or bool(install_scripts)
    if start_file and not makes_files and not dockerfile and not os.path.isfile(os.path.join(app_path, start_file)):
        raise ProfileError("the start command %r runs %s, which is not in %s and no build or install script makes it: "
                           "fix the start script, or set the profile's build_command to the step that makes it"
                           % (start_command, start_file, app_path))

    prune = overrides.get("prune_dev_dependencies", True)
    if not isinstance(prune, bool):
        raise ProfileError("prune_dev_dependencies must be true or false")
    if prune and not dockerfile:
        dev_only = _dev_only_package(start_command, production, development)
        if dev_only:
            raise ProfileError("the start command %r runs %s from devDependencies (%s), which the prod image leaves out: "
                               "start the built app instead (e.g. a start:prod script: node dist/main), or set the "
                               "profile's prune_dev_dependencies to false" % (start_command, _program(start_command), dev_only))

    if "dev_command" in overrides:
        dev_command = overrides["dev_command"] or None
    elif scripts.get("dev"):
        dev_command = scripts["dev"]
    elif scripts.get("start:dev"):
        dev_command = scripts["start:dev"]
    elif start_file:
        dev_command = "node --watch %s" % start_file
    else:
        dev_command = start_command
    source_roots = overrides.get("source_roots")
    if source_roots is None:
        source_roots = [_join(directory, entry) for directory in [app_dir] + local_packages
                        for entry in _source_roots(os.path.join(root, directory))]

    # Prisma: in the app or a workspace package it uses; its schema says which database, migrations beside it mean a
    # migrate step. An app with a Prisma client but no schema found, or a schema without migrations, is refused: a
    # stack without its tables is not healthy.
    dependencies = _dependencies(package)
    for directory in local_packages:
        dependencies |= _dependencies(packages_read[directory])
    schema_path, prisma_dir, schema_from = _find_prisma(root, package_dirs, overrides.get("prisma_schema"))
    schema_text = workspaces.read_text(os.path.join(root, schema_path)) if schema_path else None
    uses_client = "@prisma/client" in dependencies
    if schema_path is None and uses_client and "generate_command" not in overrides:
        raise ProfileError("%s depends on @prisma/client but no Prisma schema was found in it or the workspace packages it "
                           "uses: set the profile's prisma_schema to the schema's path (relative to %s)" % (app_path, root))
    provider = _datasource_provider(schema_text) if schema_text else None
    if provider and provider not in ("postgresql", "postgres"):
        raise ProfileError("%s declares a %s datasource: only PostgreSQL is supported (provider = \"postgresql\")"
                           % (os.path.join(root, schema_path), provider))
    has_migrations = False
    if schema_path:
        migrations_dir = os.path.join(os.path.dirname(os.path.join(root, schema_path)), "migrations")
        has_migrations = os.path.isdir(migrations_dir) and any(
            os.path.isdir(os.path.join(migrations_dir, entry)) for entry in os.listdir(migrations_dir))
    schema_sync = overrides.get("schema_sync", "migrate")
    if schema_sync not in ("migrate", "push"):
        raise ProfileError("schema_sync %r must be migrate (prisma migrate deploy) or push (prisma db push)" % (schema_sync,))
    if "migrate_command" in overrides:
        migrate_command = overrides["migrate_command"] or None
    elif procfile.get("release"):
        migrate_command = _resolve_script(procfile["release"], scripts)
    elif schema_sync == "push" and provider:
        migrate_command = "prisma db push --skip-generate"
    elif has_migrations:
        migrate_command = "prisma migrate deploy"
    elif provider:
        raise ProfileError("%s has no migrations, so the database would stay empty: add one (prisma migrate dev --name "
                           "init) or set the profile's schema_sync to push to run prisma db push (local stacks only)"
                           % os.path.join(root, schema_path))
    else:
        migrate_command = None
    if "generate_command" in overrides:
        generate_command = overrides["generate_command"] or None
    else:
        generate_command = "prisma generate" if schema_text is not None and uses_client else None

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

    node_majors = [node_major]
    dockerfile_images = {}
    if dockerfile:
        try:
            with open(os.path.join(app_path, dockerfile), encoding="utf-8") as handle:
                dockerfile_text = handle.read()
        except OSError as exc:
            raise ProfileError("cannot read %s: %s" % (os.path.join(app_path, dockerfile), exc.strerror))
        targets = _own_targets(dockerfile_stages(dockerfile_text))
        dockerfile_images = {ref: official_node_major(resolved)
                             for ref, resolved in _own_dockerfile_images(dockerfile_text).items()}
        node_majors += [major for major in dockerfile_images.values() if major and major not in node_majors]
    else:
        targets = dict(RENDERED_TARGETS)
    targets.update(overrides.get("targets") or {})

    processes = _processes(overrides.get("processes"), procfile, scripts, manager)
    for process in processes:
        process["command"] = _resolve_script(process["command"], scripts)

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
    manifests = ["package.json"] + ["%s/package.json" % directory for directory in sorted(members.values())
                                    if directory != "."]

    deploy = _deploy(manager, app_dir, bool(members), prisma_dir, generate_command, build_steps, start_command,
                     migrate_command)
    if app_dir != "." and not members:
        deploy["root_directory"] = app_dir

    return {
        "source_dir": root,
        "app_dir": app_dir,
        "workdir": "/app" if app_dir == "." else "/app/%s" % app_dir,
        "name": str(package.get("name") or os.path.basename(app_path)),
        "package_manager": manager.name,
        "package_manager_version": manager.version,
        "package_manager_setup": manager.setup_command(),
        "lockfile": manager.lockfile,
        "install_command": manager.install_command(),
        "install_files": manifests + [manager.lockfile] + package_manager.config_paths(root),
        # Own install scripts may read any source file (postinstall: tsc): the install then copies the whole source.
        "install_scripts": install_scripts,
        "prune_dev_dependencies": prune,
        "prune_command": manager.prune_command() if prune else None,
        # What the prod image leaves out when it prunes: a start that needs one of them fails with its name.
        "dev_only_dependencies": sorted(development - production) if prune else [],
        "workspace_packages": local_packages,
        "node_major": node_major,
        "node_majors": node_majors,
        "node_version": str(node_major),
        "node_range": node_range,
        "dockerfile": dockerfile if app_dir == "." or not dockerfile else _join(app_dir, dockerfile),
        "dockerfile_images": dockerfile_images,
        "targets": targets,
        "build_command": build_command,
        "build_steps": build_steps,
        "start_command": start_command,
        "dev_command": dev_command,
        "source_roots": list(source_roots),
        "processes": processes,
        "migrate_command": migrate_command,
        "schema_sync": schema_sync,
        # The generated client must exist before the build step and in the image (it is not a package).
        "generate_command": generate_command,
        "prisma_schema": schema_path,
        "prisma_dir": prisma_dir if schema_path else None,
        "prisma_provider": provider,
        "port": int(port),
        "health": _health(app_file, overrides),
        "services": services,
        "contract": [env_contract.definition_of(variable) for variable in variables],
        "generated_secrets": [variable.name for variable in variables if variable.generate],
        "local_env": {str(name): env_contract.env_string(value) for name, value in local_env.items()},
        # For a builder at the repository root with the package manager (Railway's): root directory and commands.
        "deploy": deploy,
        # The processes besides web for that builder: {name, start_command, cron_schedule}, each a service of its own.
        "deploy_processes": _deploy_processes(processes, app_dir, bool(members)),
        "detected_from": dict(detected, prisma_schema=schema_from, app_file=APP_FILE if app_file else None),
    }
