# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Content-tagged images, read-compare-act (module images): digest each context, build only the missing tags.

The planning helpers are pure (unit-tested); ``Images`` runs the docker CLI through ``DockerCli``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time

from ansible_collections.backendops.stack.plugins.module_utils.atomic_file import replace_file
from ansible_collections.backendops.stack.plugins.module_utils.build_context import TAG_LENGTH, ContextError, context_digest
from ansible_collections.backendops.stack.plugins.module_utils.debian_base import DebianBase, DebianBaseError
from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerCli
from ansible_collections.backendops.stack.plugins.module_utils.npm_registry import (
    DEFAULT_REGISTRY, DEFAULT_TIMEOUT, LOCK_FILE, NpmRegistryError, Packages, Registry)

CONTEXT_DIGEST_LABEL = "io.backendops.context-digest"
# The "digest" of a context check mode cannot read yet (option pending, packages to fetch): never an existing tag.
PENDING = "pending"
_NO_SUCH_IMAGE_RE = re.compile(r"No such image: (\S+)")
_STEP_RE = re.compile(r"^\s*> \[(?P<step>[^\]]+)\] (?P<instruction>.*?):?\s*$")
# Mount options and the CA bundle preamble of the rendered Dockerfile's RUN steps say nothing about the failure.
_NOISE_RE = re.compile(r"--mount=\S+\s*|if \[ -s /run/secrets/ca_bundle \]; then export NODE_EXTRA_CA_CERTS=\S+; fi;\s*")
_EXIT_RE = re.compile(r"(?:exit code|did not complete successfully: exit code): (\d+)")
_REPOSITORY_RE = re.compile(r"^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


class ImagesError(Exception):
    """An expected failure, reported as one line."""


def normalize_ref(ref):
    """The form Docker lists in RepoTags: no docker.io/library/ prefix, ':latest' when untagged."""
    if "@" in ref:
        return ref
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else ref + ":latest"


def registry_host(ref):
    """The registry a reference is pulled from (Docker's rule: a first part with '.' or ':' or 'localhost')."""
    first, sep, _rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def tag_for(name, prefix, digest):
    return "%s:%s%s" % (name, prefix + "-" if prefix else "", digest[:TAG_LENGTH])


def check_repository(name):
    if not _REPOSITORY_RE.match(name or ""):
        raise ImagesError(
            "image name %s is not a Docker repository name: use lowercase letters, digits and '.', '_', '-' "
            "separators, path components split by '/', without a tag (the tag is computed), e.g. backendops/backend."
            % json.dumps(name))


def parse_inspect(refs, stdout, stderr):
    """{ref: inspect document} for the refs `docker image inspect refs...` found (missing ones are absent).

    Docker prints the found images in argument order and names each missing one on stderr.
    """
    missing = set(_NO_SUCH_IMAGE_RE.findall(stderr or ""))
    try:
        documents = json.loads(stdout) if (stdout or "").strip() else []
    except ValueError:
        documents = []
    found = [ref for ref in refs if ref not in missing]
    if len(found) != len(documents):
        # Fall back to the tags themselves when stderr was not as expected.
        by_tag = {}
        for document in documents:
            for tag in document.get("RepoTags") or []:
                by_tag[tag] = document
        return {ref: by_tag[normalize_ref(ref)] for ref in refs if normalize_ref(ref) in by_tag}
    return dict(zip(found, documents))


def digest_extra(extra, bases, found, base_key):
    """Digest inputs: the given strings, then the base images' IDs (the name while a base is missing)."""
    ids = [found[base]["Id"] if base in found else base for base in bases]
    if not ids:
        return list(extra)
    if base_key:
        return list(extra) + ["%s=%s" % (base_key, ",".join(ids))]
    return list(extra) + ids


def file_differs(path, content, mode):
    """True when path does not hold exactly content (text) with mode (an octal string)."""
    try:
        with open(path, "rb") as handle:
            if handle.read() != content.encode("utf-8"):
                return True
        return ("%04o" % (os.stat(path).st_mode & 0o7777)) != mode.rjust(4, "0")
    except OSError:
        return True


def carry(path, directory):
    """Put path into directory, for check mode's scratch copy of a context: a hard link where possible, else a copy."""
    target = os.path.join(directory, os.path.basename(path))
    try:
        os.link(path, target)
    except OSError:
        shutil.copy2(path, target)


def registry_memory(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return data if isinstance(data, dict) and isinstance(data.get("registries"), dict) else {"registries": {}}
    except (OSError, ValueError):
        return {"registries": {}}


def remembered_failure(memory, hosts, now, retry_after):
    """(host, entry) of a registry whose pull failed less than retry_after seconds ago, else None."""
    if retry_after <= 0:
        return None
    for host in hosts:
        entry = memory["registries"].get(host)
        if isinstance(entry, dict) and isinstance(entry.get("failed_at"), (int, float)) and now - entry["failed_at"] < retry_after:
            return host, entry
    return None


def remembered_note(host, entry, retry_after):
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(entry["failed_at"]))
    again = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(entry["failed_at"] + retry_after))
    return ("registry %s not asked: its pull failed at %s (%s); it is asked again after %s (registry retry_after %d s)"
            % (host, when, str(entry.get("error", "unknown error"))[:300], again, retry_after))


