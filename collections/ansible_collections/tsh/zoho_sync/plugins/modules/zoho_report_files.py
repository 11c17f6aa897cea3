#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_report_files
short_description: Write a run's report files into the report directory, each atomically
version_added: 0.2.0
description:
  - Writes every file of O(files) (file name to content) into O(dir) - created with O(dir_mode) when missing -
    through a temporary file, C(fsync) and C(rename), so a reader (AWX, a web server, the next run) never sees a
    half-written report. One module run for all the files of a run.
  - In check mode nothing is written; the C(zoho_heal) role writes its reports in check mode too (the report is
    the output of a preview) by setting C(check_mode=false) on the task.
author:
  - TSH operations team
options:
  dir:
    description:
      - The report directory.
    type: path
    required: true
  files:
    description:
      - File name (no directory part) to content.
    type: dict
    required: true
  mode:
    description:
      - Mode of the files.
    type: raw
    default: "0640"
  dir_mode:
    description:
      - Mode of the directory when it is created.
    type: raw
    default: "0750"
notes:
  - Supports C(check_mode) (writes nothing).
seealso:
  - module: tsh.zoho_sync.zoho_audit
'''

EXAMPLES = r'''
- name: Write the heal report
  tsh.zoho_sync.zoho_report_files:
    dir: /var/lib/tsh-zoho-sync/reports
    files:
      heal-erp1-20260130T101500Z-4f2a1c.json: "{{ report | to_nice_json }}"
      heal-erp1-20260130T101500Z-4f2a1c.md: "{{ lookup('ansible.builtin.template', 'heal_report.md.j2') }}"
  delegate_to: localhost
  check_mode: false
'''

RETURN = r'''
paths:
  description: The files written (in check mode, that would be).
  returned: always
  type: list
  elements: str
'''

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,200}$")


def octal(module, value, name):
    try:
        return int(str(value), 8)
    except ValueError:
        module.fail_json(msg="%s must be an octal mode such as 0640, got %r" % (name, value))


def main():
    module = AnsibleModule(argument_spec=dict(
        dir=dict(type="path", required=True),
        files=dict(type="dict", required=True),
        mode=dict(type="raw", default="0640"),
        dir_mode=dict(type="raw", default="0750"),
    ), supports_check_mode=True)
    p = module.params
    mode = octal(module, p["mode"], "mode")
    dir_mode = octal(module, p["dir_mode"], "dir_mode")
    for name in p["files"]:
        if not NAME_RE.match(name) or ".." in name:
            module.fail_json(msg="files: %r is not a plain file name" % name[:100])
    paths = [os.path.join(p["dir"], name) for name in sorted(p["files"])]
    if module.check_mode:
        module.exit_json(changed=False, paths=paths)
    try:
        if not os.path.isdir(p["dir"]):
            os.makedirs(p["dir"], dir_mode)
        for name in sorted(p["files"]):
            content = p["files"][name]
            if not isinstance(content, str):
                content = str(content)
            fd, tmp = tempfile.mkstemp(prefix=".%s." % name, dir=p["dir"])
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(content if content.endswith("\n") else content + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, mode)
                os.rename(tmp, os.path.join(p["dir"], name))
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
    except (IOError, OSError) as exc:
        module.fail_json(msg="Cannot write the report into %s: %s" % (p["dir"], exc))
    module.exit_json(changed=True, paths=paths)


if __name__ == "__main__":
    main()
