# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The images module's planning: which refs exist, what enters the digest, when the registry is asked again."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import images
from ansible_collections.backendops.stack.plugins.module_utils.build_context import context_digest

DAY = 86400


def image(tmp_path, **overrides):
    spec = {"name": "backendops/api", "key": "api", "context": str(tmp_path / "ctx"), "dockerfile": str(tmp_path / "render/Dockerfile"),
            "files": [{"dest": str(tmp_path / "render/Dockerfile"), "content": "FROM scratch\nCOPY . /\n", "mode": "0644"},
                      {"dest": str(tmp_path / "render/Dockerfile.dockerignore"), "content": "secret\n", "mode": "0644"}],
            "targets": [{"tag": "prod", "stage": "prod"}, {"tag": "build", "stage": "build"}],
            "base_images": ["node:20"], "base_key": "base", "missing_base_hint": "Run backendops.stack.base_images first.",
            "extra": ["target=prod"], "pending": False, "build_args": {}, "secrets": [], "labels": {}}
    spec.update(overrides)
    return spec


@pytest.mark.parametrize("ref, expected", [
    ("node:20-alpine", "node:20-alpine"),
    ("docker.io/library/node:20", "node:20"),
    ("backendops/node", "backendops/node:latest"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
    ("node@sha256:abc", "node@sha256:abc"),
])
def test_refs_are_compared_the_way_docker_lists_them(ref, expected):
    assert images.normalize_ref(ref) == expected


@pytest.mark.parametrize("ref, host", [
    ("node:20-alpine", "docker.io"), ("backendops/node:1", "docker.io"), ("registry.invalid/node:20", "registry.invalid"),
    ("localhost:5000/app", "localhost:5000"), ("localhost/app", "localhost"),
])
def test_registry_host_follows_dockers_rule(ref, host):
    assert images.registry_host(ref) == host


def test_inspect_output_maps_found_refs_and_skips_missing_ones():
    stdout = json.dumps([{"Id": "sha256:a", "RepoTags": ["node:20"]}, {"Id": "sha256:c", "RepoTags": ["x/y:1"]}])
    stderr = "Error response from daemon: No such image: missing:1\n"
    found = images.parse_inspect(["node:20", "missing:1", "x/y:1"], stdout, stderr)
    assert {ref: doc["Id"] for ref, doc in found.items()} == {"node:20": "sha256:a", "x/y:1": "sha256:c"}


def test_inspect_output_falls_back_to_repo_tags_when_stderr_is_unexpected():
    stdout = json.dumps([{"Id": "sha256:a", "RepoTags": ["node:20"]}])
    found = images.parse_inspect(["docker.io/library/node:20", "gone:1"], stdout, "something else")
    assert list(found) == ["docker.io/library/node:20"]


def test_base_ids_enter_the_digest_as_the_roles_always_mixed_them():
    found = {"node:20": {"Id": "sha256:n"}, "rt:20": {"Id": "sha256:r"}}
    # app_image: one "base=<ids>" string after its own extras; base_images: each ID alone.
    assert images.digest_extra(["target=prod"], ["node:20", "rt:20"], found, "base") == ["target=prod", "base=sha256:n,sha256:r"]
    assert images.digest_extra([], ["node:20"], found, "") == ["sha256:n"]
    # A missing base (check mode before its import) stands in by name: a provisional tag.
    assert images.digest_extra([], ["backendops/debian:trixie"], found, "") == ["backendops/debian:trixie"]


def test_a_missing_base_fails_in_one_line_naming_it_and_the_fix(tmp_path):
    with pytest.raises(images.ImagesError) as failure:
        images.plan_image(image(tmp_path), {}, "fail")
    assert str(failure.value) == "Base image node:20 is not on the Docker host. Run backendops.stack.base_images first."
    extra, missing = images.plan_image(image(tmp_path), {}, "report")
    assert missing == ["node:20"] and extra == ["target=prod", "base=node:20"]


@pytest.mark.parametrize("ref, planned", [
    ("backendops/node:22-pending", True), ("backendops/node:pending", True), ("localhost:5000/node:22-pending", True),
    ("backendops/node:22", False), ("backendops/pending", False), ("localhost:5000/x-pending", False),
])
def test_a_pending_tag_is_what_check_mode_plans_to_build(ref, planned):
    assert images.planned_in_check_mode(ref) is planned


def test_a_base_planned_in_check_mode_is_not_missing_but_is_in_a_real_run(tmp_path):
    spec = image(tmp_path, base_images=["backendops/node:22-pending"])
    assert images.plan_image(spec, {}, "fail", check=True)[1] == []
    with pytest.raises(images.ImagesError, match="Base image backendops/node:22-pending is not on the Docker host"):
        images.plan_image(spec, {}, "fail")


def test_tags_carry_the_prefix_and_twelve_digest_characters():
    assert images.tag_for("backendops/api", "prod", "0123456789abcdef") == "backendops/api:prod-0123456789ab"
    assert images.tag_for("backendops/node", "", "0123456789abcdef") == "backendops/node:0123456789ab"


def test_build_argv_names_target_args_secret_and_the_digest_label(tmp_path):
    spec = image(tmp_path, build_args={"B": "2", "A": "1"}, secrets=[{"id": "ca_bundle", "src": "/ca.pem"}],
                 labels={"org.opencontainers.image.title": "backendops/api"})
    argv = images.build_argv(spec, "backendops/api:prod-x", "prod", "d" * 64)
    assert argv[:3] == ["buildx", "build", "--load"]
    assert argv[argv.index("--target") + 1] == "prod"
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "--build-arg"] == ["A=1", "B=2"]
    assert argv[argv.index("--secret") + 1] == "id=ca_bundle,src=/ca.pem"
    assert "io.backendops.context-digest=" + "d" * 64 in argv
    assert argv[-1] == spec["context"]
    assert images.build_argv(spec, "r", None, "d", buildx=False)[:2] == ["build", "--progress=plain"]


