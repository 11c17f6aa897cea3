# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print a text block as it is, ANSI colours included, on the controller's output
(the result callbacks escape control characters, so a coloured summary needs this)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
COLOR_CHOICES = ("auto", "always", "never")


def use_color(choice):
    choice = str(choice if choice is not None else "auto").strip().lower()
    if choice in ("true", "yes", "on", "1"):
        choice = "always"
    elif choice in ("false", "no", "off", "0"):
        choice = "never"
    if choice not in COLOR_CHOICES:
        raise ValueError("color must be one of %s, got %r" % (", ".join(COLOR_CHOICES), choice))
    if choice == "auto":
        from ansible.utils import color as ansible_color
        return bool(ansible_color.ANSIBLE_COLOR)
    return choice == "always"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("msg", "color"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        text = args.get("msg")
        if text is None:
            text = ""
        text = str(text)
        try:
            colored = use_color(args.get("color", "auto"))
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        if not colored:
            text = ANSI_RE.sub("", text)
        display.display(text.rstrip("\n"), screen_only=True)
        result.update(changed=False, color=colored, lines=len(text.splitlines()))
        return result
