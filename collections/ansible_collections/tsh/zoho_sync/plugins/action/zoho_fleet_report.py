# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the fleet summary of a health run on the control node: every host's state, its
first diagnosis and the link to its report, and the hosts that could not be read.

The inputs are read here (each host's report and failure from hostvars, the older
latest.json of a host without a report this run); the summary and its pages are pure
functions (plugin_utils/fleet_summary.py, fleet_render.py); the files are replaced
atomically (plugin_utils/atomic_file.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.tsh.zoho_sync.plugins.action.zoho_display import ANSI_RE, use_color
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.atomic_file import make_dir, parse_mode, prune_old, write_atomic
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.fleet_render import render_html, render_text
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.fleet_summary import summarize
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import flag

PRUNE_PATTERNS = ("fleet-*.json", "fleet-*.html")
display = Display()


def _names(value, what):
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list of host names" % what)
    return [str(v) for v in value]


def _read_json(path):
    """The dict in ``path``, or None when it is missing or not a JSON object."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _host_facts(hostvars, host):
    """The variables of ``host`` as they are: the facts and results read here were templated
    when they were set, and templating a report of every host again costs more than the
    rest of the summary (HostVars.raw_get skips it)."""
    try:
        raw = getattr(hostvars, "raw_get", None)
        values = raw(host) if raw is not None else hostvars[host]
    except (KeyError, TypeError):
        return {}
    return values if hasattr(values, "get") else {}


def _is_config_mistake(failure):
    """True for the failure playbooks/health.yml recorded of a configuration mistake."""
    if not hasattr(failure, "get"):
        return False
    value = failure.get("config")
    return value is True or str(value).strip().lower() == "true"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("hosts", "active_hosts", "dir", "report_root", "keep_days", "mode", "dir_mode",
                             "report_fact", "failure_fact", "probe_fact", "host_dir_fact", "limit",
                             "stats", "show", "color"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        try:
            hosts = _names(args.get("hosts"), "hosts")
            active = set(_names(args.get("active_hosts"), "active_hosts")) if args.get("active_hosts") is not None \
                else set(hosts)
            directory = args.get("dir")
            if not directory or not isinstance(directory, str):
                raise ValueError("dir is required")
            directory = os.path.abspath(os.path.expanduser(directory))
            root = args.get("report_root") or os.path.dirname(directory)
            root = os.path.abspath(os.path.expanduser(str(root)))
            keep_days = args.get("keep_days")
            keep_days = 14.0 if keep_days in (None, "") else float(keep_days)
            if keep_days < 0:
                raise ValueError("keep_days must not be negative")
            mode = parse_mode(args.get("mode"), 0o640)
            dir_mode = parse_mode(args.get("dir_mode"), 0o750)
            facts = dict((k, str(args.get(k) or default)) for k, default in (
                ("report_fact", "zoho_health_report"), ("failure_fact", "zoho_fleet_failure"),
                ("probe_fact", "zoho_fleet_reach"), ("host_dir_fact", "zoho_health_host_dir")))
            show = args.get("show", False)
            show = (len(hosts) > 1) if str(show).strip().lower() == "auto" else flag(show)
            color = use_color(args.get("color", "auto")) if show else False
        except (TypeError, ValueError) as exc:
            result.update(failed=True, msg=str(exc))
            return result

        hostvars = task_vars.get("hostvars") or {}
        # each host's variables read once (what that costs grows with the size of its report)
        values = dict((h, _host_facts(hostvars, h)) for h in hosts)
        mistaken = [h for h in hosts if _is_config_mistake(values[h].get(facts["failure_fact"]))]
        if hosts and len(mistaken) == len(hosts):
            # a configuration mistake writes no report (and nothing of it a fleet summary):
            # the hosts are failed again with their own message after this
            result.update(changed=False, written=[], removed=[], failing=mistaken,
                          ansible_facts={"zoho_fleet_failing": mistaken},
                          msg="a configuration mistake on every host: no fleet summary")
            return result
        inputs = [self._host_input(values[host], host, host in active, directory, root, facts) for host in hosts]
        now = datetime.datetime.now(datetime.timezone.utc)
        limit = args.get("limit")
        summary = summarize(inputs, now.strftime("%Y-%m-%dT%H:%M:%SZ"), limit=str(limit) if limit else None)
        page = os.path.join(directory, "latest.html")
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        html, data = render_html(summary), json.dumps(summary, indent=2, sort_keys=True) + "\n"
        files = {"latest.json": data, "latest.html": html,
                 "fleet-%s.json" % stamp: data, "fleet-%s.html" % stamp: html}
        result.update(summary=summary, text=render_text(summary, ansi=True, page=page), page=page,
                      failing=summary["failing"], ansible_facts={"zoho_fleet_failing": summary["failing"]})
        if flag(args.get("stats", False)):
            # what ansible.builtin.set_stats publishes (per_host false, aggregate false): in AWX the
            # job's artifacts, on the command line shown only with show_custom_stats
            result["ansible_stats"] = {"data": {"zoho_fleet": dict(summary, page=page)}, "per_host": False,
                                       "aggregate": False}
        if self._task.check_mode:
            result.update(changed=False, written=[], removed=[], msg="check mode: nothing written")
            self._show(result, show, color)
            return result
        written = []
        try:
            make_dir(directory, dir_mode)
            for name in sorted(files):
                path = os.path.join(directory, name)
                write_atomic(path, files[name], mode)
                written.append(path)
            removed = prune_old(directory, PRUNE_PATTERNS, keep_days, keep=files)
        except (IOError, OSError) as exc:
            result.update(failed=True, msg="Cannot write the fleet summary in %s: %s" % (directory, exc))
            return result
        result.update(changed=True, written=written, removed=removed)
        self._show(result, show, color)
        return result

    @staticmethod
    def _show(result, show, color):
        """The terminal section, as tsh.zoho_sync.zoho_display shows it."""
        if show:
            text = result["text"] if color else ANSI_RE.sub("", result["text"])
            display.display(text.rstrip("\n"), screen_only=True)

    @staticmethod
    def _host_input(values, host, in_play, directory, root, facts):
        report = values.get(facts["report_fact"])
        failure = values.get(facts["failure_fact"])
        probe = values.get(facts["probe_fact"])
        host_dir = values.get(facts["host_dir_fact"]) or os.path.join(root, host)
        host_dir = os.path.abspath(os.path.expanduser(str(host_dir)))
        latest = os.path.join(host_dir, "latest.json")
        on_disk = _read_json(latest)
        html = os.path.join(host_dir, "latest.html")
        report = report if isinstance(report, dict) else None
        links = {"html": os.path.relpath(html, directory), "json": os.path.relpath(latest, directory),
                 "exists": os.path.isfile(html),
                 # the file on disk is this run's report (not one left by an earlier run)
                 "current": bool(report and on_disk and on_disk.get("generated_at") == report.get("generated_at")
                                 and on_disk.get("host") == report.get("host"))}
        last = None
        if on_disk and not links["current"]:
            last = {"generated_at": on_disk.get("generated_at"), "overall": on_disk.get("overall")}
        unreachable = None
        if isinstance(probe, dict) and probe.get("unreachable"):
            unreachable = str(probe.get("msg") or "the host could not be reached")
        return {"host": host, "report": report, "failure": failure if isinstance(failure, dict) else None,
                "unreachable": unreachable, "in_play": in_play, "links": links, "last_report": last}
