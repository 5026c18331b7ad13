# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Content digest of a Docker build context, the image tag rule of the collection (module build_context_digest).

The context is walked the way Docker sends it: the build's ``.dockerignore`` (Docker's semantics, see ignore_globs)
decides what counts; the Dockerfile and the ignore file always count.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

from ansible_collections.backendops.stack.plugins.module_utils.ignore_globs import GlobError, glob_to_regex

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
    """Docker's pattern rules (see ignore_globs), anchored at both ends."""
    try:
        return "^" + glob_to_regex(pattern) + "$"
    except GlobError:
        raise ContextError("unterminated character class in .dockerignore pattern %r: close it with ']' or escape the '['"
                           % pattern) from None


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
            with open(ignore_file, encoding="utf-8") as handle:
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
