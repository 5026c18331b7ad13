# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which Node.js major an app runs on: its own pin (engines.node, .nvmrc, .node-version, Volta) read as npm reads
version ranges, the active LTS when the app says nothing, never an end-of-life line unless the app asks for it.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.backendops.stack.plugins.module_utils.workspaces import read_text

# The majors the collection builds base images for (the npm registry's node-linux-* packages).
SUPPORTED_MAJORS = (20, 22, 24, 26)
# The active LTS line: the default for an app that does not say (as Railway's builder picks an LTS).
LTS_MAJOR = 24
CURRENT_MAJOR = 26
END_OF_LIFE = {20: "2026-04-30"}
# nvm's aliases of the LTS lines by codename.
LTS_CODENAMES = {"hydrogen": 18, "iron": 20, "jod": 22, "krypton": 24}


class VersionRangeError(ValueError):
    """A version range the collection cannot read."""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = text.strip().lstrip("v=").split(".")
    numbers = []
    for part in parts[:3]:
        if part in ("x", "X", "*", ""):
            break
        if not part.isdigit():
            raise VersionRangeError(text)
        numbers.append(int(part))
    return tuple(numbers)


def _comparator_holds(version: tuple[int, ...], comparator: str) -> bool:
    match = re.match(r"^(\^|~|>=|<=|>|<|=)?\s*v?([0-9xX*][0-9A-Za-z.*]*)$", comparator)
    if not match:
        raise VersionRangeError(comparator)
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


def satisfies(version_text: str, range_text: str) -> bool:
    """Whether Node.js version_text (e.g. 20.19.2) is in the npm-style range_text; VersionRangeError if unreadable."""
    version = (_version_tuple(version_text) + (0, 0, 0))[:3]
    text = range_text.strip()
    if text in ("", "*", "x", "latest", "node", "current", "lts/*") or text.startswith("lts/"):
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


def _major_satisfies(major: int, range_text: str) -> bool:
    # A range such as ^22.3 or <22.10 holds for some release of the line: try the line's early and late minors,
    # and the versions the range itself names (an exact pin such as 22.11.0).
    named = [version for version in re.findall(r"\d+(?:\.\d+){0,2}", range_text) if version.split(".")[0] == str(major)]
    candidates = ["%d.%d.0" % (major, minor) for minor in (0, 3, 6, 9, 12, 16, 20, 30, 50, 99)] + named
    return any(satisfies(version, range_text) for version in candidates)


def _alias_major(text: str) -> int | None:
    lowered = text.strip().lower()
    if lowered in ("node", "latest", "current", "stable"):
        return CURRENT_MAJOR
    if lowered in ("lts/*", "lts", "lts/latest"):
        return LTS_MAJOR
    if lowered.startswith("lts/"):
        return LTS_CODENAMES.get(lowered[4:])
    return None


def declared_range(app_dirs: list[str], package: dict) -> tuple[str | None, str | None]:
    """(range, where) the app pins Node.js with: engines.node, Volta, .nvmrc, .node-version (first found)."""
    engines = package.get("engines") if isinstance(package.get("engines"), dict) else {}
    if engines.get("node"):
        return str(engines["node"]), "package.json engines.node"
    volta = package.get("volta") if isinstance(package.get("volta"), dict) else {}
    if volta.get("node"):
        return str(volta["node"]), "package.json volta.node"
    for directory in app_dirs:
        for name in (".nvmrc", ".node-version"):
            text = read_text(os.path.join(directory, name))
            if text and text.strip():
                return text.strip().splitlines()[0].strip(), name
    return None, None


def choose_major(range_text: str | None, where: str | None) -> int:
    """The major to build with: the LTS when it is allowed, else the newest supported major the range allows."""
    if not range_text:
        return LTS_MAJOR
    alias = _alias_major(range_text)
    if alias is not None:
        if alias not in SUPPORTED_MAJORS:
            raise VersionRangeError("%s %r names Node.js %s, which the collection has no base image for: use one of %s"
                                    % (where, range_text, alias, ", ".join(map(str, SUPPORTED_MAJORS))))
        return alias
    try:
        allowed = [major for major in SUPPORTED_MAJORS if _major_satisfies(major, range_text)]
    except VersionRangeError:
        raise VersionRangeError("%s %r is not a version range the collection reads: write e.g. >=22 or 24.x, or set "
                                "the profile's node_version" % (where, range_text)) from None
    if not allowed:
        raise VersionRangeError("%s asks for Node.js %s, which no supported line (%s) satisfies: widen it or set the "
                                "profile's node_version" % (where, range_text, ", ".join(map(str, SUPPORTED_MAJORS))))
    return LTS_MAJOR if LTS_MAJOR in allowed else max(allowed)


def major_of(text: str | int) -> int:
    """The major of a node_version override (24, "22", "22.3.0", "v24")."""
    match = re.match(r"^v?(\d+)(?:\.\d+){0,2}$", str(text).strip())
    if not match:
        raise VersionRangeError("node_version %s must be a Node.js major or version, e.g. 24 or 22.12.0" % json.dumps(text))
    major = int(match.group(1))
    if major not in SUPPORTED_MAJORS:
        raise VersionRangeError("node_version %s: the collection builds Node.js %s" % (
            json.dumps(text), ", ".join(map(str, SUPPORTED_MAJORS))))
    return major
