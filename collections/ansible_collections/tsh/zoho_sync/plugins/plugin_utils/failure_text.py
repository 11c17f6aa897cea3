# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A failed task's result as the one line an operator reads (used by the
tsh.zoho_sync.operator stdout callback).

Ansible wraps the cause of a failure in its own context ("Task failed: Finalization of task
args for 'ansible.builtin.set_fact' failed: Error while resolving value for ...: The filter
plugin ... failed: <cause>") and answers a wrong role variable with the whole argument
specification. Here the cause is kept, the wrapping dropped, and each wrong variable becomes
"name: what is wrong, and what is allowed".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.suggest import did_you_mean

# Ansible's context around the cause of a failure; removed wherever it appears (the heal
# role's rescue quotes the failed result's message inside its own).
WRAPPERS = re.compile(
    r"(?:Task failed|Action failed|Module failed): "
    r"|Finalization of task args for '[^']*' failed[:.] ?"
    r"|Error while resolving value for '[^']*': "
    r"|The (?:filter|lookup|test) plugin '[^']*' failed: ")

CHOICE_RE = re.compile(r"^value of (?P<name>\S+) must be one of: (?P<choices>.*), got: (?P<value>.*?)"
                       r"(?: found in '[^']*')?$")
MANY_CHOICES_RE = re.compile(r"^value of (?P<name>\S+) must be one or more of: (?P<choices>.*)\. "
                             r"Got no match for: (?P<value>.*)$")
TYPE_RE = re.compile(r"^(?:argument '(?P<name>[^']+)'|Elements value for option '(?P<element>[^']+)'[^ ]*)"
                     r" is of type (?P<got>\S+)(?: found in '[^']*'\.)? and we were unable to convert to"
                     r" (?P<want>\w+): (?P<detail>.*)$")
MISSING_RE = re.compile(r"^missing required arguments: (?P<names>.*)$")
BOOL_VALUE_RE = re.compile(r"The value (?P<value>'.*?') is not a valid boolean")
QUOTED_VALUE_RE = re.compile(r"^\"(?P<value>.*)\" cannot be converted")

TYPE_WORDS = {"bool": "a boolean (true or false)", "int": "a whole number", "float": "a number",
              "dict": "a mapping ({key: value, ...})", "list": "a list ([a, b, ...])", "str": "text",
              "path": "a path", "raw": "a value"}


def one_line(text):
    """The cause of a failure on one line: Ansible's wrapping removed, whitespace collapsed."""
    text = WRAPPERS.sub("", str(text or ""))
    return " ".join(text.split())


def _choices(name, spec, fallback):
    option = (spec or {}).get(name) or {}
    choices = option.get("choices")
    if choices:
        return [str(c) for c in choices]
    return [c.strip() for c in fallback.split(",") if c.strip()]


def argument_problem(message, spec=None):
    """One argument-validation message of ansible-core as ``(variable, problem)``: the
    variable's name and what is wrong with it, with the valid values (the choices, or the type
    wanted) instead of the specification. ``(None, message)`` when the message has another
    form."""
    message = " ".join(str(message).split())
    match = CHOICE_RE.match(message) or MANY_CHOICES_RE.match(message)
    if match:
        name, value = match.group("name"), match.group("value").strip()
        choices = _choices(name, spec, match.group("choices"))
        values = [v.strip() for v in value.split(",")] if match.re is MANY_CHOICES_RE else [value]
        hints = "".join(did_you_mean(v, choices) for v in values)
        return name, "%s is not one of %s%s" % (", ".join(repr(v) for v in values), ", ".join(choices), hints)
    match = TYPE_RE.match(message)
    if match:
        name = match.group("name") or match.group("element")
        want = TYPE_WORDS.get(match.group("want"), "of type %s" % match.group("want"))
        value = BOOL_VALUE_RE.search(match.group("detail")) or QUOTED_VALUE_RE.search(match.group("detail"))
        what = value.group("value") if value else "the %s value" % match.group("got")
        where = "an element of it" if match.group("element") else what
        if match.group("element") and value:
            where = "the element %s" % value.group("value")
        return name, "%s is not %s" % (where, want)
    match = MISSING_RE.match(message)
    if match:
        return None, "required but not set: %s" % match.group("names")
    return None, message


def argument_lines(errors, spec=None):
    """The argument errors of a role's specification check, one line each, each variable
    said once: when a role variable zoho_<role>_<x> fails with the same problem as the shared
    zoho_<x> it defaults to (zoho_heal_service_manager from zoho_service_manager), only the
    shared one is named - that is the variable the operator set."""
    problems = [argument_problem(e, spec) for e in errors or []]
    shared = dict((name, text) for name, text in problems if name)
    lines = []
    for name, text in problems:
        if name:
            base = re.sub(r"^zoho_[a-z]+_", "zoho_", name)
            if base != name and shared.get(base) == text:
                continue
            line = "%s: %s" % (name, text)
        else:
            line = text
        if line not in lines:
            lines.append(line)
    return lines


def module_failure(result):
    """The cause of a module crash: the last line of its stderr (or stdout) - usually the
    exception - instead of 'MODULE FAILURE: See stdout/stderr for the exact error'."""
    for key in ("module_stderr", "module_stdout"):
        text = str(result.get(key) or "").strip()
        if text:
            return text.splitlines()[-1].strip()
    return ""
