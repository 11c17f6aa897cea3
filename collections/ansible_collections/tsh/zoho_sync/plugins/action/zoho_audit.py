# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tsh.zoho_sync.zoho_audit: append an audit record to the control node's audit log (and
syslog) from the controller itself - the audit trail lives on the control node, so there
is no module round trip per record. The only implementation; modules/zoho_audit.py holds
its documentation."""

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.tsh.zoho_sync.plugins.module_utils.audit_log import ARGUMENT_SPEC, AuditError, audit

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
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
