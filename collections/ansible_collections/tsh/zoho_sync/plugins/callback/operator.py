# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: operator
type: stdout
short_description: The run's own summary and one line per failure; Ansible's task output with -v
version_added: 0.2.0
description:
  - The stdout callback of this repository's C(ansible.cfg). Without C(-v) it prints what the
    playbooks write for a person - the health summary, the heal summary and diff, the messages
    of C(ansible.builtin.debug) tasks - and each failure once, on one line that starts with a
    marker - C(CONFIG ERROR <host>:) for a configuration mistake (a role variable of the wrong
    type or outside its choices, an unknown C(zoho_*) variable, invalid thresholds), C(FAILED <host>:)
    for any other failure, C(UNREACHABLE <host>:) for a host that could not be reached.
  - A failure inside a block that has a C(rescue) section is not printed - the rescue handles it
    (the collection's roles record it and fail with their own message, which quotes it).
  - Task banners, C(ok)/C(changed)/C(skipping) lines and the play recap are left out. With C(-v)
    (or more) the output is exactly that of C(ansible.builtin.default).
  - AWX and ansible-runner replace the stdout callback with their own (C(awx_display)), which
    builds on C(ansible.builtin.default), so their job output is unchanged; to use this one there,
    set E(ANSIBLE_STDOUT_CALLBACK=tsh.zoho_sync.operator) in the job's environment.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - C(stdout_callback = tsh.zoho_sync.operator) in C(ansible.cfg), or E(ANSIBLE_STDOUT_CALLBACK).
'''

from ansible import constants as C
from ansible.playbook.block import Block
from ansible.plugins.callback.default import CallbackModule as DefaultCallbackModule

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.failure_text import (
    argument_lines, module_failure, one_line)

# The actions whose failure message is the text a playbook wrote for the operator (health.yml's
# last task says the host's own failure again).
MESSAGE_ACTIONS = frozenset(("fail", "assert", "ansible.builtin.fail", "ansible.builtin.assert",
                             "ansible.legacy.fail", "ansible.legacy.assert", "tsh.zoho_sync.zoho_host_outcome"))


def _rescued(task):
    """True when a block around ``task`` has a rescue section that will run if it fails (the
    task is in the block's main section, directly or through imports and includes)."""
    seen = [task]
    node = task
    while getattr(node, "_parent", None) is not None:
        parent = node._parent
        if isinstance(parent, Block) and parent.rescue:
            ids = set(id(x) for x in seen) | set(getattr(x, "_uuid", None) for x in seen)
            if any(id(x) in ids or getattr(x, "_uuid", None) in ids for x in parent.block or []):
                return True
        seen.append(parent)
        node = parent
    return False


def _task_name(task):
    """The task's own name, without the role in front of it."""
    name = task.get_name().strip()
    return name.split(" : ", 1)[1] if " : " in name and getattr(task, "_role", None) else name


def _debug_text(result):
    """What an ansible.builtin.debug task says: its msg (a text, or a list of lines)."""
    msg = result.get("msg")
    if isinstance(msg, (list, tuple)):
        return "\n".join(str(line) for line in msg)
    return None if msg is None else str(msg)


class CallbackModule(DefaultCallbackModule):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "tsh.zoho_sync.operator"

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._said = set()
        self._ran_hosts = False

    def _quiet(self):
        return self._display.verbosity < 1

    # -- what this callback prints ------------------------------------------------------------
    def _say_failure(self, line, color):
        """A failure line, once per run (a repeated failure is said once)."""
        if line in self._said:
            return
        self._said.add(line)
        try:
            stderr = self.get_option("display_failed_stderr")
        except KeyError:
            stderr = False
        self._display.display(line, color=color, stderr=stderr)

    def _failure_lines(self, result):
        """(marker, lines) of a failed task result."""
        res = result.result
        task = result.task
        if res.get("argument_errors"):
            return "CONFIG ERROR", argument_lines(res["argument_errors"], res.get("argument_spec_data"))
        if res.get("zoho_settings_error"):
            return "CONFIG ERROR", [one_line(p) for p in res.get("problems") or [res.get("msg")]]
        if res.get("_ansible_no_log") or "censored" in res:
            return "FAILED", ["%s: (the details are hidden by no_log)" % _task_name(task)]
        if task.loop and isinstance(res.get("results"), list):
            lines = []
            for item in res["results"]:
                if isinstance(item, dict) and item.get("failed") and not item.get("_ansible_ignore_errors"):
                    label = self._get_item_label(item)
                    text = self._message(task, item)
                    lines.append("%s (item=%s)" % (text, label) if label is not None else text)
            if lines:
                return "FAILED", lines
        return "FAILED", [self._message(task, res)]

    def _message(self, task, res):
        text = one_line(res.get("msg") or res.get("reason") or "")
        if text == "non-zero return code" and res.get("rc") is not None:
            stderr = str(res.get("stderr") or "").strip()
            text = "exited with %s%s" % (res["rc"], ": " + one_line(stderr.splitlines()[-1]) if stderr else "")
        elif text.startswith("MODULE FAILURE"):
            cause = module_failure(res)
            text = "the module failed%s" % (": " + cause if cause else "")
        elif not text and res.get("assertion"):
            text = "assertion failed: %s" % one_line(res["assertion"])
        elif not text and res.get("stderr"):
            text = one_line(str(res["stderr"]).strip().splitlines()[-1])
        elif not text and res.get("rc") is not None:
            text = "exited with %s" % res["rc"]
        if task.action in MESSAGE_ACTIONS and text:
            return text
        return "%s: %s" % (_task_name(task), text or "failed")

    # -- the events -----------------------------------------------------------------------------
    def v2_runner_on_start(self, host, task):
        # a task ran on a host: a later play for no host (health.yml's outcome plays on a healthy
        # fleet) is not "nothing was done"
        self._ran_hosts = True
        return super(CallbackModule, self).v2_runner_on_start(host, task)

    def v2_playbook_on_play_start(self, play):
        if self._quiet():
            self._play = play
            return
        super(CallbackModule, self).v2_playbook_on_play_start(play)

    def _say_debug(self, result, looped):
        """Warnings, and what an ansible.builtin.debug task says (a loop's once per item)."""
        self._handle_warnings(result.result)
        if result.task.action in C._ACTION_DEBUG and (looped or not result.task.loop):
            text = _debug_text(result.result)
            if text is not None:
                self._display.display(text)

    def v2_runner_on_ok(self, result):
        if not self._quiet():
            return super(CallbackModule, self).v2_runner_on_ok(result)
        return self._say_debug(result, looped=False)

    def v2_runner_item_on_ok(self, result):
        if not self._quiet():
            return super(CallbackModule, self).v2_runner_item_on_ok(result)
        return self._say_debug(result, looped=True)

    def v2_runner_on_skipped(self, result):
        if not self._quiet():
            return super(CallbackModule, self).v2_runner_on_skipped(result)
        self._handle_warnings(result.result)

    def v2_runner_item_on_skipped(self, result):
        if not self._quiet():
            return super(CallbackModule, self).v2_runner_item_on_skipped(result)

    def v2_runner_item_on_failed(self, result):
        # said once, with the task's failure (v2_runner_on_failed)
        if not self._quiet():
            return super(CallbackModule, self).v2_runner_item_on_failed(result)
        self._handle_warnings(result.result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not self._quiet():
            return super(CallbackModule, self).v2_runner_on_failed(result, ignore_errors)
        self._handle_warnings(result.result)
        if ignore_errors or _rescued(result.task):
            return
        marker, lines = self._failure_lines(result)
        host = result.host.get_name()
        for line in lines:
            self._say_failure("%s %s: %s" % (marker, host, line), C.COLOR_ERROR)

    def v2_runner_on_unreachable(self, result):
        if not self._quiet():
            return super(CallbackModule, self).v2_runner_on_unreachable(result)
        if result.task.ignore_unreachable:
            return
        self._say_failure("UNREACHABLE %s: %s" % (result.host.get_name(), one_line(result.result.get("msg"))),
                          C.COLOR_UNREACHABLE)

    def v2_on_file_diff(self, result):
        if not self._quiet():
            return super(CallbackModule, self).v2_on_file_diff(result)
        res = result.result
        diffs = [r["diff"] for r in res.get("results") or [] if isinstance(r, dict) and r.get("diff") and r.get("changed")]
        if not diffs and res.get("diff") and res.get("changed"):
            diffs = [res["diff"]]
        for diff in diffs:
            text = self._get_diff(diff)
            if text:
                self._display.display("%s (%s):" % (_task_name(result.task), self.host_label(result)))
                self._display.display(text)

    def v2_playbook_on_no_hosts_matched(self):
        if not self._quiet():
            return super(CallbackModule, self).v2_playbook_on_no_hosts_matched()
        if self._ran_hosts:
            return None
        self._display.display("No host matched the play's hosts (and --limit): nothing was done.",
                              color=C.COLOR_WARN)


def _verbose_only(name):
    """An event the callback says nothing about without -v (a banner, a recap, a retry)."""
    def event(self, *args, **kwargs):
        if not self._quiet():
            return getattr(DefaultCallbackModule, name)(self, *args, **kwargs)
        return None
    event.__name__ = name
    return event


for _name in ("v2_playbook_on_start", "v2_playbook_on_task_start", "v2_playbook_on_handler_task_start",
              "v2_playbook_on_include", "v2_runner_retry", "v2_runner_on_async_poll", "v2_runner_on_async_ok",
              "v2_runner_on_async_failed", "v2_playbook_on_no_hosts_remaining", "v2_playbook_on_notify",
              "v2_playbook_on_stats"):
    setattr(CallbackModule, _name, _verbose_only(_name))