def planned_in_check_mode(ref):
    """Whether ref is a tag check mode gives an image it would build (tag_for with PENDING): not on the host yet."""
    tag = ref.rsplit("/", 1)[-1].partition(":")[2]
    return tag == PENDING or tag.endswith("-" + PENDING)


def plan_image(image, found_bases, missing_base, check=False):
    """Digest inputs of one image, or the missing bases that stop it ('fail' raises, 'report' lists them).

    In check mode a base planned to be built earlier in the run (a pending tag) is not missing: the image is pending.
    """
    missing = [base for base in image["base_images"]
               if base not in found_bases and not (check and planned_in_check_mode(base))]
    if missing and missing_base == "fail":
        raise ImagesError("Base image %s is not on the Docker host. %s" % (" and ".join(missing), image["missing_base_hint"]))
    return digest_extra(image["extra"], image["base_images"], found_bases, image["base_key"]), missing


def build_argv(image, ref, stage, digest, buildx=True):
    """The docker arguments of one target's build."""
    argv = ["buildx", "build", "--load"] if buildx else ["build"]
    argv += ["--progress=plain", "--file", image["dockerfile"], "--tag", ref]
    if stage:
        argv += ["--target", stage]
    for name, value in sorted((image["build_args"] or {}).items()):
        argv += ["--build-arg", "%s=%s" % (name, value)]
    for secret in image["secrets"] or []:
        argv += ["--secret", "id=%s,src=%s" % (secret["id"], secret["src"])]
    labels = dict(image["labels"] or {})
    labels[CONTEXT_DIGEST_LABEL] = digest
    for name, value in sorted(labels.items()):
        argv += ["--label", "%s=%s" % (name, value)]
    return argv + [image["context"]]


def build_failure(output, image, target=None, last_lines=8):
    """One line for a failed image build: the failing Dockerfile step, its exit code and its last output lines.

    BuildKit's summary block (` > [stage n/m] INSTRUCTION:`, the step's last lines, `------`) names the step.
    """
    lines = (output or "").splitlines()
    step, shown = None, []
    for index, line in enumerate(lines):
        match = _STEP_RE.match(line)
        if match and index + 1 < len(lines):
            instruction = _NOISE_RE.sub("", match.group("instruction"))
            step = "[%s] %s" % (match.group("step"), " ".join(instruction.split()))
            shown = []
            for following in lines[index + 1:]:
                if following.strip().startswith("------"):
                    break
                # BuildKit prefixes each line with the seconds since the step started.
                shown.append(re.sub(r"^\s*\d+(\.\d+)?\s?", "", following).rstrip())
    exit_code = _EXIT_RE.findall(output or "")
    what = "Building %s%s failed" % (image, " (target %s)" % target if target else "")
    if step is None:
        tail = [line.strip() for line in lines if line.strip()][-last_lines:]
        return "%s: %s" % (what, " | ".join(tail) or "no output from the build")
    shown = [line for line in shown if line.strip()][-last_lines:]
    code = " (exit code %s)" % exit_code[-1] if exit_code else ""
    return "%s at step %s%s: %s" % (what, step, code, " | ".join(shown) or "no output")


