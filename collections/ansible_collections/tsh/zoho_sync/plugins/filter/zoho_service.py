# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn what the zoho_service role read on the host (``systemctl show``, ``docker
inspect`` and the worker log summary of ``files/worker_log_summary.sh``) into the
fact ``zoho_service_status``.

``zoho_service_status`` (see the role's README / meta/argument_specs.yml)::

    manager: systemd | docker | none
    managed: true when manager is systemd or docker
    names: [unit or container names]
    overall: running | stopped | unknown
        running: at least one unit/container is active (blue/green: one is enough);
        stopped: every one was read and none is active (missing ones count as stopped);
        unknown: none is active and at least one could not be read, or manager none.
    reason: one line saying why (empty when running)
    active: [names that are active]
    units: {name: {name, state, active (true/false/null), sub_state, since, restarts,
                   pid, health, error}}
    workers:                       # from the service's own log, last window_minutes
        read: true when at least one log was read
        window_minutes, lines, counts: {started, processing, processed, retried, dead_lettered},
        last_activity_at (ISO 8601 UTC or null), last_started_at,
        seconds_since_activity (host clock, null when no activity line in the window),
        per_name: {name: {read, lines, counts, last_activity_at, error}}, error
    checked_at: ISO 8601 UTC (host clock when the log was read, else control node)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible.errors import AnsibleFilterError

MANAGERS = ("systemd", "docker", "none")
COUNT_KEYS = ("started", "processing", "processed", "retried", "dead_lettered")


def names_list(names):
    """A unit name, or a list of them (blue/green), as a list of non-empty strings."""
    if names is None:
        return []
    if isinstance(names, (list, tuple)):
        out = []
        for n in names:
            out.extend(names_list(n))
        return out
    text = str(names).strip()
    return [text] if text else []


def _iso(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_log_time(text):
    """A journal short-unix time (epoch seconds) or a docker RFC 3339 time -> epoch."""
    if text is None:
        return None
    text = str(text).strip()
    if not text or text == "-":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    value = text
    if value.endswith("Z") or value.endswith("z"):
        value = value[:-1] + "+00:00"
    # docker prints nanoseconds; Python reads at most microseconds
    if "." in value:
        head, _dot, rest = value.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits += rest[0]
            rest = rest[1:]
        value = "%s.%s%s" % (head, (digits + "000000")[:6], rest)
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _result_text(result, key):
    value = result.get(key) if isinstance(result, dict) else None
    return value if isinstance(value, str) else ""


def _error_of(result):
    text = _result_text(result, "stderr").strip() or _result_text(result, "msg").strip() \
        or _result_text(result, "stdout").strip()
    return text.splitlines()[-1] if text else "exit code %s" % (result.get("rc") if isinstance(result, dict) else "?")


def _systemd_unit(name, result):
    unit = {"name": name, "state": "unknown", "active": None, "sub_state": None, "since": None,
            "restarts": None, "pid": None, "health": None, "error": None}
    if not isinstance(result, dict) or result.get("skipped"):
        unit["error"] = "not read"
        return unit
    props = {}
    for line in _result_text(result, "stdout").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    if result.get("rc") not in (0, None) or "ActiveState" not in props:
        unit["error"] = "systemctl show %s failed: %s" % (name, _error_of(result))
        return unit
    load, active = props.get("LoadState"), props.get("ActiveState")
    unit["sub_state"] = props.get("SubState") or None
    unit["since"] = props.get("ActiveEnterTimestamp") or None
    for key, prop in (("restarts", "NRestarts"), ("pid", "MainPID")):
        try:
            unit[key] = int(props.get(prop))
        except (TypeError, ValueError):
            pass
    if load == "not-found":
        unit.update(state="missing", active=False)
    elif active in ("active", "reloading"):
        unit.update(state="active", active=True)
    elif active in ("inactive", "failed", "deactivating"):
        unit.update(state=active, active=False)
    elif active == "activating":
        # starting (or restarting in a loop): not serving yet
        unit.update(state="activating", active=False)
    else:
        unit["error"] = "unexpected ActiveState %r" % active
    return unit


def _docker_container(name, result):
    unit = {"name": name, "state": "unknown", "active": None, "sub_state": None, "since": None,
            "restarts": None, "pid": None, "health": None, "error": None}
    if not isinstance(result, dict) or result.get("skipped"):
        unit["error"] = "not read"
        return unit
    if result.get("rc") != 0:
        error = _error_of(result)
        if "no such container" in error.lower() or "no such object" in error.lower():
            unit.update(state="missing", active=False)
        else:
            unit["error"] = "docker inspect %s failed: %s" % (name, error)
        return unit
    try:
        data = json.loads(_result_text(result, "stdout") or "[]")
        info = data[0] if isinstance(data, list) else data
        state = info.get("State") or {}
    except (ValueError, IndexError, AttributeError):
        unit["error"] = "docker inspect %s printed no container state" % name
        return unit
    unit["sub_state"] = state.get("Status")
    unit["since"] = state.get("StartedAt")
    unit["pid"] = state.get("Pid")
    unit["restarts"] = info.get("RestartCount")
    health = state.get("Health")
    if isinstance(health, dict):
        unit["health"] = health.get("Status")
    if state.get("Running") and not state.get("Restarting"):
        unit.update(state="running", active=True)
    else:
        unit.update(state=state.get("Status") or "stopped", active=False)
    return unit


def _parse_logs(text, names, window):
    workers = {"read": False, "window_minutes": window, "lines": 0,
               "counts": dict((k, 0) for k in COUNT_KEYS), "last_activity_at": None,
               "last_started_at": None, "seconds_since_activity": None, "per_name": {}, "error": None}
    host_now = None
    last = last_started = None
    errors = []
    for line in (text or "").splitlines():
        fields = line.split("\t")
        if fields[0] == "now" and len(fields) > 1:
            try:
                host_now = float(fields[1])
            except ValueError:
                pass
        elif fields[0] == "log" and len(fields) >= 12:
            name, rc = fields[1], fields[2]
            entry = {"read": rc == "0", "lines": 0, "counts": {}, "last_activity_at": None, "error": None}
            if rc != "0":
                entry["error"] = fields[11] or "log reader exited with %s" % rc
                errors.append("%s: %s" % (name, entry["error"]))
            else:
                try:
                    entry["lines"] = int(fields[3])
                    entry["counts"] = dict(zip(COUNT_KEYS, (int(v) for v in fields[4:9])))
                except ValueError:
                    entry.update(read=False, error="unreadable log summary")
                    errors.append("%s: unreadable log summary" % name)
                t_last, t_started = parse_log_time(fields[9]), parse_log_time(fields[10])
                entry["last_activity_at"] = _iso(t_last)
                if entry["read"]:
                    workers["lines"] += entry["lines"]
                    for key in COUNT_KEYS:
                        workers["counts"][key] += entry["counts"].get(key, 0)
                    if t_last is not None and (last is None or t_last > last):
                        last = t_last
                    if t_started is not None and (last_started is None or t_started > last_started):
                        last_started = t_started
            workers["per_name"][name] = entry
    workers["read"] = any(e["read"] for e in workers["per_name"].values())
    workers["last_activity_at"] = _iso(last)
    workers["last_started_at"] = _iso(last_started)
    if last is not None and host_now is not None:
        workers["seconds_since_activity"] = round(max(0.0, host_now - last), 1)
    if not workers["read"]:
        missing = [n for n in names if n not in workers["per_name"]]
        if missing and not errors:
            errors.append("no log summary for %s" % ", ".join(missing))
        workers["error"] = "; ".join(errors) or "the worker log was not read"
    return workers, host_now


def zoho_service_summary(manager, names=None, states=None, logs=None, window_minutes=60, checked_at=None):
    """Build ``zoho_service_status`` from the registered results of the role's tasks.

    ``states``: the loop results of ``systemctl show`` / ``docker inspect`` (a registered
    loop variable, or its ``results`` list); ``logs``: the registered result of the log
    summary script (or its stdout text).
    """
    manager = str(manager or "none").strip().lower()
    if manager not in MANAGERS:
        raise AnsibleFilterError("zoho_service_manager must be one of %s, got %r" % (", ".join(MANAGERS), manager))
    names = names_list(names)
    status = {"manager": manager, "managed": manager != "none", "names": names, "overall": "unknown",
              "reason": "", "active": [], "units": {}, "workers": None,
              "checked_at": checked_at}
    if manager == "none":
        status["reason"] = "not managed: zoho_service_manager is none (database-only host)"
        status["workers"] = {"read": False, "window_minutes": window_minutes, "lines": 0,
                             "counts": dict((k, 0) for k in COUNT_KEYS), "last_activity_at": None,
                             "last_started_at": None, "seconds_since_activity": None, "per_name": {},
                             "error": "not read: no service manager"}
        return status
    if not names:
        raise AnsibleFilterError("zoho_service_name must name at least one %s" %
                                 ("unit" if manager == "systemd" else "container"))

    results = states.get("results", []) if isinstance(states, dict) else (states or [])
    by_item = {}
    for result in results:
        if isinstance(result, dict):
            by_item[str(result.get("item"))] = result
    parse = _systemd_unit if manager == "systemd" else _docker_container
    for name in names:
        status["units"][name] = parse(name, by_item.get(name))

    units = list(status["units"].values())
    status["active"] = [u["name"] for u in units if u["active"] is True]
    if status["active"]:
        status["overall"] = "running"
    elif units and all(u["active"] is False for u in units):
        status["overall"] = "stopped"
        status["reason"] = "; ".join("%s is %s" % (u["name"], u["state"]) for u in units)
    else:
        status["overall"] = "unknown"
        status["reason"] = "; ".join("%s: %s" % (u["name"], u["error"] or u["state"]) for u in units)

    log_text = logs.get("stdout") if isinstance(logs, dict) else logs
    if isinstance(logs, dict) and (logs.get("skipped") or (logs.get("rc") not in (0, None) and not log_text)):
        workers, host_now = _parse_logs("", names, window_minutes)
        workers["error"] = "the worker log was not read: %s" % (_error_of(logs) if not logs.get("skipped") else "skipped")
    else:
        workers, host_now = _parse_logs(log_text or "", names, window_minutes)
    status["workers"] = workers
    if host_now is not None:
        status["checked_at"] = _iso(host_now)
    return status


class FilterModule(object):
    def filters(self):
        return {
            "zoho_service_summary": zoho_service_summary,
            "zoho_service_names": names_list,
        }
