# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app's package manager (npm, pnpm, yarn 1, yarn berry) as Railway's builder picks it - the packageManager
field, then the lockfile - and the commands a build runs with it: a frozen install, scripts, production pruning.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ansible_collections.backendops.stack.plugins.module_utils.workspaces import read_text

LOCKFILES = {"package-lock.json": "npm", "npm-shrinkwrap.json": "npm", "pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn",
             "bun.lockb": "bun", "bun.lock": "bun"}
# Versions when the app names none: yarn 1's last release; pnpm by the lockfile format it wrote.
YARN_CLASSIC = "1.22.22"
YARN_BERRY = "4"
PNPM_BY_LOCKFILE = {"9": "10", "6": "8", "5": "7"}
# Files the package manager reads besides the manifests and lockfile (copied before the install).
CONFIG_FILES = (".npmrc", ".yarnrc", ".yarnrc.yml", "pnpm-workspace.yaml", ".pnpmfile.cjs")
CONFIG_DIRS = (".yarn/releases", ".yarn/plugins", ".yarn/patches", "patches")
# The scripts an install runs in the app's own packages (npm, pnpm and yarn alike).
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepare")


class PackageManagerError(ValueError):
    """The package manager cannot be determined or used; one line naming the fix."""


@dataclass(frozen=True)
class PackageManager:
    name: str  # npm, pnpm or yarn
    version: str | None  # exact or a major; None: the base image's (npm only)
    lockfile: str
    source: str  # where the choice came from

    @property
    def berry(self) -> bool:
        return self.name == "yarn" and not (self.version or YARN_CLASSIC).startswith("1")

    @property
    def spec(self) -> str:
        return "%s@%s" % (self.name, self.version) if self.version else self.name

    def setup_command(self) -> str | None:
        """Installs this package manager into a build image from the npm registry (the image has npm and yarn 1)."""
        if self.name == "npm":
            return "npm install -g npm@%s" % self.version if self.version else None
        if self.name == "pnpm":
            return "npm install -g pnpm@%s" % self.version
        if self.berry:
            # A committed yarnPath release is run by any yarn; else yarn berry's own distribution package.
            return "npm install -g --force @yarnpkg/cli-dist@%s" % self.version
        return "npm install -g --force yarn@%s" % self.version

    def install_command(self) -> str:
        """A frozen install: the lockfile is the truth, as on Railway and Heroku."""
        if self.name == "npm":
            return "npm ci --include=dev --no-audit --no-fund"
        if self.name == "pnpm":
            return "pnpm install --frozen-lockfile --prod=false"
        if self.berry:
            return "yarn install --immutable"
        return "yarn install --frozen-lockfile --production=false --non-interactive"

    def run(self, script: str) -> str:
        return "%s run %s" % (self.name, script)

    def exec_bin(self, command: str) -> str:
        """command (a program of node_modules/.bin and its arguments) run through the package manager."""
        if self.name == "pnpm":
            return "pnpm exec " + command
        if self.name == "yarn":
            return "yarn " + command
        return "npx " + command

    def prune_command(self) -> str | None:
        """Removes devDependencies from an installed tree, keeping the production ones; None: cannot."""
        if self.name == "npm":
            return "npm prune --omit=dev --no-audit --no-fund"
        if self.name == "pnpm":
            return "pnpm prune --prod --ignore-scripts"
        if self.berry:
            return "yarn workspaces focus --all --production"
        return "yarn install --frozen-lockfile --production=true --ignore-scripts --prefer-offline --non-interactive"


def _packagemanager_field(package: dict) -> tuple[str, str | None] | None:
    value = package.get("packageManager")
    if not isinstance(value, str) or not value.strip():
        return None
    match = re.match(r"^(npm|pnpm|yarn|bun)(?:@([0-9][^+\s]*))?(?:\+\S+)?$", value.strip())
    if not match:
        raise PackageManagerError("package.json packageManager %r is not <npm|pnpm|yarn>@<version>: fix it, e.g. "
                                  "\"pnpm@10.12.1\"" % value)
    return match.group(1), match.group(2)


