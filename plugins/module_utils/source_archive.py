# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pack a local directory into the gzip tarball that Railway's ``/up`` endpoint expects (like ``railway up``).

Honours ``.gitignore`` and ``.railwayignore`` files at every level (``.railwayignore`` wins over ``.gitignore``
in the same directory), and is deterministic: entries sorted, fixed mtime/uid/gid/owner names, normalised modes,
gzip header without name or time. Whatever the ignore files say, env files, private keys, ``.git`` and
``node_modules`` are never uploaded (WITHHELD_PATTERNS) unless the caller allows a pattern by name; what they
would have let through is reported as withheld. The digest covers the
uncompressed tar stream (names, modes, contents), so it stays the same across runs and machines for
unchanged sources even if compression output differed.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import os
import re
import stat
import tarfile

from ansible_collections.backendops.stack.plugins.module_utils.ignore_globs import glob_to_regex

# File or directory names left out of every upload, whatever the ignore files say: repository metadata, installed
# dependencies, env files (secrets) and private keys. Matched against each name, case-insensitively.
WITHHELD_PATTERNS = (".git", "node_modules", ".env", ".env.*", "*.env", "*.pem", "*.key", "id_rsa*", "id_ed25519*")
# An .npmrc is withheld only when it holds credentials: without any it is ordinary build configuration (the example
# backend's sets ignore-scripts). Allowed, like the patterns above, by naming it in ``allow``.
NPMRC = ".npmrc"
# A value that is only a ${VARIABLE} reference is no credential: npm reads it from the environment.
NPMRC_CREDENTIAL = re.compile(r"^[ \t]*[^#;\s]*(?:_authToken|_auth|_password)[ \t]*=[ \t]*(?!\$\{[^}]*\}[ \t]*$)\S",
                              re.MULTILINE | re.IGNORECASE)
# What withheld entries for symbolic links that lead out of the source name as their pattern.
OUTSIDE_SOURCE = "symlink outside the source"
IGNORE_FILES = (".gitignore", ".railwayignore")
FIXED_MTIME = 0


class SourceError(Exception):
    """The source directory cannot be packed."""


class IgnoreRule:
    __slots__ = ("pattern", "regex", "negate", "directory_only")

    def __init__(self, pattern, regex, negate, directory_only):
        self.pattern = pattern
        self.regex = regex
        self.negate = negate
        self.directory_only = directory_only


def parse_ignore_file(text):
    """Parse gitignore syntax into IgnoreRules, in file order (the last matching rule wins)."""
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        # Trailing spaces are ignored unless escaped with a backslash.
        stripped = re.sub(r"(?<!\\)\s+$", "", line)
        negate = stripped.startswith("!")
        if negate:
            stripped = stripped[1:]
        elif stripped.startswith("\\!") or stripped.startswith("\\#"):
            stripped = stripped[1:]
        directory_only = stripped.endswith("/")
        body = stripped.rstrip("/")
        if not body:
            continue
        # A slash at the start or in the middle anchors the pattern to the ignore file's directory.
        anchored = "/" in body
        body = body.lstrip("/")
        prefix = "^" if anchored else "^(?:.*/)?"
        rules.append(IgnoreRule(line, re.compile(prefix + glob_to_regex(body, gitignore=True) + "$"), negate, directory_only))
    return rules


class IgnoreMatcher:
    """Rule sets of the ignore files found from the root down to a directory."""

    def __init__(self, levels=()):
        self.levels = tuple(levels)  # ((base relative path, [rules]), ...), outermost first

    def child(self, base, rules):
        return IgnoreMatcher(self.levels + ((base, rules),)) if rules else self

    def ignored(self, relpath, is_dir):
        verdict = False
        for base, rules in self.levels:
            if base:
                if not relpath.startswith(base + "/"):
                    continue
                local = relpath[len(base) + 1:]
            else:
                local = relpath
            for rule in rules:
                if rule.directory_only and not is_dir:
                    continue
                if rule.regex.match(local):
                    verdict = not rule.negate
        return verdict


def _read_ignore_rules(directory):
    rules = []
    for name in IGNORE_FILES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            with open(candidate, encoding="utf-8", errors="replace") as handle:
                rules.extend(parse_ignore_file(handle.read()))
    return rules


def withheld_pattern(name):
    """The WITHHELD_PATTERNS entry that ``name`` (a file or directory name) matches, or None."""
    lowered = name.lower()
    return next((pattern for pattern in WITHHELD_PATTERNS if fnmatch.fnmatchcase(lowered, pattern)), None)


def _allowed(relpath, pattern, allow):
    """Whether an ``allow`` entry names the withheld ``pattern`` itself or matches the path or its name."""
    name = relpath.rsplit("/", 1)[-1]
    return any(entry == pattern or fnmatch.fnmatchcase(name, entry) or fnmatch.fnmatchcase(relpath, entry)
               for entry in allow)


