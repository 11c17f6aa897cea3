# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""variable_names: a zoho_* variable nothing mentions is reported, with the closest known name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import variable_names as vn

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def test_the_collection_mentions_its_variables():
    known = vn.names_in_tree(COLLECTION)
    for name in ("zoho_health_thresholds", "zoho_heal_confirm", "zoho_service_manager", "zoho_schedule_limit",
                 "zoho_db_password", "zoho_report_dir", "zoho_variables_ignore"):
        assert name in known, name


def test_unknown_with_a_suggestion():
    known = {"zoho_health_thresholds", "zoho_heal_confirm", "zoho_db_host"}
    problems = vn.unknown_variables(["zoho_health_tresholds", "zoho_heal_confirm", "zoho_awx_pending_warning",
                                     "zoho_completely_new", "ansible_user"], known)
    assert problems == [("zoho_completely_new", None), ("zoho_health_tresholds", "zoho_health_thresholds")]
    assert vn.describe(problems)[1] == ("unknown variable zoho_health_tresholds (did you mean zoho_health_thresholds?): "
                                        "nothing in tsh.zoho_sync reads it")
    assert vn.unknown_variables(["zoho_mine_1"], known, ignore=["zoho_mine_*"]) == []


def test_names_in_values():
    value = {"a": "{{ zoho_site_base }}/reports", "b": ["x", {"c": "{{ zoho_other | default('') }}"}], "d": 3}
    assert vn.names_in(value) == {"zoho_site_base", "zoho_other"}
