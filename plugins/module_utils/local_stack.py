# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The local stack's environment: secrets kept across runs, and the backend's variables from the app profile.

Pure Python, used by the local_stack and stack_run modules.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

from ansible_collections.backendops.stack.plugins.module_utils import migrations
from ansible_collections.backendops.stack.plugins.module_utils.dotenv import parse
from ansible_collections.backendops.stack.plugins.module_utils.env_contract import env_string
from ansible_collections.backendops.stack.plugins.module_utils.secret_values import generate_secret

# Keys of the stack's .env: <SERVICE>__<name in /run/secrets>.
SECRET_PREFIXES = ("BACKEND__", "POSTGRES__")
SECRETS_FILE = ".env"
# One JSON line per run that changed the stack (release_record).
RELEASES_FILE = "releases.jsonl"
_STACK_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")


def read_previous_secrets(project_dir):
    """Secrets of an earlier run, by their names in /run/secrets, from the stack's .env ({} before the first run)."""
    try:
        with open(os.path.join(project_dir, SECRETS_FILE), "rb") as handle:
            text = handle.read().decode("utf-8")
    except FileNotFoundError:
        return {}
    return {key.split("__", 1)[1]: value for key, value in parse(text).items() if key.startswith(SECRET_PREFIXES)}


def valid_stack_name(name):
    """It names the compose project, its containers, network and volumes."""
    return bool(_STACK_NAME_RE.match(name or ""))


def generated_names(profile):
    """Secrets the stack generates once: PostgreSQL's password and the contract's `generate: true` variables."""
    names = ["POSTGRES_PASSWORD"] if profile["services"].get("postgres") else []
    return names + [name for name in profile.get("generated_secrets", ()) if name not in names]


def stack_environment(profile, previous, user_env, mode, db_user="app", db_name="app", secret_length=48):
    """{'secrets': generated secrets (kept from previous when there), 'backend_env': the backend's variables}.

    The backend's variables, lowest first: the app's local_env, the computed ones (NODE_ENV, PORT, the service
    URLs, generated secrets), then user_env. Values are env text (booleans true/false, numbers in decimal).
    """
    generated = {}
    for name in generated_names(profile):
        generated[name] = previous.get(name) or generate_secret(secret_length)
    computed = {"NODE_ENV": "production" if mode == "prod" else "development", "PORT": str(profile["port"])}
    if profile["services"].get("postgres"):
        computed["DATABASE_URL"] = "postgresql://%s:%s@postgres:5432/%s" % (
            quote(db_user, safe=""), quote(generated["POSTGRES_PASSWORD"], safe=""), db_name)
    if profile["services"].get("redis"):
        computed["REDIS_URL"] = "redis://redis:6379/0"
    computed.update({name: value for name, value in generated.items() if name != "POSTGRES_PASSWORD"})
    env = {}
    for source in (profile.get("local_env") or {}, computed, user_env or {}):
        for name, value in source.items():
            try:
                env[str(name)] = env_string(value)
            except TypeError:
                env[str(name)] = value  # the contract check names it, without the value
    return {"secrets": generated, "backend_env": env}


_MISSING_MODULE_RE = re.compile(r"Cannot find (?:module|package) '([^']+)'")


def pruned_module_hint(logs, profile):
    """A hint when a process died for a devDependency the prod image left out, else ''."""
    for name in _MISSING_MODULE_RE.findall(logs or ""):
        package = "/".join(name.split("/")[:2]) if name.startswith("@") else name.split("/")[0]
        if package in (profile.get("dev_only_dependencies") or ()):
            return (" %s is a devDependency, which the prod image leaves out: move it to dependencies, or set the "
                    "profile's prune_dev_dependencies to false (in the profile's overrides)." % package)
    return ""


# What Prisma's CLI prints when nothing is left to apply (migrate deploy) or the schema is in place (db push).
_PRISMA_DONE = {"migrate deploy": ("No pending migrations to apply", "All migrations have been successfully applied",
                                   "have been applied"),
                "db push": ("in sync with your Prisma schema", "already in sync with the Prisma schema")}


def migrations_pending(migrate_command, logs):
    """Why the migrate step's log does not show its migrations applied, else None (also for non-Prisma commands)."""
    for step, done in _PRISMA_DONE.items():
        if "prisma %s" % step in (migrate_command or ""):
            if any(text in (logs or "") for text in done):
                return None
            return "prisma %s did not report the database up to date" % step
    return None


def migrations_digest(profile):
    """sha256 of the app's Prisma migrations (each file's path and bytes), or of its schema for `db push`; None when
    the profile names no Prisma schema (an own migrate command: what it would apply is not known)."""
    schema = profile.get("prisma_schema")
    if not schema or not profile.get("source_dir"):
        return None
    schema_path = os.path.join(profile["source_dir"], schema)
    found = migrations.directory_digest(os.path.join(os.path.dirname(schema_path), "migrations"))
    if found is None and os.path.isfile(schema_path):
        found = migrations.files_digest(os.path.dirname(schema_path), [schema_path])
    return "sha256:" + found if found else None


# The services that hold the stack's data: a rollback keeps their images as they run.
DATA_SERVICES = ("postgres", "redis")
# The outcomes of a record whose images served when its run ended.
SERVING_OUTCOMES = ("released", "rolled back")


def schema_may_change(digest, records):
    """Whether the migrate step may change the schema: the migrations' digest differs from the one of the release
    that serves (the last released or rolled-back record); unknown (None) counts as pending."""
    if digest is None:
        return True
    serving = [record for record in records if record.get("outcome") in SERVING_OUTCOMES]
    return not serving or serving[-1].get("migrations_digest") != digest


_APPLYING_RE = re.compile(r"Applying migration `([^`]+)`")
# Prisma 6 lists them as a tree after "The following migration(s) have been applied:": "  \u2514\u2500 NAME/".
_TREE_FOLDER_RE = re.compile(r"[\u2514\u251c]\u2500 ([^\s/]+)/[ \t]*$", re.M)


def applied_migrations(logs):
    """The migrations Prisma's `migrate deploy` applied, by name, from its log."""
    text = logs or ""
    named = _APPLYING_RE.findall(text)
    if named:
        return named
    _before, found, tree = text.partition("have been applied:")
    return _TREE_FOLDER_RE.findall(tree) if found else []


def rollback_target(records):
    """(serving record, the record to bring back) from the stack's records, or a one-line reason there is none.

    The serving release is the last released or rolled-back record; the one brought back is the last such record
    before it whose app images differ (a re-run of the same images is not a version).
    """

    def app_images(record):
        return {service: ref for service, ref in record["images"].items() if service not in DATA_SERVICES}

    serving = [record for record in records if record.get("outcome") in SERVING_OUTCOMES and record.get("images")]
    if not serving:
        return None, None, "no release of this stack is recorded"
    current = serving[-1]
    for record in reversed(serving[:-1]):
        if app_images(record) != app_images(current):
            return current, record, None
    return current, None, "no earlier release with other images is recorded"