def _default_version(name: str, root: str, lockfile: str) -> str | None:
    if name == "pnpm":
        text = read_text(os.path.join(root, lockfile)) or ""
        match = re.search(r"^lockfileVersion:\s*'?(\d+)", text, re.M)
        return PNPM_BY_LOCKFILE.get(match.group(1) if match else "9", "10")
    if name == "yarn":
        text = read_text(os.path.join(root, lockfile)) or ""
        if "__metadata:" in text or os.path.isfile(os.path.join(root, ".yarnrc.yml")):
            return YARN_BERRY
        return YARN_CLASSIC
    return None


def detect(root: str, package: dict) -> PackageManager:
    """The package manager of the (workspace) root, from its packageManager field, then its lockfile."""
    present = [name for name in LOCKFILES if os.path.isfile(os.path.join(root, name))]
    declared = _packagemanager_field(package)
    if declared and declared[0] == "bun" or (not declared and present and LOCKFILES[present[0]] == "bun"):
        raise PackageManagerError("%s uses bun, which the collection does not build: use npm, pnpm or yarn" % root)
    if declared:
        name, version = declared
        lockfile = next((lock for lock in present if LOCKFILES[lock] == name), None)
        if lockfile is None:
            raise PackageManagerError(
                "%s names %s in package.json packageManager but has no %s lockfile: run `%s install` there and commit "
                "it (builds install from the lockfile)" % (root, name, name, name))
        if name == "yarn" and not version:
            version = _default_version(name, root, lockfile)
        if name == "pnpm" and not version:
            version = _default_version(name, root, lockfile)
        return PackageManager(name, version, lockfile, "package.json packageManager")
    managers = sorted({LOCKFILES[lock] for lock in present})
    if not managers:
        raise PackageManagerError("%s has no lockfile: run `npm install` (or pnpm/yarn install) there and commit the "
                                  "lockfile (builds install from it, as Railway does)" % root)
    if len(managers) > 1:
        raise PackageManagerError("%s has lockfiles of %s (%s): delete the stale one, or name the package manager in "
                                  "package.json packageManager, e.g. \"%s@<version>\""
                                  % (root, " and ".join(managers), ", ".join(present), managers[0]))
    lockfile = present[0]
    name = LOCKFILES[lockfile]
    return PackageManager(name, _default_version(name, root, lockfile), lockfile, lockfile)


def plug_n_play(root: str, manager: PackageManager) -> bool:
    """Yarn berry without the node-modules linker (Plug'n'Play, its default)."""
    if not manager.berry:
        return False
    text = read_text(os.path.join(root, ".yarnrc.yml")) or ""
    match = re.search(r"^nodeLinker:\s*[\"']?([\w-]+)", text, re.M)
    return not match or match.group(1) != "node-modules"


def config_paths(root: str) -> list[str]:
    """The package manager's own files and folders (with a trailing /) present in root, copied with the manifests."""
    found = [name for name in CONFIG_FILES if os.path.isfile(os.path.join(root, name))]
    return found + [name + "/" for name in CONFIG_DIRS if os.path.isdir(os.path.join(root, name))]


_RUN_RE = re.compile(r"^\s*(?:npm|pnpm|yarn)\s+(?:run(?:-script)?\s+)?([\w:.-]+)\s*$")
_PM_BUILTINS = {"install", "add", "ci", "exec", "dlx", "x", "i", "test", "workspace", "workspaces"}


def script_called(command: str | None) -> str | None:
    """The script `npm start`, `pnpm run X`, `yarn X` runs, or None for other commands."""
    match = _RUN_RE.match(command or "")
    if not match or match.group(1) in _PM_BUILTINS:
        return None
    return match.group(1)
