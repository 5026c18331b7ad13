#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: build_context_digest
short_description: Content digest of a Docker build context, for content-addressed image tags
version_added: 0.1.0
description:
  - Computes a SHA-256 digest over a Docker build context directory, the way the context is sent to the engine.
    The digest covers the sorted relative paths, the entry types and permission bits, the file contents and symlink
    targets. Modification times, owners and the order in which the file system lists entries do not count, so the
    digest is stable across checkouts and runs.
  - Entries that the build's ignore file excludes do not count. Like BuildKit, the module uses
    C(<Dockerfile>.dockerignore) beside the Dockerfile when it exists (a Dockerfile kept outside the context), else the
    context's C(.dockerignore), with Docker's semantics
    (C(name), C(dir/), C(*.ext) at the context root, C(**/x) at any depth, C(!negation), last match wins).
    Nothing is excluded implicitly, not even C(.git) or C(node_modules).
  - The Dockerfile and the C(.dockerignore) file always count, even when C(.dockerignore) excludes them, since they
    shape the build.
  - This is the image tag rule of the backendops.stack collection - build an image only when no image is tagged
    with RV(tag) yet, and a second run builds nothing.
  - Runs on the Docker host, so the context is read where the engine builds it.
author:
  - backendops.stack maintainers (@backendops)
attributes:
  check_mode:
    support: full
    description: The module only reads, so it runs unchanged in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so there is nothing to diff.
options:
  path:
    description:
      - The build context directory.
    type: path
    required: true
  dockerfile:
    description:
      - The Dockerfile, relative to O(path) or absolute. It counts in the digest even when it lies outside the
        context or C(.dockerignore) excludes it.
    type: path
    default: Dockerfile
  extra:
    description:
      - Strings that change what is built without being files of the context, for example the base image ID or
        build arguments (C(NAME=value)). They are mixed into the digest in the given order.
      - Never put secret values here; mix in a hash of them if a secret must trigger a rebuild.
    type: list
    elements: str
    default: []
notes:
  - Character classes (C([a-z])) and C(?) follow Docker's pattern rules; like Docker, C(*) never matches a C(/),
    so C(*.log) excludes log files at the context root only and C(**/*.log) excludes them everywhere.
seealso:
  - module: community.docker.docker_image_build
  - name: Docker .dockerignore reference
    description: The pattern rules this module follows.
    link: https://docs.docker.com/build/concepts/context/#dockerignore-files
"""

EXAMPLES = r"""
- name: Digest the app's build context
  backendops.stack.build_context_digest:
    path: /srv/app
    extra:
      - "{{ base_image_info.images[0].Id }}"
      - "NODE_ENV=production"
  register: app_context

- name: Build the app image only when its content changed
  community.docker.docker_image_build:
    name: backendops/app
    tag: "{{ app_context.tag }}"
    path: /srv/app
"""

RETURN = r"""
digest:
  description: SHA-256 hex digest of the context, the Dockerfile and O(extra).
  returned: success
  type: str
  sample: 3f7a9c0d52e14b7f8a0c6e2d9b1f4a7c5e8d0b2a4c6e8f0a1b3c5d7e9f1a3b5c
tag:
  description: The first 12 hex characters of RV(digest), meant as the image tag.
  returned: success
  type: str
  sample: 3f7a9c0d52e1
files:
  description: Number of context entries (files, directories, symlinks) that count in the digest.
  returned: success
  type: int
  sample: 42
excluded:
  description: Number of context entries that C(.dockerignore) excluded (an excluded directory counts once).
  returned: success
  type: int
  sample: 3
"""

import hashlib
import os
import re
import stat

from ansible.module_utils.basic import AnsibleModule

# Bump when the digest layout changes: every tag changes with it, which forces one rebuild.
DIGEST_SCHEME = b"backendops.stack/build-context/v1"
TAG_LENGTH = 12
CHUNK_SIZE = 1024 * 1024
DOCKERIGNORE = ".dockerignore"


class ContextError(Exception):
    """An expected failure, reported as one line naming the bad input."""


class IgnorePattern:
    """One .dockerignore line, compiled like moby/patternmatcher does."""

    def __init__(self, text):
        self.exclusion = text.startswith("!")
        if self.exclusion:
            text = text[1:]
        self.text = text
        self.part_regexes = [_segment_regex(part) for part in text.split("/")]
        try:
            self.regex = re.compile(_pattern_to_regex(text))
        except re.error as exc:
            raise ContextError("invalid .dockerignore pattern %r (%s): fix or escape it" % (text, exc)) from exc

    def matches(self, rel_path):
        return self.regex.match(rel_path) is not None

    def matches_self_or_parent(self, rel_path):
        if self.matches(rel_path):
            return True
        parents = rel_path.split("/")[:-1]
        return any(self.matches("/".join(parents[:i + 1])) for i in range(len(parents)))

    def could_match_below(self, dir_parts):
        """False only when no path inside the directory can match (lets the walk skip e.g. node_modules)."""
        for index, part in enumerate(dir_parts):
            if index >= len(self.part_regexes) or self.part_regexes[index] is None:
                return True
            if not self.part_regexes[index].match(part):
                return False
        return True


def _segment_regex(segment):
    """Regex for one path segment of a pattern, or None where a segment alone cannot decide (`**`, odd classes)."""
    if "**" in segment:
        return None
    try:
        return re.compile(_pattern_to_regex(segment))
    except (ContextError, re.error):
        return None


def _pattern_to_regex(pattern):
    """Docker's pattern rules: `*` and `?` stop at `/`, `**` spans directories, `\\` escapes."""
    out = ["^"]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            if pattern[index + 1:index + 2] == "*":
                index += 2
                if pattern[index:index + 1] == "/":
                    index += 1
                out.append(".*" if index >= len(pattern) else "(.*/)?")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            # Character classes pass through unchanged, as in Docker.
            end = pattern.find("]", index + 2)
            if end < 0:
                raise ContextError("unterminated character class in .dockerignore pattern %r: close it with ']' or escape the '['" % pattern)
            out.append(pattern[index:end + 1])
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    out.append("$")
    return "".join(out)


