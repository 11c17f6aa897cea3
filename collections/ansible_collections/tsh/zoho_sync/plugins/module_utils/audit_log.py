# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit trail of heal runs: one JSON line per action, appended under an exclusive
flock with a single O_APPEND write and fsync'd, plus a short form to syslog. Used by
the zoho_audit action plugin, on the controller (modules/zoho_audit.py is its
documentation). Secrets are masked whatever the caller passes."""

import datetime
import fcntl
import json
import os
import pwd
import re
import socket
import time

from ansible_collections.tsh.zoho_sync.plugins.module_utils.paths import make_dir

SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|api_?key|authori[sz]ation|credential", re.I)
FACILITIES = {"user": 1, "daemon": 3, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
              "local4": 20, "local5": 21, "local6": 22, "local7": 23}
SYSLOG_MAX = 1800
TAG_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")

# The options of tsh.zoho_sync.zoho_audit (documented in modules/zoho_audit.py).
ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    record=dict(type="dict", required=True),
    syslog=dict(type="bool", default=True),
    syslog_socket=dict(type="path", default="/dev/log"),
    syslog_tag=dict(type="str", default="tsh-zoho-sync"),
    facility=dict(type="str", default="user", choices=sorted(FACILITIES)),
)


class AuditError(Exception):
    """A failure worded for the operator."""


def redact(value):
    if isinstance(value, dict):
        return dict((k, "********" if SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v))
                    for k, v in value.items())
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def short_form(value):
    """The record for syslog: lists of ids become their length."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, list) and (key == "ids" or str(key).endswith("_ids")):
                out[str(key) + "_count"] = len(item)
            else:
                out[key] = short_form(item)
        return out
    if isinstance(value, list):
        return [short_form(v) for v in value]
    return value


def current_user():
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def build_line(record):
    """The JSON line of a record: secrets masked, ts and user added when missing."""
    if not isinstance(record, dict):
        raise AuditError("record must be a dictionary")
    record = redact(dict(record))
    record.setdefault("ts", datetime.datetime.now(datetime.timezone.utc).isoformat())
    record.setdefault("user", current_user())
    if os.environ.get("SUDO_USER"):
        record.setdefault("sudo_user", os.environ["SUDO_USER"])
    try:
        line = json.dumps(record, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise AuditError("record cannot be written as JSON: %s" % exc)
    return record, line


def append_line(path, line):
    directory = os.path.dirname(os.path.abspath(path))
    try:
        make_dir(directory, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = (line + "\n").encode("utf-8")
            if os.write(fd, data) != len(data):
                raise AuditError("short write to the audit log %s (disk full?)" % path)
            os.fsync(fd)
        finally:
            os.close(fd)
    except (IOError, OSError) as exc:
        raise AuditError("Cannot append to the audit log %s: %s" % (path, exc))


def send_syslog(path, tag, facility, text):
    """Send one message the way logger(1) does on the local socket; None or the error."""
    pri = FACILITIES[facility] * 8 + 6  # info
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime())
    data = ("<%d>%s %s[%d]: %s" % (pri, stamp, tag, os.getpid(), text)).encode("utf-8")[:4096]
    error = None
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        sock = socket.socket(socket.AF_UNIX, kind)
        try:
            sock.settimeout(2)
            sock.connect(path)
            sock.send(data if kind == socket.SOCK_DGRAM else data + b"\n")
            return None
        except socket.error as exc:
            error = exc
        finally:
            sock.close()
    return error


def audit(path, record, check_mode=False, syslog=True, syslog_socket="/dev/log", syslog_tag="tsh-zoho-sync",
          facility="user"):
    """Append ``record``; returns (result dict, warnings list). Raises AuditError."""
    if not path:
        raise AuditError("path is required")
    if not TAG_RE.match(str(syslog_tag)):
        raise AuditError("syslog_tag must be 1-32 letters, digits, '.', '_' or '-'")
    if facility not in FACILITIES:
        raise AuditError("facility must be one of %s" % ", ".join(sorted(FACILITIES)))
    record, line = build_line(record)
    result = {"changed": False, "line": line, "path": path, "syslog_sent": False}
    warnings = []
    if check_mode:
        return result, warnings
    append_line(path, line)
    result["changed"] = True
    if syslog:
        text = json.dumps(short_form(record), sort_keys=True, default=str, ensure_ascii=False)
        if len(text) > SYSLOG_MAX:
            text = text[:SYSLOG_MAX] + "...(truncated; full record in %s)" % path
        if not os.path.exists(syslog_socket):
            warnings.append("syslog socket %s does not exist; the audit record is in %s only" % (syslog_socket, path))
        else:
            error = send_syslog(syslog_socket, syslog_tag, facility, text)
            if error is None:
                result["syslog_sent"] = True
            else:
                warnings.append("Cannot send the audit record to syslog (%s): %s" % (syslog_socket, error))
    return result, warnings
