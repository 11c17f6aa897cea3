#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_health_run
short_description: (internal) One health check of a host in one step - facts, report, files, export, summary
version_added: 0.3.0
description:
  - Internal to the C(tsh.zoho_sync.zoho_health) role (its main step); not needed in playbooks.
  - Runs the queue facts module (M(tsh.zoho_sync.zoho_queue_facts)) on the host with O(queue) - its failure is a
    finding (C(zoho_queue_error)), not a failed task; summarises the service (O(service)); reads the host's memory
    and disks as M(tsh.zoho_sync.zoho_host_facts) does; learns how the run was started as
    M(tsh.zoho_sync.zoho_run_context) does; builds the report (filter C(tsh.zoho_sync.zoho_health_report)) with the
    history and the last heal read on the control node; renders the role's templates (JSON, Markdown, HTML, text);
    writes C(health-<stamp>.*), C(latest.*) and C(history.jsonl) into O(host_dir) as
    M(tsh.zoho_sync.zoho_report_files) does; shows the summary as M(tsh.zoho_sync.zoho_display) does; writes the
    Prometheus textfile when it is written on the control node.
  - Every step but the queue facts (and the host facts of a host that is not the control node) runs on the
    controller, in the task's own process - no module process and no task per step.
  - The files are written in check mode too (the reports are the output of a check); the queue facts module runs
    in the task's mode.
  - Sets the host variables C(zoho_health_report), C(zoho_health_host_dir), C(zoho_health_generated_at),
    C(zoho_health_stamp), C(zoho_health_effective_thresholds), C(zoho_health_host_facts),
    C(zoho_health_textfile_name), C(zoho_queue) (when read), without a service manager C(zoho_service_status), and
    C(zoho_health_outcome) - C(fails) (the overall status is in C(report.options.fail_on)) and C(msg) (the one line
    the host fails with, naming the report).
  - The task itself does not fail on the outcome - the role's last task or C(playbooks/health.yml) fails the host.
author:
  - TSH operations team (@tsh-ops)
options:
  host_dir:
    description: The host's report directory on the control node.
    type: str
    required: true
  thresholds:
    description:
      - The operator's thresholds (C(zoho_health_thresholds)), validated and merged over the defaults here (as the
        filter C(tsh.zoho_sync.zoho_health_thresholds) does); invalid ones are a configuration mistake.
    type: dict
    default: {}
  thresholds_by_entity:
    description: Per-entity overrides (C(zoho_health_thresholds_by_entity)).
    type: dict
    default: {}
  entity_types:
    description: The entity types an override may name (C(zoho_health_entity_types)).
    type: list
    elements: str
  check_names:
    description:
      - Look for C(zoho_*) variables nothing reads (as M(tsh.zoho_sync.zoho_settings_check) does).
      - A configuration mistake - invalid thresholds, invalid C(queue.error_rules), such a variable - fails the
        task before anything is read or written, with C(zoho_settings_error=true) (printed as C(CONFIG ERROR)).
    type: bool
    default: true
  queue:
    description:
      - The arguments of M(tsh.zoho_sync.zoho_queue_facts) (connection and options); C(stuck_after) and
        C(activity_window) are the warnings of C(stuck_lock_minutes) and C(worker_inactivity_minutes).
    type: dict
    required: true
  service:
    description:
      - C(manager), C(name), C(log_window_minutes), and C(status) (the fact C(zoho_service_status) of the
        C(tsh.zoho_sync.zoho_service) role's C(status.yml)) when there is a service manager.
    type: dict
  host_facts:
    description: C(paths) (the host's disks) and C(control_paths) (disks on the control node).
    type: dict
  report:
    description: C(options) of the report, C(heal_marker) (the last heal's report file) and C(txt_color).
    type: dict
  files:
    description: C(mode), C(keep_days) (older C(health-*) files are pruned) and C(history_max).
    type: dict
  prometheus:
    description: C(enabled), C(on_control_node), C(dir) and C(name) of the textfile-collector file.
    type: dict
  color:
    description: Colours of the summary on the terminal - C(auto), C(always) or C(never).
    type: str
    default: auto
attributes:
  check_mode:
    support: full
    description: Reads the same in check mode; the reports are written in check mode too.
  diff_mode:
    support: none
    description: No diff.
notes:
  - The files are written on the control node whatever host the task runs for.
seealso:
  - module: tsh.zoho_sync.zoho_queue_facts
  - module: tsh.zoho_sync.zoho_report_files
'''

EXAMPLES = r'''
# See roles/zoho_health/tasks/main.yml: the role's one step between its checks and its alerts.
- name: Gather the facts, judge them and write the reports
  tsh.zoho_sync.zoho_health_run:
    host_dir: /var/lib/tsh-zoho-sync/reports/erp1
    thresholds: {pending: {warning: 100, critical: 500}}
    queue:
      login_host: 127.0.0.1
      login_db: tsh_erp
      login_user: zoho_health
'''

RETURN = r'''
overall:
  description: The overall status of the report.
  returned: success
  type: str
written:
  description: The files (and a created directory) written.
  returned: success
  type: list
  elements: str
removed:
  description: The old report files pruned.
  returned: success
  type: list
  elements: str
textfile:
  description: The Prometheus textfile written on the control node, or null.
  returned: success
  type: str
queue_read:
  description: Whether the queue facts were read.
  returned: success
  type: bool
problems:
  description: The configuration mistakes found (empty when the settings are valid).
  returned: on a configuration mistake
  type: list
  elements: str
unknown_variables:
  description: The C(zoho_*) variables nothing reads.
  returned: on a configuration mistake
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host_dir=dict(type="str", required=True),
            thresholds=dict(type="dict", default={}),
            thresholds_by_entity=dict(type="dict", default={}),
            entity_types=dict(type="list", elements="str"),
            check_names=dict(type="bool", default=True),
            queue=dict(type="dict", required=True),
            service=dict(type="dict"),
            host_facts=dict(type="dict"),
            report=dict(type="dict"),
            files=dict(type="dict"),
            prometheus=dict(type="dict"),
            color=dict(type="str", default="auto"),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="zoho_health_run runs on the controller (action plugin); the module file is documentation only")


if __name__ == "__main__":
    main()
