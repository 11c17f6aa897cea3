# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""failure_text: ansible-core's own validation messages (produced here by its validator, not
typed in) as one line each, with the valid values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import failure_text as ft
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.suggest import closest, did_you_mean

SPEC = {
    "zoho_heal_confirm": {"type": "bool"},
    "zoho_heal_batch_size": {"type": "int"},
    "zoho_service_manager": {"type": "str", "choices": ["systemd", "docker", "none"]},
    "zoho_heal_service_manager": {"type": "str", "choices": ["systemd", "docker", "none"]},
    "zoho_health_fail_on": {"type": "list", "elements": "str", "choices": ["ok", "warning", "unknown", "critical"]},
    "zoho_health_thresholds": {"type": "dict"},
    "zoho_heal_entity_types": {"type": "list", "elements": "int"},
    "zoho_alert_report": {"type": "dict", "required": True},
}


def errors(values):
    return ArgumentSpecValidator(SPEC).validate(dict({"zoho_alert_report": {}}, **values),
                                                validate_role_argument_spec=True).error_messages


@pytest.mark.parametrize("values, line", [
    ({"zoho_heal_confirm": "ture"}, "zoho_heal_confirm: 'ture' is not a boolean (true or false)"),
    ({"zoho_heal_batch_size": "many"}, "zoho_heal_batch_size: 'many' is not a whole number"),
    ({"zoho_heal_batch_size": 2.5}, "zoho_heal_batch_size: 2.5 is not a whole number"),
    ({"zoho_service_manager": "sytemd"},
     "zoho_service_manager: 'sytemd' is not one of systemd, docker, none (did you mean systemd?)"),
    ({"zoho_health_fail_on": ["critical", "unknwn"]},
     "zoho_health_fail_on: 'unknwn' is not one of ok, warning, unknown, critical (did you mean unknown?)"),
    ({"zoho_health_thresholds": "pending=lots,x"}, None),
    ({"zoho_heal_entity_types": ["1", "x"]}, "zoho_heal_entity_types: the element 'x' is not a whole number"),
])
def test_one_line_with_the_valid_values(values, line):
    lines = ft.argument_lines(errors(values), SPEC)
    assert len(lines) == 1, lines
    if line:
        assert lines[0] == line
    assert "\n" not in lines[0] and "argument_spec" not in lines[0]


def test_missing_required():
    lines = ft.argument_lines(ArgumentSpecValidator(SPEC).validate({}, validate_role_argument_spec=True).error_messages)
    assert lines == ["required but not set: zoho_alert_report"]


def test_the_shared_variable_is_named_once():
    """zoho_heal_service_manager defaults to zoho_service_manager: the same mistake is said once,
    with the name the operator set."""
    lines = ft.argument_lines(errors({"zoho_service_manager": "sytemd", "zoho_heal_service_manager": "sytemd"}), SPEC)
    assert lines == ["zoho_service_manager: 'sytemd' is not one of systemd, docker, none (did you mean systemd?)"]
    lines = ft.argument_lines(errors({"zoho_service_manager": "none", "zoho_heal_service_manager": "dokcer"}), SPEC)
    assert lines == ["zoho_heal_service_manager: 'dokcer' is not one of systemd, docker, none (did you mean docker?)"]


def test_an_unknown_form_is_kept_on_one_line():
    assert ft.argument_lines(["parameters are mutually exclusive:\n a|b"]) == ["parameters are mutually exclusive: a|b"]


@pytest.mark.parametrize("text, cause", [
    ("Task failed: Finalization of task args for 'ansible.builtin.set_fact' failed: Error while resolving value for "
     "'zoho_service_status': The filter plugin 'tsh.zoho_sync.zoho_service_summary' failed: zoho_service_manager must "
     "be one of systemd, docker, none, got 'sytemd'",
     "zoho_service_manager must be one of systemd, docker, none, got 'sytemd'"),
    ("Heal run 1 failed: Task failed: Module failed: Cannot connect\n  to database", "Heal run 1 failed: Cannot connect to database"),
    (None, ""),
])
def test_one_line_keeps_the_cause(text, cause):
    assert ft.one_line(text) == cause


def test_module_failure_names_the_exception():
    stderr = "Traceback (most recent call last):\n  File x\nModuleNotFoundError: No module named 'psycopg2'\n"
    result = {"msg": "MODULE FAILURE", "module_stderr": stderr}
    assert ft.module_failure(result) == "ModuleNotFoundError: No module named 'psycopg2'"
    assert ft.module_failure({}) == ""


def test_closest():
    assert closest("sytemd", ["systemd", "docker", "none"]) == "systemd"
    assert closest("user", ["USER", "PAYMENT"]) == "USER"
    assert closest("zzz", ["systemd"]) is None
    assert did_you_mean("zzz", ["systemd"]) == ""
