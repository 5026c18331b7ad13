# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m tools.railway_emulator``: run the emulator until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from tools.railway_emulator.emulator import Emulator, EmulatorConfig
from tools.railway_emulator.server import ADMIN_PREFIX, GRAPHQL_PATH, EmulatorServer

DEFAULTS = EmulatorConfig()


def _non_negative(kind):
    def convert(text: str):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value
    return convert


def _positive(kind):
    def convert(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return convert


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.railway_emulator", description="Local emulator of Railway's public API (backboard).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=_non_negative(int), default=0, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--ready-file", type=Path, help="write connection details as JSON here once listening")
    parser.add_argument("--seed", type=Path, help="JSON state to start from (same shape as GET /_emulator/state)")
    parser.add_argument("--empty", action="store_true", help="start with the account, workspaces and tokens but no project (ignored with --seed)")
    parser.add_argument("--phase-seconds", type=_non_negative(float), default=DEFAULTS.phase_seconds,
                        help="emulated seconds each deployment phase lasts (default: %(default)s)")
    parser.add_argument("--clock-scale", type=_non_negative(float), default=DEFAULTS.clock_scale,
                        help="emulated seconds per real second; 0 freezes the clock (admin advance only) (default: %(default)s)")
    parser.add_argument("--rate-limit", type=_non_negative(int), default=DEFAULTS.rate_limit,
                        help="requests per window per token; 0 disables (default: %(default)s)")
    parser.add_argument("--rate-window", type=_positive(float), default=DEFAULTS.rate_window,
                        help="rate-limit window in emulated seconds (default: %(default)s)")
    parser.add_argument("--max-upload-bytes", type=_positive(int), default=DEFAULTS.max_upload_bytes,
                        help="larger uploads get 413 (default: %(default)s)")
    parser.add_argument("--upload-dir", type=Path, help="keep every uploaded archive here as <deployment id>.tar.gz")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = EmulatorConfig(phase_seconds=args.phase_seconds, clock_scale=args.clock_scale, rate_limit=args.rate_limit,
                            rate_window=args.rate_window, max_upload_bytes=args.max_upload_bytes, seed_path=str(args.seed) if args.seed else None,
                            empty=args.empty,
                            upload_dir=str(args.upload_dir) if args.upload_dir else None)
    try:
        emulator = Emulator(config)
    except (OSError, ValueError) as exc:
        print(f"railway emulator: cannot load seed {args.seed}: {exc}", file=sys.stderr)
        return 2
    try:
        server = EmulatorServer((args.host, args.port), emulator)
    except OSError as exc:
        print(f"railway emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # serve_forever runs in a thread: shutdown() must be called from another thread than the serving one.
    serving = threading.Thread(target=server.serve_forever, name="railway-emulator", daemon=True)
    serving.start()

    url = f"{server.base_url}{GRAPHQL_PATH}"
    print(f"Railway emulator listening on {url}", flush=True)
    if args.ready_file:
        _write_ready_file(args.ready_file, {"url": url, "base_url": server.base_url, "admin_url": server.base_url + ADMIN_PREFIX,
                                            "pid": os.getpid(), **emulator.tokens()})
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=5)
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)
    print("Railway emulator stopped", file=sys.stderr, flush=True)
    return 0


def _write_ready_file(path: Path, details: dict) -> None:
    # Written then renamed, so a reader polling for the file never sees half of it.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(details), encoding="utf-8")
    partial.replace(path)
