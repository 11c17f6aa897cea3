# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace a file on the control node atomically, for the controller-side action plugins
(reports, alert state): a reader sees the old file or the new one, never half of one, and
a crash leaves no partial file under the real name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import tempfile
import time

from ansible_collections.tsh.zoho_sync.plugins.module_utils.paths import fsync_dir, make_dir


def parse_mode(value, default):
    """A file mode from a task argument: an int, an octal string such as '0640', or
    ``default`` when not given; ValueError otherwise."""
    if value is None or value == "":
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip(), 8)
    except ValueError:
        raise ValueError("mode must be an octal string such as '0640', got %r" % (value,))


def write_atomic(path, text, mode, dir_mode=None):
    """Make ``path`` hold ``text`` (UTF-8) with ``mode``: a temporary file in the same
    directory (its name starts with a dot), fsync'd, renamed over ``path``, the directory
    fsync'd. With ``dir_mode`` a missing directory is created first. Returns False when the
    file already held exactly ``text`` (only its mode is set), True when it was written."""
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                os.chmod(path, mode)
                return False
    except (IOError, OSError):
        pass
    directory = os.path.dirname(path) or "."
    if dir_mode is not None:
        make_dir(directory, dir_mode)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(directory)
    return True


def prune_old(directory, patterns, keep_days, keep=()):
    """Remove the files of ``directory`` matching one of the shell ``patterns`` whose
    modification time is more than ``keep_days`` days ago, never a name in ``keep``.
    Returns the removed paths."""
    removed = []
    cutoff = time.time() - float(keep_days) * 86400
    keep = set(str(n) for n in keep)
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if entry in keep or not os.path.isfile(path):
            continue
        if any(fnmatch.fnmatch(entry, p) for p in patterns) and os.path.getmtime(path) < cutoff:
            os.unlink(path)
            removed.append(path)
    return removed
