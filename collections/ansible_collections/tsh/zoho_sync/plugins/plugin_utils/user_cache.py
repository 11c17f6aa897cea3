# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a health check would otherwise recompute in every host's process, kept between runs in
one per-user directory: Jinja's own (``<tmp>/_jinja2-cache-<uid>``: created 0700, refused when
another user owns it or it is not a directory), beside the compiled report templates.

Every entry is named by a fingerprint of what it was computed from, so a stale entry is never
read; a cache that cannot be read or written costs the computation, never the run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import tempfile

import jinja2

PREFIX = "tsh.zoho_sync-"
_DIRECTORY = []


def directory():
    """The per-user cache directory, or None when there is no safe one."""
    if not _DIRECTORY:
        try:
            _DIRECTORY.append(jinja2.FileSystemBytecodeCache().directory)
        except (OSError, RuntimeError):
            _DIRECTORY.append(None)
    return _DIRECTORY[0]


def fingerprint(*parts):
    """A short digest of ``parts`` (their repr)."""
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:16]


def read_text(kind, key):
    """The text kept under ``kind`` and ``key``, or None."""
    base = directory()
    if base is None:
        return None
    try:
        with open(os.path.join(base, "%s%s-%s" % (PREFIX, kind, key)), "r", encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def write_text(kind, key, text):
    """Keep ``text`` under ``kind`` and ``key`` (replaced atomically; errors ignored)."""
    base = directory()
    if base is None:
        return
    try:
        handle, temp = tempfile.mkstemp(dir=base, prefix=".%s%s-" % (PREFIX, kind))
    except (IOError, OSError):
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, os.path.join(base, "%s%s-%s" % (PREFIX, kind, key)))
    except (IOError, OSError):
        try:
            os.unlink(temp)
        except OSError:
            pass