def _npmrc_has_credentials(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return bool(NPMRC_CREDENTIAL.search(handle.read()))
    except OSError:
        return True  # unreadable: packing it would fail anyway, and withholding it cannot leak anything


def _link_withheld(real_root, full, allow):
    """``(pattern, target)`` when the symbolic link ``full`` resolves out of the source or onto a withheld name.

    The withheld patterns look at names, so a link such as ``app.conf -> ../.env`` would otherwise pack the target's
    content under a harmless name. ``target`` is the resolved path relative to the source, or None outside it.
    """
    target = os.path.realpath(full)
    relative = os.path.relpath(target, real_root)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep) or os.path.isabs(relative):
        return OUTSIDE_SOURCE, None
    relative = relative.replace(os.sep, "/")
    for part in relative.split("/"):
        pattern = withheld_pattern(part)
        if pattern and not _allowed(relative, pattern, allow):
            return pattern, relative
    if os.path.basename(target).lower() == NPMRC and not _allowed(relative, NPMRC, allow) and _npmrc_has_credentials(target):
        return NPMRC, relative
    return None


def collect_files(root, allow=()):
    """Sorted relative POSIX paths of the files to upload under ``root``."""
    return collect(root, allow)[0]


def collect(root, allow=()):
    """``(files, withheld)``: the files to upload, and ``{"path", "pattern"}`` for what WITHHELD_PATTERNS kept out.

    Withheld are only the paths the ignore files would have let through; ``allow`` (patterns) lets some through.
    Symbolic links are followed (like railway up) only within the source and onto names that are not withheld;
    the others are withheld too, their entries with ``link``: the resolved path in the source, or None outside it.
    A link out of the source is withheld whatever ``allow`` says.
    """
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise SourceError("path %s is not a directory; point path at the application's source directory" % root)
    real_root = os.path.realpath(root)
    files = []
    withheld = []

    def walk(directory, relbase, matcher, ancestors):
        real = os.path.realpath(directory)
        if real in ancestors:  # a symlink pointing back up: a loop
            return
        ancestors = ancestors | {real}
        matcher = matcher.child(relbase, _read_ignore_rules(directory))
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise SourceError("cannot read directory %s: %s" % (directory, exc.strerror))
        for name in names:
            full = os.path.join(directory, name)
            relpath = relbase + "/" + name if relbase else name
            is_dir = os.path.isdir(full)  # follows symlinks, like railway up
            if matcher.ignored(relpath, is_dir):
                continue
            pattern = withheld_pattern(name)
            if pattern and not _allowed(relpath, pattern, allow):
                withheld.append({"path": relpath + ("/" if is_dir else ""), "pattern": pattern})
                continue
            if os.path.islink(full) and (is_dir or os.path.isfile(full)):
                link = _link_withheld(real_root, full, allow)
                if link:
                    withheld.append({"path": relpath + ("/" if is_dir else ""), "pattern": link[0], "link": link[1]})
                    continue
            if is_dir:
                walk(full, relpath, matcher, ancestors)
            elif os.path.isfile(full):
                if name.lower() == NPMRC and not _allowed(relpath, NPMRC, allow) and _npmrc_has_credentials(full):
                    withheld.append({"path": relpath, "pattern": NPMRC})
                    continue
                files.append(relpath)

    walk(root, "", IgnoreMatcher(), frozenset())
    return sorted(files), sorted(withheld, key=lambda entry: entry["path"])


class _HashingWriter:
    """File-like object that hashes what tarfile writes and passes it on to the gzip stream."""

    def __init__(self, target):
        self.target = target
        self.digest = hashlib.sha256()

    def write(self, data):
        self.digest.update(data)
        return self.target.write(data)

    def tell(self):
        return self.target.tell()


class SourceArchive:
    """The packed source: gzip bytes, sha256 of the tar stream, file names, what was withheld for safety."""

    def __init__(self, data, digest, files, withheld=()):
        self.data = data
        self.digest = digest
        self.files = files
        self.withheld = list(withheld)


def build_archive(root, allow=()):
    """Pack ``root`` into a deterministic gzip tarball; ``allow`` lets withheld patterns through (see collect)."""
    root = os.path.abspath(root)
    files, withheld = collect(root, allow)
    if not files:
        raise SourceError("nothing to upload under %s: every file is ignored or the directory is empty" % root)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=FIXED_MTIME) as compressed:
        hashing = _HashingWriter(compressed)
        with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as archive:
            for relpath in files:
                full = os.path.join(root, relpath)
                try:
                    info = os.stat(full)
                    with open(full, "rb") as handle:
                        content = handle.read()
                except OSError as exc:
                    raise SourceError("cannot read %s: %s" % (full, exc.strerror))
                entry = tarfile.TarInfo(relpath)
                entry.size = len(content)
                entry.mtime = FIXED_MTIME
                entry.mode = 0o755 if info.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) else 0o644
                entry.uid = entry.gid = 0
                entry.uname = entry.gname = ""
                archive.addfile(entry, io.BytesIO(content))
    return SourceArchive(buffer.getvalue(), hashing.digest.hexdigest(), files, withheld)
