# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/local_stack.py finds the base images of the rendered Dockerfile's stages, and each Node.js major's
bases, for the P4 sizes."""
from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import local_stack  # noqa: E402  pylint: disable=wrong-import-position,import-error


def test_stages_resolve_to_their_base_images(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "# FROM in a comment counts for nothing\n"
        "ARG RUNTIME_IMAGE=\"backendops/node-runtime:feed\"\n"
        "FROM --platform=linux/amd64 backendops/node:beef AS deps\n"
        "RUN npm ci\n"
        "from deps as build\n"
        "FROM build AS dev\n"
        "FROM build AS prod-deps\n"
        "FROM ${RUNTIME_IMAGE} AS prod\n"
        "COPY --from=prod-deps /app /app\n"
        "FROM prod\n"
    )
    stages = local_stack.stage_images(dockerfile)
    assert stages["first"] == stages["deps"] == stages["build"] == stages["dev"] == "backendops/node:beef"
    assert stages["prod"] == "backendops/node-runtime:feed"
    assert stages["#6"] == "backendops/node-runtime:feed"  # an unnamed stage FROM another stage


def test_an_unknown_argument_stays_as_written(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM $BASE AS prod\n")
    assert local_stack.stage_images(dockerfile) == {"first": "$BASE", "prod": "$BASE"}


def test_each_majors_newest_bases_are_listed_by_major():
    listing = "\n".join([
        "backendops/node:24-0123456789ab",  # newest first, as docker image ls lists them
        "backendops/node-runtime:24-aaaaaaaaaaaa",
        "backendops/node:24-ffffffffffff",  # an older build of 24
        "backendops/node:20-bbbbbbbbbbbb",
        "backendops/node-runtime:20-cccccccccccc",
        "backendops/node:c35ac07e3db8",  # the Debian nodejs 20 image of before: no major in its tag
        "backendops/node-runtime:24-pending",
        "backendops/nodejs:22-dddddddddddd",
    ])
    assert local_stack.node_bases(listing) == {
        "node 20 build base": "backendops/node:20-bbbbbbbbbbbb",
        "node 20 runtime base": "backendops/node-runtime:20-cccccccccccc",
        "node 24 build base": "backendops/node:24-0123456789ab",
        "node 24 runtime base": "backendops/node-runtime:24-aaaaaaaaaaaa",
    }
