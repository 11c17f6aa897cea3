# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Memory and disk usage of the machine this runs on, in the shape the health report
reads (``memory``: ``read``, ``error``, ``total_mb``, ``available_mb``, ``used_pct``, ...;
each disk: ``path``, ``where``, ``read``, ``error``, ``mount``, ``size_mb``, ``used_mb``,
``available_mb``, ``used_pct``). Used by the zoho_host_facts module on a managed host and
by its action plugin on the control node (no module process there). A value that cannot
be read is returned with ``read: false`` and the reason, never as zero."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

MEMINFO = "/proc/meminfo"


def _pct(used, total):
    return round(100.0 * used / total, 1) if total else 0


def parse_meminfo(text):
    """The memory facts from the text of /proc/meminfo."""
    values = {}
    for line in (text or "").splitlines():
        key, sep, rest = line.partition(":")
        if sep and rest.split():
            try:
                values[key.strip()] = int(rest.split()[0])
            except ValueError:
                pass
    total, available = values.get("MemTotal"), values.get("MemAvailable")
    if available is None and total is not None and "MemFree" in values:
        available = values["MemFree"] + values.get("Buffers", 0) + values.get("Cached", 0)
    if not total:
        return {"read": False, "error": "no MemTotal in %s" % MEMINFO}
    available = available or 0
    used_pct = _pct(total - available, total)
    return {
        "read": True, "error": None, "total_mb": total // 1024, "available_mb": available // 1024,
        "used_pct": int(used_pct) if used_pct == int(used_pct) else used_pct,
        "swap_total_mb": values.get("SwapTotal", 0) // 1024,
        "swap_used_mb": (values.get("SwapTotal", 0) - values.get("SwapFree", 0)) // 1024,
    }


def read_memory(path=MEMINFO):
    try:
        with open(path) as handle:
            return parse_meminfo(handle.read())
    except (IOError, OSError) as exc:
        return {"read": False, "error": "cannot read %s: %s" % (path, exc.strerror or exc)}


def disk_usage(path, where):
    """Disk usage of ``path``, read from the nearest existing directory (a report
    directory may not exist before the first run)."""
    disk = {"path": path, "where": where, "read": False, "error": None}
    probe = os.path.abspath(os.path.expanduser(str(path)))
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        st = os.statvfs(probe)
    except OSError as exc:
        disk["error"] = "cannot read %s: %s" % (probe, exc.strerror or exc)
        return disk
    size = st.f_blocks * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    used_pct = _pct(used, used + avail)
    disk.update(read=True, mount=probe, size_mb=size // 1048576, used_mb=used // 1048576,
                available_mb=avail // 1048576, used_pct=int(used_pct) if used_pct == int(used_pct) else used_pct)
    return disk


def host_facts(paths, where):
    """Memory and the disks of ``paths`` of this machine."""
    return {"memory": read_memory(), "disks": [disk_usage(p, where) for p in paths or [] if p]}