class Images:
    """Runs one module call: the registry choice (optional), then the builds of what is missing."""

    def __init__(self, module):
        self.module = module
        self.check = module.check_mode
        self.docker = DockerCli(module)
        self.changed = False
        self.buildx = None
        self.diff_before, self.diff_after = [], []

    # ---- docker CLI
    def inspect(self, refs):
        refs = list(dict.fromkeys(refs))
        if not refs:
            return {}
        rc, out, err = self.docker.run("image", "inspect", *refs, check=False)
        if rc != 0 and "No such image" not in err:
            raise DockerCli.failure(("image", "inspect"), rc, out, err)
        return parse_inspect(refs, out, err)

    def pull(self, ref, timeout):
        rc, out, err = self.docker.run("pull", "--quiet", ref, check=False, timeout=timeout)
        if rc == 0:
            return None
        text = " ".join((err or out).split()) or ("timed out after %s s" % timeout if rc == 124 else "rc %s" % rc)
        return "%s: %s" % (ref, text)

    def architecture(self):
        """The engine's architecture (x86_64, aarch64, ...): the platform the images are built for."""
        out = self.docker.run("info", "--format", "{{.Architecture}}")[1]
        if not out.strip():
            raise ImagesError("docker info named no architecture")
        return out.strip()

    def build(self, image, ref, target, digest):
        if self.buildx is None:
            self.buildx = self.docker.run("buildx", "version", check=False)[0] == 0
        # Without the buildx plugin, the classic client still reaches the daemon's BuildKit (secret mounts).
        env = None if self.buildx else {"DOCKER_BUILDKIT": "1"}
        rc, out, err = self.docker.run(*build_argv(image, ref, target["stage"], digest, self.buildx), check=False, env=env)
        if rc != 0:
            if "Cannot connect to the Docker daemon" in err:
                raise DockerCli.failure(("build",), rc, out, err)
            # The target's tag prefix (prod, build, dev) names it in the failure line.
            raise ImagesError(build_failure(err or out, image["name"], target["tag"] or None))

    # ---- registry
    def choose_source(self, registry):
        """'registry' (its images are present or pulled) or 'build', and a note saying why when it is 'build'."""
        refs = list(registry["images"].values())
        found = self.inspect(refs)
        missing = [ref for ref in refs if ref not in found]
        if not missing:
            return "registry", ""
        mode = registry["source"]
        path = os.path.expanduser(registry["state_file"])
        memory = registry_memory(path)
        hosts = list(dict.fromkeys(registry_host(ref) for ref in missing))
        if mode == "auto":
            remembered = remembered_failure(memory, hosts, time.time(), registry["retry_after"])
            if remembered:
                return "build", remembered_note(remembered[0], remembered[1], registry["retry_after"])
        if self.check:
            if mode == "registry":
                self.changed = True
                self.diff_after += ["pull %s" % ref for ref in missing]
                return "registry", ""
            return "build", "check mode cannot tell whether the registry would serve the missing images"
        errors = []
        for ref in missing:
            error = self.pull(ref, registry["timeout"])
            if error:
                errors.append(error)
                memory["registries"][registry_host(ref)] = {"failed_at": int(time.time()), "error": error[:500]}
                if mode == "auto":
                    break  # the registry does not serve one of them: every other pull is a wasted timeout
            else:
                self.changed = True
                memory["registries"].pop(registry_host(ref), None)
        self.save_memory(path, memory)
        if errors and mode == "registry":
            raise ImagesError(registry["fail_msg"].replace("{errors}", "; ".join(errors)))
        if errors:
            return "build", "no registry images (%s)" % "; ".join(errors)[:300]
        return "registry", ""

    def save_memory(self, path, memory):
        # A cache: losing it only costs one more registry request, so a write failure is not an error.
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            replace_file(path, json.dumps(memory, indent=1, sort_keys=True).encode("utf-8"), 0o600)
        except OSError as exc:
            self.module.warn("cannot remember the registry's state in %s: %s" % (path, exc))

    # ---- files and builds
    def write_files(self, image, scratch):
        """Write the image's files that differ (into scratch, re-rooted, in check mode); returns the changed paths."""
        changed = [item for item in image["files"] if file_differs(item["dest"], item["content"], item["mode"])]
        if self.check:
            if not changed:
                return [], image
            # The digest needs real files: the planned ones go to a scratch copy, the real ones stay as they are.
            moved = dict(image)
            root = tempfile.mkdtemp(dir=scratch)
            mapping = {}
            for item in image["files"]:
                directory = os.path.dirname(item["dest"])
                mapping.setdefault(directory, os.path.join(root, str(len(mapping))))
                os.makedirs(mapping[directory], exist_ok=True)
                target = os.path.join(mapping[directory], os.path.basename(item["dest"]))
                with open(target, "w", encoding="utf-8") as handle:
                    handle.write(item["content"])
                os.chmod(target, int(item["mode"], 8))
            for package in image.get("packages") or []:
                # Present and verified (else the image is pending): part of the context the scratch copy stands for.
                directory = os.path.dirname(package["dest"])
                if directory in mapping:
                    carry(package["dest"], mapping[directory])
            dockerfile_dir = os.path.dirname(image["dockerfile"])
            if dockerfile_dir in mapping:
                moved["dockerfile"] = os.path.join(mapping[dockerfile_dir], os.path.basename(image["dockerfile"]))
            if image["context"] in mapping:
                moved["context"] = mapping[image["context"]]
            return [item["dest"] for item in changed], moved
        for item in changed:
            directory = os.path.dirname(item["dest"])
            os.makedirs(directory, mode=0o755, exist_ok=True)
            replace_file(item["dest"], item["content"].encode("utf-8"), int(item["mode"], 8))
        return [item["dest"] for item in changed], image

    def fetch_packages(self, image, packages):
        """Pin and fetch the image's npm packages; returns (image with its lock file among its files, package plan)."""
        try:
            plan = packages.prepare(image)
        except NpmRegistryError as exc:
            raise ImagesError("%s: %s" % (image["name"], exc)) from None
        for item in plan["packages"]:
            if item["version"] is None:
                self.diff_after.append("%s@%s (fetch; version unknown: %s)" % (item["name"], item["spec"], "; ".join(plan["notes"])[:200]))
                continue
            line = "%s@%s %s" % (item["name"], item["version"], item["dest"])
            if item["fetched"]:
                self.changed = True
                self.diff_after.append(line + " (fetch)")
            else:
                self.diff_before.append(line)
                self.diff_after.append(line)
        if plan["lock"] is not None:
            image = dict(image, files=list(image["files"]) + [
                {"dest": os.path.join(image["context"], LOCK_FILE), "content": plan["lock"], "mode": "0644"}])
        return image, plan

    def import_debian(self, debian, found_bases):
        """Import the missing Debian bases (in check mode, plan them); returns the references imported."""
        maker = DebianBase(self.module, self.docker, debian["mirror"], debian["work_dir"])
        missing = [ref for ref in debian["images"] if ref not in found_bases]
        for ref in missing:
            try:
                self.diff_after.append(maker.plan(ref))
                if not self.check:
                    maker.make(ref)
            except DebianBaseError as exc:
                raise ImagesError(str(exc)) from None
            self.changed = True
        if self.check:
            # The name stands in for the ID the import would give (the planned tags say "would be built").
            found_bases.update({ref: {"Id": ref} for ref in missing})
        else:
            found_bases.update(self.inspect(missing))
        return missing

    def run(self, images, registry, missing_base, npm=None, debian=None):
        result = {"source": "build", "registry_note": "", "missing_bases": [], "imported": [], "images": [], "refs": {}}
        if registry and registry["source"] != "build":
            result["source"], result["registry_note"] = self.choose_source(registry)
            if result["source"] == "registry":
                result["refs"] = dict(registry["images"])
                return result
        for image in images:
            check_repository(image["name"])
        debian_images = debian["images"] if debian else []
        found_bases = self.inspect([base for image in images for base in image["base_images"]] + debian_images)
        if debian_images:
            result["imported"] = self.import_debian(debian, found_bases)
        missing_bases = []
        plans = []
        packages = None
        if any(image.get("packages") for image in images):
            npm = npm or {}
            packages = Packages(Registry(npm.get("registry") or DEFAULT_REGISTRY, npm.get("timeout") or DEFAULT_TIMEOUT), images,
                                refresh=bool(npm.get("refresh")), check=self.check, arch=self.architecture)
        scratch = tempfile.mkdtemp(prefix="backendops-images-") if self.check else None
        try:
            for image in images:
                extra, missing = plan_image(image, found_bases, missing_base, check=self.check)
                missing_bases += [base for base in missing if base not in missing_bases]
                fetched = {"packages": [], "pending": False}
                if image.get("packages"):
                    image, fetched = self.fetch_packages(image, packages)
                waits_for_a_base = any(planned_in_check_mode(base) for base in image["base_images"])
                if self.check and (image["pending"] or fetched["pending"] or waits_for_a_base):
                    self.changed = True
                    plans.append((image, PENDING, [], fetched["packages"]))
                    continue
                written, digested = self.write_files(image, scratch)
                if written:
                    self.changed = True
                try:
                    digest = context_digest(digested["context"], extra, digested["dockerfile"])[0]
                except ContextError as exc:
                    raise ImagesError(str(exc)) from None
                plans.append((image, digest, written, fetched["packages"]))
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
        result["missing_bases"] = sorted(missing_bases)
        if missing_bases and not self.check:
            # The caller provides the bases (e.g. imports them) and calls again; nothing is built on a guess.
            return result
        wanted = [tag_for(image["name"], target["tag"], digest) for image, digest, _written, _packages in plans
                  for target in image["targets"]]
        present = self.inspect(wanted)
        built = []
        for image, digest, written, fetched in plans:
            entry = {"key": image["key"], "name": image["name"], "digest": digest, "tag": digest[:TAG_LENGTH],
                     "refs": [], "built": [], "files_changed": written, "packages": fetched,
                     "changed": bool(written) or any(item["fetched"] for item in fetched)}
            for target in image["targets"]:
                ref = tag_for(image["name"], target["tag"], digest)
                entry["refs"].append(ref)
                if ref in present:
                    self.diff_before.append(ref)
                    self.diff_after.append(ref)
                    continue
                self.diff_after.append(ref + " (build)")
                entry["built"].append(ref)
                entry["changed"] = True
                self.changed = True
                if not self.check:
                    self.build(image, ref, target, digest)
                    built.append(ref)
            result["images"].append(entry)
        present.update(self.inspect(built))
        for entry in result["images"]:
            document = present.get(entry["refs"][0]) or {}
            config = document.get("Config") or {}
            entry["ref"] = entry["refs"][0]
            entry["id"] = document.get("Id")
            entry["config"] = {key: config.get(key) for key in ("Entrypoint", "Cmd", "WorkingDir")}
            result["refs"][entry["key"]] = entry["ref"]
        return result
