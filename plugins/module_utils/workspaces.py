# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""npm, yarn and pnpm workspaces: the workspace root of an app, its packages, and the ones an app depends on."""

from __future__ import annotations

import glob
import json
import os

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

DEPENDENCY_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


class WorkspaceError(ValueError):
    """The workspace cannot be read; one line naming the fix."""


def read_text(path: str) -> str | None:
    """A text file of the app, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def read_package(directory: str) -> dict | None:
    path = os.path.join(directory, "package.json")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise WorkspaceError("%s is not valid JSON (%s): fix it" % (path, exc)) from None
    if not isinstance(data, dict):
        raise WorkspaceError("%s must hold a JSON object" % path)
    return data


def patterns(root: str, package: dict | None) -> list[str]:
    """The workspace globs of root: package.json workspaces (npm, yarn) or pnpm-workspace.yaml packages."""
    found: list[str] = []
    declared = (package or {}).get("workspaces")
    if isinstance(declared, dict):
        declared = declared.get("packages")
    if isinstance(declared, list):
        found += [str(item) for item in declared]
    pnpm_file = os.path.join(root, "pnpm-workspace.yaml")
    if os.path.isfile(pnpm_file) and yaml is not None:
        try:
            with open(pnpm_file, encoding="utf-8") as handle:
                data = yaml.safe_load(handle) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise WorkspaceError("%s cannot be read (%s): fix it" % (pnpm_file, " ".join(str(exc).split()))) from None
        if isinstance(data, dict) and isinstance(data.get("packages"), list):
            found += [str(item) for item in data["packages"]]
    return found


def packages(root: str, globs: list[str]) -> dict[str, str]:
    """{package name: directory relative to root} of the workspace's packages."""
    included: set[str] = set()
    excluded: set[str] = set()
    for pattern in globs:
        target = excluded if pattern.startswith("!") else included
        pattern = pattern.lstrip("!").rstrip("/")
        for path in glob.glob(os.path.join(root, pattern), recursive=True):
            if os.path.isfile(os.path.join(path, "package.json")) and "node_modules" not in path.split(os.sep):
                target.add(os.path.relpath(path, root))
    found = {}
    for directory in sorted(included - excluded):
        package = read_package(os.path.join(root, directory)) or {}
        found[str(package.get("name") or directory)] = directory
    return found


def find_root(app_dir: str) -> str | None:
    """The workspace root above app_dir whose workspaces include it, or None."""
    current = os.path.dirname(app_dir)
    while True:
        package = read_package(current) if os.path.isfile(os.path.join(current, "package.json")) else None
        globs = patterns(current, package)
        if globs and os.path.relpath(app_dir, current) in packages(current, globs).values():
            return current
        if os.path.isdir(os.path.join(current, ".git")):
            return None
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def dependency_names(package: dict) -> set[str]:
    names: set[str] = set()
    for section in DEPENDENCY_SECTIONS:
        if isinstance(package.get(section), dict):
            names.update(package[section])
    return names


def local_dependencies(root: str, app_dir: str, members: dict[str, str]) -> list[str]:
    """Directories of the workspace packages app_dir depends on, transitively, dependencies first."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(directory: str) -> None:
        if directory in ordered or directory in visiting:
            return
        visiting.add(directory)
        package = read_package(os.path.join(root, directory)) or {}
        for name in sorted(dependency_names(package)):
            if name in members and members[name] != directory:
                visit(members[name])
        visiting.discard(directory)
        ordered.append(directory)

    visit(app_dir)
    return [directory for directory in ordered if directory != app_dir]
