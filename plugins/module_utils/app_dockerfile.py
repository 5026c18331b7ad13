# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app's image from its profile: a multi-stage Dockerfile rendered for its package manager and workspace, and
an app's own Dockerfile served offline (its official node images replaced by the collection's base of that major).

Pure text in, text out; the images module writes and builds what this renders.
"""

from __future__ import annotations

import json
import re

# prisma generate only parses the URL; without one it would try to download an engine.
BUILD_DATABASE_URL = "postgresql://build:build@localhost:5432/build"
# The CA bundle arrives as a BuildKit secret: trusted for the step, stored in no layer.
CA_MOUNT = "--mount=type=secret,id=ca_bundle"
CA_EXPORT = "if [ -s /run/secrets/ca_bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; fi;"
# Download caches of each package manager, kept by BuildKit between builds and never in a layer.
CACHES = {"npm": ["/root/.npm"], "pnpm": ["/root/.local/share/pnpm/store", "/root/.cache/pnpm"],
          "yarn": ["/usr/local/share/.cache/yarn", "/root/.yarn/berry/cache"]}
IGNORED = (".env", ".env.*", "**/.env", "**/.env.*", "node_modules", "**/node_modules", ".git", "**/.git",
           "npm-debug.log*", "coverage", "Dockerfile*", "**/backendops.yml", "backendops.yml", ".pnpm-store")


class DockerfileError(ValueError):
    """An own Dockerfile that cannot be built here; one line naming the image and the ways out."""


def _app_path(directory: str) -> str:
    return "/app" if directory in (".", "") else "/app/" + directory


def _bin_path(profile: dict) -> str:
    # The app's binaries, then those of the package holding Prisma, then the workspace root's.
    dirs = [profile["app_dir"]] + ([profile["prisma_dir"]] if profile.get("prisma_dir") else []) + ["."]
    paths = list(dict.fromkeys("%s/node_modules/.bin" % _app_path(directory) for directory in dirs))
    return ":".join(paths + ["$PATH"])


def _cmd(command: str) -> str:
    return json.dumps(["sh", "-c", "exec " + command])


def _run_with_ca(command: str, caches: list[str] = ()) -> str:
    mounts = " ".join([CA_MOUNT] + ["--mount=type=cache,target=%s" % cache for cache in caches])
    return "RUN %s \\\n    %s \\\n    %s" % (mounts, CA_EXPORT, command)


def health_probe(url_expression: str, path: str | None) -> str:
    """The node -e script of a health check: HTTP 2xx at the health path, or without one any HTTP answer (a TCP
    connect alone does not prove the app serves). url_expression is the JavaScript expression of the URL."""
    if path:
        return "fetch(%s).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" % url_expression
    return "fetch(%s).then(() => process.exit(0), () => process.exit(1))" % url_expression


def _health_check(profile: dict) -> list[str]:
    path = profile["health"].get("path")
    url = "'http://127.0.0.1:' + (process.env.PORT || %s) + %s" % (profile["port"], json.dumps(path or "/").replace('"', "'"))
    script = health_probe(url, path)
    return ["HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \\",
            "  CMD %s" % json.dumps(["node", "-e", script])]


def _install_copies(profile: dict) -> list[str]:
    if profile.get("install_scripts"):
        # The app's own install scripts (postinstall: tsc, prepare) may read any file: no cached dependency layer.
        return ["COPY . ."]
    lines = []
    for path in profile["install_files"]:
        if path.endswith("/"):  # a folder (.yarn/releases, patches)
            lines.append("COPY %s %s" % (path.rstrip("/"), path))
        else:
            lines.append("COPY %s %s" % (path, path.rsplit("/", 1)[0] + "/" if "/" in path else "./"))
    return lines


def render(profile: dict, base_image: str, runtime_image: str, managed: str = "") -> str:
    """The multi-stage Dockerfile of an app without its own: deps, build, dev, prod-deps, prod."""
    manager = profile["package_manager"]
    lines = []
    if managed:
        lines.append("# %s" % managed)
    lines += [
        "# Multi-stage build of %s (%s, Node.js %s), from its app profile: deps (the frozen install, cached while the"
        % (profile["name"], profile["package_manager"], profile["node_version"]),
        "# manifests and lockfile are unchanged), build (generate, build; migrations run from this stage), dev (hot",
        "# reload, source bind-mounted) and prod (production dependencies on a Node.js-only runtime base, non-root).",
        "",
        "FROM %s AS deps" % base_image,
        "WORKDIR /app",
        # pnpm and yarn ask no questions and print no progress bars in a build.
        "ENV CI=true",
    ]
    if profile.get("package_manager_setup"):
        lines.append(_run_with_ca(profile["package_manager_setup"]))
    lines += _install_copies(profile)
    lines.append(_run_with_ca('DATABASE_URL="${DATABASE_URL:-%s}" %s' % (BUILD_DATABASE_URL, profile["install_command"]),
                              CACHES.get(manager, [])))
    lines += ["", "FROM deps AS build", "ENV PATH=%s" % _bin_path(profile), "COPY . ."]
    if profile.get("generate_command"):
        lines.append("RUN cd %s && DATABASE_URL=%s %s" % (_app_path(profile["prisma_dir"] or profile["app_dir"]),
                                                          BUILD_DATABASE_URL, profile["generate_command"]))
    for step in profile.get("build_steps") or []:
        lines.append(_run_with_ca("cd %s && %s" % (_app_path(step["dir"]), step["command"])))
    lines.append("WORKDIR %s" % profile["workdir"])
    lines += ["", "FROM build AS dev", "ENV NODE_ENV=development", "EXPOSE %s" % profile["port"],
              "CMD %s" % _cmd(profile["dev_command"] or profile["start_command"])]

    lines += ["", "FROM build AS prod-deps", "WORKDIR /app"]
    if profile.get("prune_command"):
        # A package manager's prune may drop the generated Prisma client (it is no package): keep it aside.
        keep = ("find . -type d -path '*/node_modules/.prisma' -prune > /tmp/generated.list"
                " && tar -cf /tmp/generated.tar -T /tmp/generated.list" if profile.get("generate_command") else "true")
        restore = "tar -xf /tmp/generated.tar" if profile.get("generate_command") else "true"
        # yarn 1 prunes by a production install, which may fetch: the CA bundle and the download cache again.
        lines.append(_run_with_ca("%s \\\n && %s \\\n && %s" % (keep, profile["prune_command"], restore),
                                  CACHES.get(manager, [])))
        if manager == "npm":
            # npm keeps a devDependency that a production package names as an optional peer (prisma, for
            # @prisma/client) and marks it "devOptional": production code cannot rely on it, so it goes.
            lines.append(
                "RUN node -e ' \\\n"
                "      const fs = require(\"node:fs\"); \\\n"
                "      const file = fs.existsSync(\"node_modules/.package-lock.json\") ? \"node_modules/.package-lock.json\" : \"package-lock.json\"; \\\n"
                "      const lock = JSON.parse(fs.readFileSync(file, \"utf8\")); \\\n"
                "      for (const [path, meta] of Object.entries(lock.packages ?? {})) { \\\n"
                "        if (meta.devOptional && path.includes(\"node_modules/\")) fs.rmSync(path, { recursive: true, force: true }); \\\n"
                "      } \\\n"
                "      for (const name of fs.existsSync(\"node_modules/.bin\") ? fs.readdirSync(\"node_modules/.bin\") : []) { \\\n"
                "        if (!fs.existsSync(\"node_modules/.bin/\" + name)) fs.rmSync(\"node_modules/.bin/\" + name); \\\n"
                "      }' \\\n"
                " && rm -f node_modules/.package-lock.json")
    provider = profile.get("prisma_provider")
    if provider:
        provider = "postgresql" if provider in ("postgres", "postgresql") else provider
        # The generated client loads only the query engine of the schema's provider.
        lines.append("RUN for db in cockroachdb mysql postgresql sqlite sqlserver; do \\\n"
                     "      [ \"$db\" = %s ] || find . -path '*/@prisma/client/runtime/query_*_bg.'\"$db\"'.*' -delete; \\\n"
                     "    done" % provider)

    lines += ["", "FROM %s AS prod" % runtime_image,
              "ENV NODE_ENV=production PATH=%s" % _bin_path(profile),
              "COPY --from=prod-deps --chown=node:node /app /app",
              "WORKDIR %s" % profile["workdir"],
              "USER node",
              "EXPOSE %s" % profile["port"]]
    lines += _health_check(profile)
    lines.append("CMD %s" % _cmd(profile["start_command"]))
    return "\n".join(lines) + "\n"


def ignore_file(managed: str = "") -> str:
    header = ["# %s" % managed] if managed else []
    return "\n".join(header + ["# Keeps secrets, local installs and VCS data out of the build context."] + list(IGNORED)) + "\n"


_SYNTAX_RE = re.compile(r"^#\s*syntax\s*=", re.IGNORECASE)
_FROM_RE = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE)


def serve_offline(text: str, images: dict, bases: dict) -> str:
    """An own Dockerfile with each official node image it names (images: ref -> major or None) replaced by the
    collection's base of that major (bases: major -> ref). An image no base can stand for stops it, in one line."""
    unserved = [ref for ref, major in images.items() if not major or str(major) not in {str(key) for key in bases}]
    if unserved:
        raise DockerfileError(
            "the app's Dockerfile builds FROM %s, which no registry serves here and the collection cannot stand in for "
            "(it serves Debian-based official node images: node:<major>, -slim, -bookworm, lts): set the profile's "
            "dockerfile to false to build with the collection's Dockerfile, or make a registry mirror reachable"
            % " and ".join(unserved))
    by_major = {str(key): value for key, value in bases.items()}
    out = []
    for number, line in enumerate(text.splitlines()):
        if number == 0 and _SYNTAX_RE.match(line):
            # A frontend image would be pulled from a registry; the built-in frontend builds the same file.
            line = "# (backendops.stack: built with BuildKit's built-in frontend) " + line.lstrip("# ")
        match = _FROM_RE.match(line)
        if match and match.group(2) in images:
            line = "%s%s%s" % (match.group(1), by_major[str(images[match.group(2)])], match.group(3))
        out.append(line)
    return "\n".join(out) + "\n"
