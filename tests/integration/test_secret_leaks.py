# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret-leak scan of docs/evidence.md: canary secrets must show up nowhere but in the 0600 env files.

One scan per module (a stack of its own, removed afterwards); each target is a test, so a leak names its place.
`docker inspect` of the containers shows the env-file values as container Env (Compose's env_file): that is
counted as a leak. It is a known, open finding (issue 7): the test is a strict xfail until the stack passes secrets
another way (Compose secrets mounted as files and *_FILE variables), and then fails to say the marker can go.
"""
from __future__ import annotations

import pytest

from evidence.railway_playbook import NOT_AVAILABLE, railway_yml_available
from evidence.secret_leaks import RAILWAY_TARGETS, TARGETS, scan_local_stack, scan_railway


@pytest.fixture(name="local_scan", scope="module")
def local_scan_fixture(tmp_path_factory):
    scan = scan_local_stack(tmp_path_factory.mktemp("leaks"))
    assert not scan.notes, scan.notes
    return scan


INSPECT_FINDING = pytest.mark.xfail(
    strict=True,
    reason="known finding: Compose env_file values are container Env, so docker inspect shows them (issue 7, open)")


@pytest.mark.parametrize("target", [
    pytest.param(target, marks=INSPECT_FINDING) if target == "docker inspect" else target for target in TARGETS])
def test_local_stack_leaks_no_secret(local_scan, target):
    assert local_scan.scanned.get(target), f"nothing was scanned for {target}"
    leaks = local_scan.leaks_in(target)
    assert not leaks, f"{len(leaks)} secret(s) in {target}:\n" + "\n".join(map(str, leaks))


@pytest.fixture(name="railway_scan", scope="module")
def railway_scan_fixture(tmp_path_factory):
    if not railway_yml_available():
        pytest.skip(NOT_AVAILABLE)
    scan = scan_railway(tmp_path_factory.mktemp("railway-leaks"))
    assert not scan.notes, scan.notes
    return scan


@pytest.mark.parametrize("target", RAILWAY_TARGETS)
def test_railway_playbook_leaks_no_secret(railway_scan, target):
    assert railway_scan.scanned.get(target), f"nothing was scanned for {target}"
    leaks = railway_scan.leaks_in(target)
    assert not leaks, f"{len(leaks)} secret(s) in {target}:\n" + "\n".join(map(str, leaks))
