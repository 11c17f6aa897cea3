#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_fleet_report
short_description: (internal) Write the fleet summary of a health run over many hosts (JSON and one HTML page)
version_added: 0.1.0
description:
  - Summarises the health run of every host in O(hosts) - normally C(ansible_play_hosts_all) of the health play -
    into C(latest.json) and C(latest.html) in O(dir), with timestamped copies C(fleet-<UTC stamp>.json/.html);
    each file is replaced atomically (a temporary file in the same directory, C(fsync), a rename), and copies
    older than O(keep_days) days are removed.
  - For each host, its overall state, its first diagnosis (C(diagnoses[0]) of its report; its first
    recommendation when the report has no diagnoses), the link to its report (C(<host>/latest.html), relative to
    O(dir)) and the time of the report; worst first (critical, unknown, warning, ok).
  - The hosts that could not be read are listed with the reason and are never shown as ok - their state is
    at least unknown. A host could not be read when the connection probe found it unreachable (O(probe_fact)
    holds C(unreachable)), when its run failed before it built a report (O(failure_fact) holds the failed task
    and message), when its report says the queue could not be read (wrong password, database down), or when it
    left no result at all (it is not in O(active_hosts)).
  - Reads each host's report of this run from its host variable O(report_fact) (the C(zoho_health) role's
    C(zoho_health_report)), and the report files on the control node under O(report_root)/<host>/ (or the
    directory in the host variable O(host_dir_fact)) only to tell whether C(latest.json) is this run's.
  - Runs on the controller only (an action plugin), once for the whole fleet (C(run_once)). The page is one
    self-contained file (inline style, no script, nothing fetched), readable offline and from a job's
    artifacts.
  - Returns the summary and its terminal form (one line per host, worst first) for M(tsh.zoho_sync.zoho_display).
author:
  - TSH operations team (@tsh-ops)
options:
  hosts:
    description: The hosts of the health run, normally C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  active_hosts:
    description:
      - The hosts still in the play, normally C(ansible_play_hosts). A host of O(hosts) missing here that left no
        report and no recorded failure failed or was unreachable outside the health play's rescue.
      - Defaults to O(hosts).
    type: list
    elements: str
  dir:
    description: The fleet directory on the control node, for example C(<zoho_report_dir>/fleet).
    type: path
    required: true
  report_root:
    description:
      - The directory holding the per-host report directories (C(<report_root>/<host>/latest.*)), for a host
        without O(host_dir_fact).
      - Defaults to the parent of O(dir).
    type: path
  keep_days:
    description: Timestamped copies older than this many days are removed (C(latest.*) stay).
    type: float
    default: 14
  mode:
    description: Mode of the files.
    type: raw
    default: "0640"
  dir_mode:
    description: Mode of O(dir) when it is created.
    type: raw
    default: "0750"
  report_fact:
    description: The host variable holding a host's health report of this run.
    type: str
    default: zoho_health_report
  failure_fact:
    description: The host variable holding why a host's run failed (C(task), C(msg)).
    type: str
    default: zoho_fleet_failure
  probe_fact:
    description: The host variable holding the result of the connection probe.
    type: str
    default: zoho_fleet_reach
  host_dir_fact:
    description: The host variable holding the directory a host's reports were written to.
    type: str
    default: zoho_health_host_dir
  limit:
    description:
      - The run's host limit (C(ansible_limit)), recorded in the summary and shown on the page, since a limited
        run summarises only its own hosts.
    type: str
  stats:
    description:
      - Also publish the summary (with C(page)) as the run's custom stats C(zoho_fleet), as
        M(ansible.builtin.set_stats) does with C(per_host=false) and C(aggregate=false) - in AWX the job's
        artifacts - without a task of its own.
    type: bool
    default: false
  show:
    description:
      - Also show the terminal section (RV(text)) as M(tsh.zoho_sync.zoho_display) does - C(true), C(false), or
        C(auto) (when O(hosts) names more than one host) - without a task of its own.
    type: raw
    default: false
  color:
    description: With O(show), the colours of the section - C(auto), C(always) or C(never).
    type: str
    default: auto
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode (the summary is still returned); C(playbooks/health.yml) writes it in
      check mode too, like the reports.
  diff_mode:
    support: none
    description: No diff.
notes:
  - C(playbooks/health.yml) runs it in its last play; see C(docs/awx.md) for the page in AWX.
seealso:
  - module: tsh.zoho_sync.zoho_report_files
  - module: tsh.zoho_sync.zoho_display
'''

EXAMPLES = r'''
- name: Write the fleet summary
  tsh.zoho_sync.zoho_fleet_report:
    hosts: "{{ ansible_play_hosts_all }}"
    active_hosts: "{{ ansible_play_hosts }}"
    dir: /var/lib/tsh-zoho-sync/reports/fleet
  run_once: true
  check_mode: false
  register: fleet

- name: Show it
  tsh.zoho_sync.zoho_display:
    msg: "{{ fleet.text }}"
  run_once: true
'''

RETURN = r'''
summary:
  description:
    - The fleet summary, as written to C(latest.json).
    - C(overall) (the worst state), C(counts) (hosts per state), C(hosts_total), C(read), C(not_read_count),
      C(failing) (hosts whose run fails), C(generated_at), C(limit) (the run's limit, or null).
    - C(hosts), worst first, each with C(host), C(state), C(read), C(stage) and C(reason) (why it was not read),
      C(first) (C(kind) diagnosis or recommendation, C(id), C(severity), C(summary), C(command), C(steps)),
      C(report) and C(report_json) (links relative to O(dir)), C(report_current) (the linked file is this run's),
      C(generated_at), C(fails), C(failure), C(counts), C(backlog), C(last_report).
    - C(not_read), the hosts that could not be read with C(stage) (C(unreachable), C(failed before a report),
      C(queue not read), C(no result)) and C(reason).
  returned: always
  type: dict
text:
  description: The terminal section (ANSI colour marks; M(tsh.zoho_sync.zoho_display) strips them when needed).
  returned: always
  type: str
page:
  description: The path of C(latest.html).
  returned: always
  type: str
failing:
  description: The hosts whose health run fails.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: Facts set on the host of the task (with C(delegate_facts), on the delegated host).
  returned: always
  type: dict
  contains:
    zoho_fleet_failing:
      description: The same as RV(failing), for a later play to target those hosts.
      type: list
      elements: str
      returned: always
written:
  description: The files written (none in check mode).
  returned: always
  type: list
  elements: str
removed:
  description: The old timestamped copies removed.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            hosts=dict(type="list", elements="str", required=True),
            active_hosts=dict(type="list", elements="str"),
            dir=dict(type="path", required=True),
            report_root=dict(type="path"),
            keep_days=dict(type="float", default=14),
            mode=dict(type="raw", default="0640"),
            dir_mode=dict(type="raw", default="0750"),
            report_fact=dict(type="str", default="zoho_health_report"),
            failure_fact=dict(type="str", default="zoho_fleet_failure"),
            probe_fact=dict(type="str", default="zoho_fleet_reach"),
            host_dir_fact=dict(type="str", default="zoho_health_host_dir"),
            limit=dict(type="str"),
            stats=dict(type="bool", default=False),
            show=dict(type="raw", default=False),
            color=dict(type="str", default="auto"),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="zoho_fleet_report runs on the controller (action plugin); the module file is documentation only")


if __name__ == "__main__":
    main()
