# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backendops.stack.build_context_digest: the collection's image tag rule."""
from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.backendops.stack.plugins.module_utils import build_context
from ansible_collections.backendops.stack.plugins.modules import build_context_digest as module


def make_context(root, files, ignore=None):
    """Write {relative path: content} below root; returns root as str."""
    root.mkdir(parents=True, exist_ok=True)
    for rel_path, content in files.items():
        target = root / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(0o644)
    if ignore is not None:
        (root / ".dockerignore").write_text(ignore)
    return str(root)


def digest(context, extra=(), dockerfile="Dockerfile"):
    return build_context.context_digest(context, list(extra), dockerfile)[0]


BASE_FILES = {"Dockerfile": "FROM scratch\nCOPY . /app\n", "src/app.js": "console.log(1)\n", "package.json": "{}\n"}


@pytest.fixture(name="context")
def context_fixture(tmp_path):
    return make_context(tmp_path / "ctx", BASE_FILES)


def test_digest_is_stable_across_runs_and_mtimes(context):
    first = digest(context)
    os.utime(os.path.join(context, "src", "app.js"), (1, 1))
    os.utime(os.path.join(context, "src"), (2, 2))
    assert digest(context) == first


def test_digest_does_not_depend_on_creation_order(tmp_path):
    forward = make_context(tmp_path / "a", dict(BASE_FILES))
    backward = make_context(tmp_path / "b", dict(reversed(list(BASE_FILES.items()))))
    for path in (forward, backward):
        os.chmod(os.path.join(path, "src"), 0o755)
    assert digest(forward) == digest(backward)


def test_content_change_changes_digest(context):
    before = digest(context)
    with open(os.path.join(context, "src", "app.js"), "a", encoding="utf-8") as handle:
        handle.write("console.log(2)\n")
    assert digest(context) != before


def test_mode_change_changes_digest(context):
    before = digest(context)
    os.chmod(os.path.join(context, "src", "app.js"), 0o755)
    assert digest(context) != before


def test_rename_changes_digest(context):
    before = digest(context)
    os.rename(os.path.join(context, "src", "app.js"), os.path.join(context, "src", "main.js"))
    assert digest(context) != before


def test_new_empty_directory_changes_digest(context):
    # Docker sends empty directories too (COPY creates them).
    before = digest(context)
    os.mkdir(os.path.join(context, "empty"))
    assert digest(context) != before


def test_symlink_target_counts(context):
    os.symlink("src/app.js", os.path.join(context, "link"))
    before = digest(context)
    os.remove(os.path.join(context, "link"))
    os.symlink("package.json", os.path.join(context, "link"))
    assert digest(context) != before


def test_extra_values_count_in_order(context):
    plain = digest(context)
    assert digest(context, ["base@sha256:1"]) != plain
    assert digest(context, ["base@sha256:1"]) != digest(context, ["base@sha256:2"])
    assert digest(context, ["A=1", "B=2"]) != digest(context, ["B=2", "A=1"])
    # Length-prefixed: ["ab"] and ["a", "b"] must not collide.
    assert digest(context, ["ab"]) != digest(context, ["a", "b"])


def test_excluded_files_do_not_count(tmp_path):
    context = make_context(tmp_path / "ctx", {**BASE_FILES, "node_modules/dep/index.js": "x", "debug.log": "x"}, "node_modules\n*.log\n")
    before = digest(context)
    (tmp_path / "ctx" / "node_modules" / "dep" / "index.js").write_text("changed")
    (tmp_path / "ctx" / "node_modules" / "new.js").write_text("new")
    (tmp_path / "ctx" / "debug.log").write_text("changed")
    (tmp_path / "ctx" / "other.log").write_text("new")
    assert digest(context) == before


def test_nothing_is_excluded_implicitly(tmp_path):
    context = make_context(tmp_path / "ctx", {**BASE_FILES, ".git/HEAD": "ref: a", "node_modules/x.js": "1"})
    before = digest(context)
    (tmp_path / "ctx" / ".git" / "HEAD").write_text("ref: b")
    after_git = digest(context)
    (tmp_path / "ctx" / "node_modules" / "x.js").write_text("2")
    assert len({before, after_git, digest(context)}) == 3


def test_negation_brings_a_file_back(tmp_path):
    files = {**BASE_FILES, "node_modules/keep.txt": "1", "node_modules/drop.txt": "1"}
    context = make_context(tmp_path / "ctx", files, "node_modules\n!node_modules/keep.txt\n")
    before = digest(context)
    (tmp_path / "ctx" / "node_modules" / "drop.txt").write_text("2")
    assert digest(context) == before
    (tmp_path / "ctx" / "node_modules" / "keep.txt").write_text("2")
    assert digest(context) != before


def test_ignore_file_changes_count(tmp_path):
    context = make_context(tmp_path / "ctx", BASE_FILES, "*.log\n")
    before = digest(context)
    (tmp_path / "ctx" / ".dockerignore").write_text("*.log\n*.tmp\n")
    assert digest(context) != before


