# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File-system helpers shared by the modules and the controller-side plugins.

Can this process write a file or directory that may not exist yet?

Asked before anything changes (a heal must not act when it could not audit the action,
a cleanup must not delete when it could not back the rows up), so the answer comes from
the path itself: the path if it exists, else the nearest existing ancestor, which must
be a directory this user can write into. Root ignores permission bits, so a path below
a regular file is the case that fails for everyone."""

import os


def make_dir(directory, dir_mode):
    """Create ``directory`` (and its parents) unless it exists; True when this call created it.
    Several hosts' runs go on at once and share directories (the Prometheus textfile's, a
    report root, the audit log's): one of them creating it first is no error."""
    if os.path.isdir(directory):
        return False
    try:
        os.makedirs(directory, dir_mode)
    except OSError:
        if not os.path.isdir(directory):
            raise
        return False
    return True


def write_problem(path, is_dir=False):
    """None when ``path`` can be written (or created), else the reason in one line."""
    if not path:
        return "no path given"
    path = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.exists(path):
        if is_dir and not os.path.isdir(path):
            return "%s exists and is not a directory" % path
        if not is_dir and os.path.isdir(path):
            return "%s is a directory, not a file" % path
        if not os.access(path, os.W_OK | (os.X_OK if is_dir else 0)):
            return "%s is not writable by this user" % path
        return None
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return "no existing directory above %s" % path
        probe = parent
    if not os.path.isdir(probe):
        return "%s cannot be created: %s is not a directory" % (path, probe)
    if not os.access(probe, os.W_OK | os.X_OK):
        return "%s cannot be created: %s is not writable by this user" % (path, probe)
    return None


def fsync_dir(directory):
    """Make a rename or a new file in ``directory`` durable (best effort: some file
    systems refuse to fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
