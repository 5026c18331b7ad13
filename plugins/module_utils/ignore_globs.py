# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Glob to regex translation shared by the ``.dockerignore`` matcher (build_context) and the ``.gitignore`` /
``.railwayignore`` matcher (source_archive).

Both dialects agree on ``*`` and ``?`` (never across a ``/``), ``\\`` escapes, ``[...]`` classes and ``**`` as a whole
path segment (any depth). They differ in three places, chosen by ``gitignore``:

- a ``**`` inside a name: Docker lets it span directories, gitignore reads it as ``*``;
- a class opened by ``!``: gitignore negates it, Docker (Go's ``filepath.Match``) only negates with ``^``;
- an unclosed ``[``: Docker rejects the pattern, gitignore reads the ``[`` literally.
"""

from __future__ import annotations

import re


class GlobError(ValueError):
    """A pattern the dialect rejects (Docker: an unclosed character class)."""


def glob_to_regex(glob, gitignore=False):
    """Regex body (no anchors) for one glob of the given dialect."""
    out = []
    index, length = 0, len(glob)
    while index < length:
        char = glob[index]
        if glob.startswith("**", index):
            end = index + 2
            whole_segment = (index == 0 or glob[index - 1] == "/") and (end == length or glob[end] == "/")
            if gitignore and not whole_segment:
                out.append("[^/]*")
                index = end
                continue
            if glob[end:end + 1] == "/":
                end += 1
            # At the end: everything below; before more pattern: zero or more directories.
            out.append(".*" if end >= length else "(?:.*/)?")
            index = end
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < length:
            index += 1
            out.append(re.escape(glob[index]))
        elif char == "[":
            # A ']' right after the '[' (or after its negation) is a member, not the end.
            end = glob.find("]", index + 2)
            if end < 0:
                if not gitignore:
                    raise GlobError("unterminated character class")
                out.append(re.escape(char))
            else:
                body = glob[index + 1:end]
                if gitignore:
                    if body[:1] in ("!", "^"):
                        body = "^" + body[1:]
                    body = body.replace("\\", "\\\\")
                out.append("[" + body + "]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)