def parse_dockerignore(text):
    """Patterns of a .dockerignore file, cleaned like Docker does (comments, blanks, leading `/`, `dir/`)."""
    patterns = []
    for line in text.lstrip("\ufeff").splitlines():
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        line = os.path.normpath(line).replace(os.sep, "/")
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/")
        if line in ("", "."):
            continue
        patterns.append(IgnorePattern(("!" if negate else "") + line))
    return patterns


class DockerIgnore:
    """Decides which context entries Docker would send."""

    def __init__(self, patterns):
        self.patterns = patterns
        self.negations = [pattern for pattern in patterns if pattern.exclusion]

    @staticmethod
    def file_for(context, dockerfile_path):
        """The ignore file BuildKit applies: <Dockerfile>.dockerignore beside the Dockerfile, else the context's."""
        for candidate in (dockerfile_path + DOCKERIGNORE, os.path.join(context, DOCKERIGNORE)):
            if os.path.isfile(candidate):
                return candidate
        return None

    @classmethod
    def from_file(cls, ignore_file):
        if ignore_file is None:
            return cls([])
        try:
            with open(ignore_file, "r", encoding="utf-8") as handle:
                return cls(parse_dockerignore(handle.read()))
        except (OSError, UnicodeDecodeError) as exc:
            raise ContextError("cannot read %s: %s" % (ignore_file, exc)) from exc

    def excluded(self, rel_path):
        """Last matching pattern wins; a pattern matching a parent directory matches its contents."""
        matched = False
        for pattern in self.patterns:
            # An exclusion only matters once something matched, an inclusion only until then.
            if pattern.exclusion != matched:
                continue
            if pattern.matches_self_or_parent(rel_path):
                matched = not pattern.exclusion
        return matched

    def can_skip_dir(self, rel_path):
        parts = rel_path.split("/")
        return not any(pattern.could_match_below(parts) for pattern in self.negations)


