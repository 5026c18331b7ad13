# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scan every layer of an image for env files and for the values of the stack's secrets.

Usage: scan_image.py IMAGE ENV_FILE...  (the stack's .env, or other NAME=value files)   Prints JSON {"layers": n, "env_files": [...], "secret_hits": [...]}
(secret_hits names the variable and layer, never the value).
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile

SECRET_NAMES = ("JWT_SECRET", "HEALTH_TOKEN", "POSTGRES_PASSWORD", "SUPABASE_ANON_KEY", "DATABASE_URL")


def read_secrets(paths: list[str]) -> dict[str, bytes]:
    secrets = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                name, sep, value = line.strip().partition("=")
                # The stack's .env names a secret <SERVICE>__<NAME>.
                name, value = name.rpartition("__")[2], value.strip("'\"")
                if sep and name in SECRET_NAMES and len(value) >= 8:
                    secrets[name] = value.encode()
    return secrets


def main() -> int:
    image, env_files = sys.argv[1], sys.argv[2:]
    secrets = read_secrets(env_files)
    saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
    report = {"layers": 0, "env_files": [], "secret_hits": [], "secrets_checked": sorted(secrets)}
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        for member in outer.getmembers():
            if not member.name.endswith("layer.tar"):
                continue
            report["layers"] += 1
            with tarfile.open(fileobj=outer.extractfile(member)) as layer:
                for entry in layer.getmembers():
                    base = entry.name.rsplit("/", 1)[-1]
                    if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
                        report["env_files"].append(entry.name)
                    if entry.isfile():
                        data = layer.extractfile(entry).read()
                        report["secret_hits"].extend(
                            f"{name} in {entry.name}" for name, value in secrets.items() if value in data
                        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