CA_PREAMBLE = "if [ -s /run/secrets/ca_bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; fi;"
BUILDKIT_STDERR = """#11 [build 3/3] RUN --mount=type=secret,id=ca_bundle     CA_PREAMBLE     npm run build
#11 4.344 src/broken.ts(1,7): error TS2322: Type 'string' is not assignable to type 'number'.
------
 > [build 3/3] RUN --mount=type=secret,id=ca_bundle     CA_PREAMBLE     npm run build:
0.611
0.611 > app@1.0.0 build
4.344 src/broken.ts(1,7): error TS2322: Type 'string' is not assignable to type 'number'.
------
ERROR: failed to solve: executor failed running [/bin/sh -c npm run build]: exit code: 2
""".replace("CA_PREAMBLE", CA_PREAMBLE)


def test_a_failed_build_is_one_line_naming_the_step_exit_code_and_last_lines():
    message = images.build_failure(BUILDKIT_STDERR, "backendops/api", "prod")
    assert "\n" not in message
    assert message.startswith("Building backendops/api (target prod) failed at step [build 3/3] RUN npm run build (exit code 2): ")
    assert message.endswith("> app@1.0.0 build | src/broken.ts(1,7): error TS2322: Type 'string' is not assignable to type 'number'.")


def test_a_failure_without_buildkit_summary_shows_the_last_lines():
    assert images.build_failure("cannot connect\nto the engine", "x/y") == "Building x/y failed: cannot connect | to the engine"


def test_a_remembered_failure_holds_until_retry_after(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"registries": {"docker.io": {"failed_at": 1000, "error": "no such host"}}}))
    memory = images.registry_memory(str(path))
    assert images.remembered_failure(memory, ["docker.io"], 1000 + DAY - 1, DAY)[0] == "docker.io"
    assert images.remembered_failure(memory, ["docker.io"], 1000 + DAY, DAY) is None
    assert images.remembered_failure(memory, ["ghcr.io"], 1001, DAY) is None
    assert images.remembered_failure(memory, ["docker.io"], 1001, 0) is None  # 0: always ask
    note = images.remembered_note("docker.io", memory["registries"]["docker.io"], DAY)
    assert "registry docker.io not asked" in note and "no such host" in note and "1970-01-02 00:16:40 UTC" in note


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"registries": 3}'])
def test_an_unreadable_memory_means_ask_the_registry(tmp_path, text):
    path = tmp_path / "state.json"
    path.write_text(text)
    assert images.registry_memory(str(path)) == {"registries": {}}
    assert images.registry_memory(str(tmp_path / "absent.json")) == {"registries": {}}


def test_file_differs_on_content_and_mode(tmp_path):
    target = tmp_path / "Dockerfile"
    assert images.file_differs(str(target), "x", "0644")
    target.write_text("x")
    target.chmod(0o644)
    assert not images.file_differs(str(target), "x", "0644")
    assert images.file_differs(str(target), "y", "0644")
    assert images.file_differs(str(target), "x", "0755")


class Module:
    """Just what write_files uses: the check-mode flag and AnsibleModule's atomic_move."""

    def __init__(self, check_mode):
        self.check_mode = check_mode

    def get_bin_path(self, _name, required=False):
        return None

    @staticmethod
    def atomic_move(src, dest):
        os.replace(src, dest)


def test_check_mode_digests_planned_files_from_a_scratch_copy_and_writes_nothing(tmp_path):
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx/app.js").write_text("console.log(1)\n")
    (tmp_path / "ctx/secret").write_text("excluded by the planned ignore file\n")
    spec = image(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    written, digested = images.Images(Module(check_mode=True)).write_files(spec, str(scratch))
    assert written == [item["dest"] for item in spec["files"]]
    assert not (tmp_path / "render").exists()
    planned = context_digest(digested["context"], ["x"], digested["dockerfile"])
    shutil.rmtree(scratch)

    written, digested = images.Images(Module(check_mode=False)).write_files(spec, None)
    assert written == [item["dest"] for item in spec["files"]] and digested is spec
    assert (tmp_path / "render/Dockerfile").read_text() == "FROM scratch\nCOPY . /\n"
    actual = context_digest(spec["context"], ["x"], spec["dockerfile"])
    # The plan's tag is the tag the real run builds; the planned ignore file counted (secret excluded).
    assert planned == actual and actual[2] == 1
    assert images.Images(Module(check_mode=False)).write_files(spec, None)[0] == []


def test_a_context_that_is_the_write_directory_is_digested_from_the_scratch_copy(tmp_path):
    context = tmp_path / "contexts/redis"
    spec = image(tmp_path, context=str(context), dockerfile=str(context / "Dockerfile"),
                 files=[{"dest": str(context / "Dockerfile"), "content": "FROM x\n", "mode": "0644"},
                        {"dest": str(context / "entry.sh"), "content": "#!/bin/sh\n", "mode": "0755"}])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _written, digested = images.Images(Module(check_mode=True)).write_files(spec, str(scratch))
    assert not context.exists()
    planned = context_digest(digested["context"], [], digested["dockerfile"])
    images.Images(Module(check_mode=False)).write_files(spec, None)
    assert oct(os.stat(context / "entry.sh").st_mode & 0o777) == "0o755"
    assert planned == context_digest(str(context), [], str(context / "Dockerfile"))


@pytest.mark.parametrize("name", ["Bad Name", "app:tag", "", "a//b"])
def test_a_bad_repository_name_fails_naming_it(name):
    with pytest.raises(images.ImagesError, match="is not a Docker repository name"):
        images.check_repository(name)
