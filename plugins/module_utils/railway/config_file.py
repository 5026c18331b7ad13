# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An app's own railway.json / railway.toml (Railway's config as code), read into the settings the API sets.

Railway stopped reading these files on 2026-12-01, so what a team kept there would silently be lost; the release
reads the file and sets the same settings through serviceInstanceUpdate. What the API cannot set is named, never
dropped silently. The release modules run on the controller, where the role's Python reads the file. The release can
also write the settings it set as a railway.json (config_document, write), a record of them.
"""

from __future__ import annotations

import json
import os

try:
    import tomllib  # Python 3.11+
except ImportError:  # pragma: no cover - older controllers read railway.json only
    tomllib = None

from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file
from ansible_collections.backendops.stack.plugins.module_utils.railway.settings import SETTINGS, api_value, kind_text, typed

CONFIG_FILE_SCHEMA = "https://railway.com/railway.schema.json"
# Read from an app's file, never written: Railway's file format deprecated it for multiRegionConfig.
READ_ONLY_CONFIG_PATHS = (("deploy", "numReplicas"),)
# The railway CLI prefers railway.toml over railway.json in the same directory.
FILE_NAMES = ("railway.toml", "railway.json")
# Keys of the file that carry no setting: the JSON schema's address and the per-environment blocks (read below).
_IGNORED_TOP = ("$schema", "environments")
_BY_PATH = {setting.config_path: setting for setting in SETTINGS if setting.config_path}
# The API's Builder enum has no DOCKERFILE: Railway builds with a Dockerfile whenever it finds one (dockerfilePath).
_NOT_A_BUILDER = "DOCKERFILE"


class ConfigFileError(ValueError):
    """The file cannot be read as config as code; the message names the file and the fix."""


def find(source: str | None, directory: str | None) -> str | None:
    """The file to read: ``source`` (a file, or a directory to look in), else railway.toml or railway.json in
    ``directory``; None when there is none. A given file that does not exist fails."""
    if source:
        if os.path.isdir(source):
            directory = source
        elif os.path.isfile(source):
            return source
        else:
            raise ConfigFileError("config_file_source %s is not a file; fix the path, or set it to '' to read "
                                  "no railway.json" % source)
    for name in FILE_NAMES if directory else ():
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def load(path: str) -> dict:
    """The file's document (JSON or TOML by its extension)."""
    toml = path.endswith(".toml")
    if toml and tomllib is None:
        raise ConfigFileError("%s is TOML, which needs Python 3.11 or later on the controller (tomllib); convert it to "
                              "railway.json or run Ansible with a newer Python" % path)
    try:
        with open(path, "rb") as stream:
            document = tomllib.load(stream) if toml else json.loads(stream.read().decode("utf-8"))
    except OSError as exc:
        raise ConfigFileError("%s cannot be read (%s); fix its permissions or config_file_source" % (
            path, exc.strerror or exc))
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        raise ConfigFileError("%s is not valid %s: %s; fix the file or set config_file_source to ''" % (
            path, "TOML" if toml else "JSON", " ".join(str(exc).split())))
    if not isinstance(document, dict):
        raise ConfigFileError("%s must hold an object with build and deploy sections" % path)
    return document


def _section_settings(name: str, block, where: str, settings: dict, unset: list) -> None:
    """Read the build and deploy sections of ``block`` into ``settings``; name what the API cannot set in ``unset``."""
    for section in ("build", "deploy"):
        values = block.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            unset.append("%s%s (not a section)" % (where, section))
            continue
        for key, value in values.items():
            setting = _BY_PATH.get((section, key))
            if value is None:
                continue  # null in config as code means "as in the service's settings"
            if setting is None:
                unset.append("%s%s.%s" % (where, section, key))
                continue
            if setting.option == "builder" and str(value).upper() == _NOT_A_BUILDER:
                unset.append("%s%s.%s=%s (Railway builds with a Dockerfile when it finds one; set dockerfilePath)"
                             % (where, section, key, value))
                continue
            try:
                settings[setting.option] = typed(setting.option, value)
            except (TypeError, ValueError):
                raise ConfigFileError("%s: %s%s.%s must be %s, not %r; fix the file or set %s in settings"
                                      % (name, where, section, key, kind_text(setting.option), value, setting.option))


def read(path: str, environment: str | None = None) -> tuple:
    """(settings, unset) of the file at ``path``: the settings with railway_service's option names (the block of
    ``environment`` under ``environments`` over the base file, as Railway resolves them), and the keys the API
    cannot set."""
    document = load(path)
    settings, unset = {}, []
    unset += sorted(key for key in document if key not in _IGNORED_TOP and key not in ("build", "deploy"))
    _section_settings(path, document, "", settings, unset)
    environments = document.get("environments") or {}
    block = environments.get(environment) if isinstance(environments, dict) and environment else None
    if isinstance(block, dict):
        where = "environments.%s." % environment
        unset += sorted(where + key for key in block if key not in ("build", "deploy"))
        _section_settings(path, block, where, settings, unset)
    return settings, unset


def config_document(settings):
    """The same settings as a railway.json document; numbers stay numbers, as Railway's parser wants."""
    document = {"$schema": CONFIG_FILE_SCHEMA, "build": {}, "deploy": {}}
    for setting in SETTINGS:
        value = settings.get(setting.option)
        if setting.config_path and setting.config_path not in READ_ONLY_CONFIG_PATHS and value not in (None, "", [], {}):
            section, field = setting.config_path
            document[section][field] = api_value(setting.option, value)
    return document


def write(path: str, document: dict, check_mode: bool) -> bool:
    """Write railway.json when its content differs (atomically, mode 0644); True when it changed (or would)."""
    content = json.dumps(document, indent=2) + "\n"
    try:
        with open(path) as existing:
            if existing.read() == content:
                return False
    except OSError:
        pass
    if not check_mode:
        replace_file(path, content.encode("utf-8"), 0o644)
    return True