def test_excluded_dockerfile_still_counts(tmp_path):
    context = make_context(tmp_path / "ctx", BASE_FILES, "Dockerfile\n.dockerignore\n")
    before = digest(context)
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    assert digest(context) != before


def test_dockerfile_outside_the_context_counts(tmp_path):
    context = make_context(tmp_path / "ctx", {"a.txt": "a"})
    dockerfile = tmp_path / "build.Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    before = digest(context, dockerfile=str(dockerfile))
    dockerfile.write_text("FROM scratch\nCOPY a.txt /\n")
    assert digest(context, dockerfile=str(dockerfile)) != before


def test_excluded_directory_is_not_read(tmp_path, monkeypatch):
    context = make_context(tmp_path / "ctx", {**BASE_FILES, "node_modules/dep/big.bin": "x"}, "node_modules\n")
    read = []
    real_hash = build_context._hash_file
    monkeypatch.setattr(build_context, "_hash_file", lambda path: read.append(path) or real_hash(path))
    build_context.context_digest(context)
    assert read and not [path for path in read if "node_modules" in path]


@pytest.mark.parametrize(
    "patterns, path, excluded",
    [
        ("name", "name", True),
        ("name", "name/inside/file", True),
        ("name", "sub/name", False),
        ("dir/", "dir/file", True),
        ("/dir", "dir/file", True),
        ("*.log", "debug.log", True),
        ("*.log", "logs/debug.log", False),
        ("**/*.log", "logs/deep/debug.log", True),
        ("**/*.log", "debug.log", True),
        ("**/x", "a/b/x", True),
        ("**/x", "x", True),
        ("**/x", "a/xy", False),
        ("a/**/z", "a/z", True),
        ("a/**/z", "a/b/c/z", True),
        ("src/*.js", "src/a.js", True),
        ("src/*.js", "src/lib/a.js", False),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file10.txt", False),
        ("file[0-9].txt", "file7.txt", True),
        ("a.b", "aXb", False),
        ("# comment\nname", "# comment", False),
        ("  name  ", "name", True),
        ("*\n!keep", "keep", False),
        ("*\n!keep", "drop", True),
        ("*.md\n!README.md\nREADME.md", "README.md", True),
        ("dir\n!dir/keep", "dir/keep", False),
        ("dir\n!dir/keep", "dir/other", True),
        ("**", "anything/at/all", True),
    ],
)
def test_dockerignore_patterns_follow_docker(patterns, path, excluded):
    assert build_context.DockerIgnore(build_context.parse_dockerignore(patterns)).excluded(path) is excluded


def test_unterminated_character_class_is_a_clear_error():
    with pytest.raises(build_context.ContextError, match=r"file\[0-9"):
        build_context.parse_dockerignore("file[0-9.txt\n")


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            module.main()
    return exit_info.value.code


@pytest.mark.parametrize("check_mode", [False, True])
def test_module_returns_digest_and_tag_unchanged(context, capsys, check_mode):
    assert run_module({"path": context, "extra": ["x"]}, check_mode) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is False
    assert result["digest"] == digest(context, ["x"])
    assert result["tag"] == result["digest"][:12]
    assert result["files"] == 4  # Dockerfile, package.json, src, src/app.js


def test_module_fails_cleanly_for_a_missing_context(tmp_path, capsys):
    assert run_module({"path": str(tmp_path / "nope")}) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert str(tmp_path / "nope") in result["msg"]
    assert "Traceback" not in result["msg"]


def test_module_fails_cleanly_without_a_dockerfile(tmp_path, capsys):
    context = make_context(tmp_path / "ctx", {"a.txt": "a"})
    assert run_module({"path": context}) == 1
    assert "set dockerfile" in json.loads(capsys.readouterr().out)["msg"]


def test_dockerfile_specific_ignore_file_outside_the_context(tmp_path):
    """A Dockerfile kept outside the context brings <Dockerfile>.dockerignore, as BuildKit reads it."""
    context = make_context(tmp_path / "app", {"src/app.js": "x\n", "node_modules/dep/index.js": "dep\n"}, ignore="src\n")
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    (rendered / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    ignore = rendered / "Dockerfile.dockerignore"
    ignore.write_text("node_modules\n")
    dockerfile = str(rendered / "Dockerfile")

    before = digest(context, dockerfile=dockerfile)
    # The context's own .dockerignore (which excludes src) no longer applies, the rendered one does.
    (tmp_path / "app" / "node_modules" / "dep" / "index.js").write_text("changed\n")
    assert digest(context, dockerfile=dockerfile) == before
    (tmp_path / "app" / "src" / "app.js").write_text("changed\n")
    after_source_edit = digest(context, dockerfile=dockerfile)
    assert after_source_edit != before
    ignore.write_text("node_modules\n.git\n")
    assert digest(context, dockerfile=dockerfile) != after_source_edit
