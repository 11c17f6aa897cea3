# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tsh.zoho_sync.zoho_health_run: one health check of one host in one task - the settings check
(thresholds, error rules, zoho_* names nothing reads: CONFIG ERROR before anything is read), the
queue facts (the one module process of the check, on the host), the service state, the host facts, how the
run was started, the report, its four renderings, the files, the history, the Prometheus
textfile on the control node, the terminal summary and the outcome (zoho_health_outcome: whether
the host fails and with which message; the role's last task or health.yml fails it).

Each step was a task of the zoho_health role, and what a task costs (a worker process, the
templating of its variables, the callbacks) was most of a run: here the controller-side steps
run in the controller's own process, one after the other. The steps are the same functions the
tasks called - the filters of plugins/filter/ (pure functions), the templates of the role
(rendered by plugin_utils/report_render.py as the template lookup renders them), the writers of
plugin_utils - so the reports, the history, the export and the output are those the tasks wrote. The only implementation;
modules/zoho_health_run.py holds its documentation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import importlib
import io
import json
import os
import sys

from ansible import context
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader
from ansible.utils.display import Display
from ansible.vars.clean import remove_internal_keys

from ansible_collections.tsh.zoho_sync.plugins.action.zoho_display import ANSI_RE, use_color
from ansible_collections.tsh.zoho_sync.plugins.action.zoho_host_facts import host_paths, read_host_facts
from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_health import build_report, error_rules_error
from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_service import names_list, zoho_service_summary
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import history as history_file
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_render, settings_check
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import thresholds as thresholds_lib
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.report import fail_message
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.report_files import check_files, write_files
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.run_context import run_context
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import flag

display = Display()

QUEUE_MODULE = "tsh.zoho_sync.zoho_queue_facts"
PROFILE = "legacy"  # the serialization profile of a module's arguments and result
# file extension -> template of the role, in the order of the files written
RENDERINGS = (("json", "report.json.j2"), ("md", "report.md.j2"), ("html", "report.html.j2"),
              ("txt", "summary.txt.j2"))
PRUNE_PATTERNS = ["health-*.json", "health-*.md", "health-*.html", "health-*.txt"]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# What the role's templates read besides the facts set here
TEMPLATE_VARIABLES = ("inventory_hostname",)


def _int(value):
    """Jinja's ``int`` filter: a number or numeric text as an int, 0 otherwise."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("host_dir", "thresholds", "thresholds_by_entity", "entity_types", "check_names",
                             "queue", "service", "host_facts", "report", "files", "prometheus", "color"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self._task.args
        try:
            host_dir = args.get("host_dir")
            if not host_dir or not isinstance(host_dir, str):
                raise ValueError("host_dir is required")
            queue = dict(args.get("queue") or {})
            service = dict(args.get("service") or {})
            host = dict(args.get("host_facts") or {})
            report_args = dict(args.get("report") or {})
            file_args = dict(args.get("files") or {})
            prometheus = dict(args.get("prometheus") or {})
            color = use_color(args.get("color", "auto"))
        except (TypeError, ValueError) as exc:
            result.update(failed=True, msg="zoho_health_run: %s" % exc)
            return result

        # 0. the settings: a mistake is one CONFIG ERROR, before anything is read or written
        try:
            thresholds, threshold_problem = thresholds_lib.effective_thresholds(
                args.get("thresholds"), args.get("thresholds_by_entity"), args.get("entity_types")), ""
        except thresholds_lib.ThresholdError as exc:
            thresholds, threshold_problem = None, str(exc)
        checked = settings_check.check(self._task, task_vars,
                                       [threshold_problem, error_rules_error(queue.get("error_rules"))],
                                       flag(args.get("check_names", True)))
        if checked.get("failed"):
            result.update(checked, changed=False)
            return result

        now = datetime.datetime.now(datetime.timezone.utc)
        generated_at = now.strftime(TIME_FORMAT)
        facts = {"zoho_health_effective_thresholds": thresholds, "zoho_health_generated_at": generated_at,
                 "zoho_health_host_dir": host_dir}

        # 1. the queue (a finding when it cannot be read, never a crash)
        queue_raw = self._queue_facts(queue, thresholds, task_vars)
        queue_read = isinstance(queue_raw.get("ansible_facts"), dict) and "zoho_queue" in queue_raw["ansible_facts"]
        queue_facts = queue_raw["ansible_facts"]["zoho_queue"] if queue_read else None
        if queue_read:
            facts["zoho_queue"] = queue_facts

        # 2. the service: read by the zoho_service role's status.yml (before this task) unless
        # there is no service manager, whose summary needs no command
        manager = str(service.get("manager") or "none").strip().lower()
        if manager == "none":
            status = zoho_service_summary("none", names_list(service.get("name")), {}, {},
                                          _int(service.get("log_window_minutes", 60)),
                                          datetime.datetime.now(datetime.timezone.utc).strftime(TIME_FORMAT))
            facts["zoho_service_status"] = status
        else:
            status = service.get("status")

        # 3. the host's memory and disks, and the report directory's disk on the control node
        try:
            raw = read_host_facts(self, host_paths(host.get("paths", ["/"]), "paths"),
                                  host_paths(host.get("control_paths"), "control_paths"), task_vars)
        except ValueError as exc:
            raw = {"failed": True, "msg": str(exc)}
        host_facts = {"memory": raw.get("memory") or {"read": False, "error": raw.get("msg") or "memory not read"},
                      "disks": raw.get("disks") or []}
        facts["zoho_health_host_facts"] = host_facts

        # 4. the report, with the history and the last heal read on the control node
        history_text = self._file_text(host_dir.rstrip("/") + "/history.jsonl", task_vars)
        options = dict(report_args.get("options") or {})
        options["generated_at"] = generated_at
        options["run"] = run_context(dict(context.CLIARGS or {}), task_vars, os.getcwd())
        inputs = {
            "queue": queue_facts,
            "queue_error": "" if queue_read else (queue_raw.get("msg") or "the queue facts module returned nothing"),
            "service": status,
            "host_facts": host_facts,
            "thresholds": thresholds,
            "history": history_file.history(history_text),
            "last_heal": self._file_text(report_args.get("heal_marker"), task_vars) if report_args.get("heal_marker")
            else "",
            "options": options,
        }
        try:
            report = build_report(inputs)
        except Exception as exc:  # the filter's error, as the task that built the report said it
            result.update(failed=True, msg="The health report could not be built: %s" % exc)
            return result
        stamp = generated_at.replace("-", "").replace(":", "")
        outcome = fail_message(report, options.get("fail_on") or [])
        facts.update(zoho_health_report=report, zoho_health_stamp=stamp,
                     zoho_health_outcome={"fails": bool(outcome), "msg": "%s (report: %s/latest.html)"
                                          % (outcome, host_dir) if outcome else ""})

        # 5. the four renderings (the terminal summary in colour, once: the file is the same text
        # without the colour codes when the report holds none of its own)
        template_vars = dict((k, task_vars[k]) for k in TEMPLATE_VARIABLES if k in task_vars)
        template_vars.update(facts)
        txt_color = flag(report_args.get("txt_color", False))
        templates = os.path.join(task_vars["role_path"], "templates") if task_vars.get("role_path") \
            else report_render.TEMPLATES
        rendered = {}
        try:
            for ext, name in RENDERINGS[:3]:
                rendered[ext] = report_render.render(name, template_vars, templates)
            terminal = report_render.render("summary.txt.j2", dict(template_vars, zoho_health_ansi=True), templates)
            if txt_color:
                rendered["txt"] = terminal
            elif "\x1b" in json.dumps(report, ensure_ascii=False, default=str):
                rendered["txt"] = report_render.render("summary.txt.j2", dict(template_vars, zoho_health_ansi=False),
                                                       templates)
            else:
                rendered["txt"] = ANSI_RE.sub("", terminal)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc), ansible_facts=facts)
            return result

        # 6. the files: this run's, the latest copies, the history (written in check mode too:
        # health only reads the database and the reports are its output)
        files = dict(("health-%s.%s" % (stamp, ext), rendered[ext]) for ext, _name in RENDERINGS)
        files.update(("latest.%s" % ext, rendered[ext]) for ext, _name in RENDERINGS)
        files["history.jsonl"] = history_file.history(history_text, report.get("snapshot") or {},
                                                      _int(file_args.get("history_max", 2000)))
        try:
            directory, files, mode, dir_mode, patterns, keep_days = check_files(
                host_dir, files, file_args.get("mode", "0640"), None, PRUNE_PATTERNS, file_args.get("keep_days"))
            changed, written, removed = write_files(directory, files, mode, dir_mode, patterns, keep_days)
        except (TypeError, ValueError) as exc:
            result.update(failed=True, msg=str(exc), ansible_facts=facts)
            return result
        except (IOError, OSError) as exc:
            result.update(failed=True, msg="Cannot write the reports in %s: %s" % (directory, exc), ansible_facts=facts)
            return result

        # 7. the summary on the terminal
        display.display((terminal if color else ANSI_RE.sub("", terminal)).rstrip("\n"), screen_only=True)

        # 8. the Prometheus textfile, when it is written on the control node (another host's
        # is written by the role's exports.yml)
        textfile = None
        if prometheus.get("name"):
            facts["zoho_health_textfile_name"] = prometheus["name"]
        if flag(prometheus.get("enabled", False)) and flag(prometheus.get("on_control_node", True)):
            template_vars.update(facts)
            try:
                tdir, tfiles, tmode, tdir_mode, _p, _k = check_files(
                    prometheus.get("dir"),
                    {prometheus.get("name"): report_render.render("zoho_sync.prom.j2", template_vars, templates)},
                    "0644", "0755")
                tchanged, twritten, _removed = write_files(tdir, tfiles, tmode, tdir_mode, [], None)
            except (TypeError, ValueError) as exc:
                result.update(failed=True, msg=str(exc), ansible_facts=facts)
                return result
            except (IOError, OSError) as exc:
                result.update(failed=True, msg="Cannot write the reports in %s: %s" % (prometheus.get("dir"), exc),
                              ansible_facts=facts)
                return result
            changed = changed or tchanged
            textfile = os.path.join(tdir, prometheus["name"])
            written.extend(twritten)

        result.update(changed=changed, written=written, removed=removed, overall=report.get("overall"),
                      textfile=textfile, queue_read=queue_read, ansible_facts=facts)
        return result

    # -- the steps ----------------------------------------------------------------------------
    def _queue_facts(self, queue, thresholds, task_vars):
        """The result of the queue facts module on the host (its failure as a result)."""
        glob = thresholds.get("global") or {}

        def warning(name):
            return max(_int((glob.get(name) or {}).get("warning")), 1)

        module_args = dict(queue)
        module_args.update(stuck_after=warning("stuck_lock_minutes"),
                           activity_window=warning("worker_inactivity_minutes"))
        try:
            here = self._queue_facts_here(module_args, task_vars)
            if here is not None:
                return here
            return self._execute_module(module_name=QUEUE_MODULE, module_args=module_args, task_vars=task_vars)
        except AnsibleConnectionFailure:  # an unreachable host stays unreachable
            raise
        except AnsibleError as exc:  # a module that cannot run is a finding, as a failed module is
            return {"failed": True, "msg": str(exc)}

    def _runs_here(self, task_vars):
        """True when the host's module process would be this controller's Python as this user: a
        local connection, without become, with ansible_python_interpreter naming the Python that
        runs ansible-playbook."""
        if getattr(self._connection, "transport", None) != "local" or self._play_context.become:
            return False
        interpreter = task_vars.get("ansible_python_interpreter")
        if not interpreter:
            return False
        try:
            interpreter = str(self._templar.template(interpreter)).strip()
        except Exception:  # an interpreter that does not template: let the module say so
            return False
        return os.path.realpath(interpreter) == os.path.realpath(sys.executable)

    def _queue_facts_here(self, module_args, task_vars):
        """The queue facts module run in this process, when its process would be this Python on
        this machine anyway (see _runs_here): its main() with the arguments a module process gets,
        its printed result parsed as the result of a module process is. None when it cannot run
        here (another host, another Python, an Ansible without these entry points, an error of
        its own): the module then runs as a process."""
        if not self._runs_here(task_vars):
            return None
        try:
            from ansible.module_utils import basic
            from ansible.module_utils.common.json import Direction, get_module_encoder
        except ImportError:
            return None
        if not hasattr(basic, "_ANSIBLE_PROFILE") or not hasattr(self, "_parse_returned_data"):
            return None
        args = dict(module_args)
        self._update_module_args(QUEUE_MODULE, args, task_vars)
        saved = basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE
        out = io.StringIO()
        try:
            module = importlib.import_module("ansible_collections.tsh.zoho_sync.plugins.modules.zoho_queue_facts")
            encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
            basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}, cls=encoder).encode()
            basic._ANSIBLE_PROFILE = PROFILE
            with contextlib.redirect_stdout(out):
                try:
                    module.main()
                except SystemExit:
                    pass
        except Exception:  # the module process reports its own errors the way they are reported
            return None
        finally:
            basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = saved
        if not out.getvalue().strip():
            return None
        data = self._parse_returned_data({"rc": 0, "stdout": out.getvalue(), "stderr": ""}, PROFILE)
        remove_internal_keys(data)
        return data

    def _lookup(self, name):
        return lookup_loader.get(name, loader=self._loader, templar=self._templar)

    def _file_text(self, path, task_vars):
        """The text of a file on the control node as the file lookup reads it ('' when missing)."""
        try:
            found = self._lookup("ansible.builtin.file").run([path], variables=task_vars)
        except Exception:  # missing or unreadable: errors='ignore'
            return ""
        return (found[0] if found else "") or ""
