# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Append an audit record to the control node's audit log (and syslog) from the
controller itself: the audit trail lives on the control node, so there is no module
round trip per record (see the zoho_audit module for the documentation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.tsh.zoho_sync.plugins.module_utils.audit_log import AuditError, audit

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("path", "record", "syslog", "syslog_socket", "syslog_tag", "facility"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=dict(
            path=dict(type="path", required=True),
            record=dict(type="dict", required=True),
            syslog=dict(type="bool", default=True),
            syslog_socket=dict(type="path", default="/dev/log"),
            syslog_tag=dict(type="str", default="tsh-zoho-sync"),
            facility=dict(type="str", default="user"),
        ))
        try:
            out, warnings = audit(args["path"], args["record"], check_mode=bool(self._task.check_mode),
                                  syslog=args["syslog"], syslog_socket=args["syslog_socket"],
                                  syslog_tag=args["syslog_tag"], facility=args["facility"])
        except AuditError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        for warning in warnings:
            display.warning(warning)
        result.update(out)
        return result
