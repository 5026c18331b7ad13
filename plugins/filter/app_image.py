# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the app image (documentation in app_dockerfile.yml and app_own_dockerfile.yml)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.backendops.stack.plugins.module_utils import app_dockerfile as dockerfile


def _profile(value, name):
    if not isinstance(value, dict) or "package_manager" not in value:
        raise AnsibleFilterError("%s: expects an app profile (backendops.stack.app_profile) as input" % name)
    return value


def app_dockerfile(profile, base_image, runtime_image, managed=""):
    """The rendered multi-stage Dockerfile of an app without its own."""
    return dockerfile.render(_profile(profile, "app_dockerfile"), base_image, runtime_image, managed)


def app_dockerignore(managed=""):
    return dockerfile.ignore_file(managed)


def app_own_dockerfile(profile, bases):
    """The app's own Dockerfile, its official node images served by the collection's bases (major -> ref)."""
    profile = _profile(profile, "app_own_dockerfile")
    path = os.path.join(profile["source_dir"], profile["dockerfile"])
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise AnsibleFilterError("app_own_dockerfile: cannot read %s: %s" % (path, exc.strerror)) from None
    try:
        return dockerfile.serve_offline(text, profile.get("dockerfile_images") or {}, bases or {})
    except dockerfile.DockerfileError as exc:
        raise AnsibleFilterError(str(exc)) from None


def app_own_dockerignore(profile):
    """The app's own .dockerignore (beside its Dockerfile, or at the context root), else the collection's."""
    profile = _profile(profile, "app_own_dockerignore")
    dockerfile_path = os.path.join(profile["source_dir"], profile["dockerfile"])
    for path in (dockerfile_path + ".dockerignore", os.path.join(profile["source_dir"], ".dockerignore")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return handle.read()
    return dockerfile.ignore_file()


class FilterModule:
    def filters(self):
        return {"app_dockerfile": app_dockerfile, "app_dockerignore": app_dockerignore,
                "app_own_dockerfile": app_own_dockerfile, "app_own_dockerignore": app_own_dockerignore}
