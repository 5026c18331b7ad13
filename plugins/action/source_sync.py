# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller half of backendops.stack.source_sync: pack the source here, upload it only when the host's copy differs."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.backendops.stack.plugins.module_utils.source_archive import SourceError, build_archive

MODULE = "backendops.stack.source_sync"


class ActionModule(ActionBase):

    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("src", "dest"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # no longer has any effect
        src, dest = self._task.args.get("src"), self._task.args.get("dest")
        if not src or not dest:
            result.update(failed=True, msg="source_sync needs src (the source on the controller) and dest (its copy on the host)")
            return result
        src = os.path.abspath(os.path.expanduser(str(src)))
        try:
            archive = build_archive(src)
        except SourceError as exc:
            result.update(failed=True, msg="Cannot pack the app's source on the controller: %s" % exc)
            return result
        args = dict(src=src, dest=dest, digest=archive.digest)
        try:
            # First ask whether the host's copy differs, so an unchanged source is never uploaded.
            probe = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
            if probe.get("failed") or not probe.get("changed") or self._task.check_mode:
                result.update(probe)
            else:
                shell = self._connection._shell
                remote = shell.join_path(shell.tmpdir or self._make_tmp_path(), "source.tar.gz")
                self._transfer_data(remote, archive.data)
                self._fixup_perms2((shell.tmpdir, remote), execute=False)
                result.update(self._execute_module(module_name=MODULE, module_args=dict(args, archive=remote), task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result["files"] = len(archive.files)
        result["withheld"] = archive.withheld
        links = [entry["path"] for entry in archive.withheld if "link" in entry]
        if links:
            # Not an error (railway up follows links too), but the copy lacks files the source seems to have.
            result.setdefault("warnings", []).append(
                "source_sync left out symbolic links that lead out of %s or onto a withheld name (see withheld): %s"
                % (src, ", ".join(links)))
        return result