def _hash_file(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ContextError("cannot read %s: %s; make it readable or exclude it in %s" % (path, exc.strerror, DOCKERIGNORE)) from exc
    return digest.hexdigest()


def _raise_walk_error(exc):
    raise ContextError("cannot list %s: %s; make it readable or exclude it in %s" % (exc.filename, exc.strerror, DOCKERIGNORE)) from exc


def _entry_record(kind, rel_path, mode, payload):
    # NUL never occurs in paths, so the fields cannot run into each other.
    return b"\0".join((kind, os.fsencode(rel_path), b"%o" % stat.S_IMODE(mode), payload)) + b"\n"


def _describe(full_path, rel_path, st):
    if stat.S_ISLNK(st.st_mode):
        return _entry_record(b"L", rel_path, st.st_mode, os.fsencode(os.readlink(full_path)))
    if stat.S_ISDIR(st.st_mode):
        return _entry_record(b"D", rel_path, st.st_mode, b"")
    if stat.S_ISREG(st.st_mode):
        return _entry_record(b"F", rel_path, st.st_mode, _hash_file(full_path).encode())
    # Sockets, FIFOs and devices have no content Docker could send.
    return _entry_record(b"O", rel_path, st.st_mode, b"")


def walk_context(context, ignore, always_count=frozenset()):
    """Entries Docker sends from a context as [(relative path, full path)], and the number excluded.

    Paths in always_count are kept even when excluded (if the walk reaches them).
    """
    entries = []
    excluded = 0
    for root, dirs, files in os.walk(context, onerror=_raise_walk_error):
        rel_root = os.path.relpath(root, context)
        rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
        kept_dirs = []
        for name in sorted(dirs):
            rel_path = rel_root + name
            full_path = os.path.join(root, name)
            if os.path.islink(full_path):
                # os.walk lists symlinks to directories as directories; Docker sends them as links.
                files.append(name)
                continue
            if ignore.excluded(rel_path):
                excluded += 1
                if ignore.can_skip_dir(rel_path):
                    continue
            else:
                entries.append((rel_path, full_path))
            kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in files:
            rel_path = rel_root + name
            full_path = os.path.join(root, name)
            if full_path not in always_count and ignore.excluded(rel_path):
                excluded += 1
                continue
            entries.append((rel_path, full_path))
    return entries, excluded


def context_digest(context, extra=(), dockerfile="Dockerfile"):
    """Return (hex digest, counted entries, excluded entries) of a build context."""
    if not os.path.isdir(context):
        raise ContextError("build context %s is not a directory: point path at the directory that holds the Dockerfile" % context)
    dockerfile_path = os.path.normpath(os.path.join(context, dockerfile))
    if not os.path.isfile(dockerfile_path):
        raise ContextError("Dockerfile %s not found: set dockerfile to its path relative to %s" % (dockerfile_path, context))
    ignore_file = DockerIgnore.file_for(context, dockerfile_path)
    ignore = DockerIgnore.from_file(ignore_file)

    # The Dockerfile and the ignore file shape the build even where they exclude themselves.
    always_count = {dockerfile_path, os.path.join(context, DOCKERIGNORE)}
    entries, excluded = walk_context(context, ignore, always_count)
    records = [_describe(full_path, rel_path, os.lstat(full_path)) for rel_path, full_path in entries]
    dockerfile_counted = any(full_path == dockerfile_path for _rel_path, full_path in entries)

    if not dockerfile_counted:
        # Outside the context, or inside a directory the walk skipped.
        records.append(_entry_record(b"X", "<dockerfile>", os.stat(dockerfile_path).st_mode, _hash_file(dockerfile_path).encode()))
    if ignore_file is not None and os.path.dirname(ignore_file) != os.path.normpath(context):
        # A Dockerfile-specific ignore file lies outside the walk, yet shapes the build as much.
        records.append(_entry_record(b"X", "<dockerignore>", os.stat(ignore_file).st_mode, _hash_file(ignore_file).encode()))

    digest = hashlib.sha256(DIGEST_SCHEME + b"\n")
    for value in extra:
        encoded = value.encode("utf-8", "surrogateescape")
        digest.update(b"E\0%d\0" % len(encoded) + encoded + b"\n")
    for record in sorted(records):
        digest.update(record)
    return digest.hexdigest(), len(records), excluded


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            dockerfile=dict(type="path", default="Dockerfile"),
            extra=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    context = os.path.abspath(module.params["path"])
    try:
        digest, counted, excluded = context_digest(context, module.params["extra"], module.params["dockerfile"])
    except ContextError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, digest=digest, tag=digest[:TAG_LENGTH], files=counted, excluded=excluded)


if __name__ == "__main__":
    main()
