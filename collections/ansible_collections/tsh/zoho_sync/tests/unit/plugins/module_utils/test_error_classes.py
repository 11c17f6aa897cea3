# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error rules: the production worker's own failures and Zoho's documented errors
land in their class; operators' rules come first and are validated."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tsh.zoho_sync.plugins.module_utils.error_classes import Classifier, rule_problems

CASES = [
    ("greenlet_spawn has not been called; can't call await_only() here. Was IO attempted in an unexpected place? "
     "(Background on this error at: https://sqlalche.me/e/20/xd2s)", "xd2s", "internal"),
    ("Unconsumed column names: processing_started_at", None, "internal"),
    ("TypeError: can't compare offset-naive and offset-aware datetimes", None, "internal"),
    ("AttributeError: 'NoneType' object has no attribute 'zoho_id'", None, "internal"),
    ('duplicate key value violates unique constraint "invoice_zoho_id_key"', "DB_INTEGRITY", "internal"),
    ("anything at all", "xd2s", "internal"),
    ('Zoho API error 401: {"code":57,"message":"You are not authorized to perform this operation"}', "ZOHO_401",
     "zoho_auth"),
    ('{"code":"INVALID_OAUTHTOKEN","message":"invalid oauth token"}', None, "zoho_auth"),
    ("401 Client Error: Unauthorized for url: https://www.zohoapis.com/books/v3/invoices", None, "zoho_auth"),
    ("Zoho OAuth token rejected (code 14): access token expired 10 seconds ago", "AUTH_ERROR", "zoho_auth"),
    ('Zoho API error 429: {"code":44,"message":"You have made too many requests continuously."}', "ZOHO_429",
     "zoho_rate_limit"),
    ("API call limit exceeded for the day", None, "zoho_rate_limit"),
    ("Rate limit exceeded, retry after 30 seconds", "RATE_LIMIT", "zoho_rate_limit"),
    ("HTTPSConnectionPool(host='www.zohoapis.com', port=443): Read timed out. (read timeout=30)", None,
     "zoho_unavailable"),
    ("ConnectionResetError(104, 'Connection reset by peer')", None, "zoho_unavailable"),
    ("Zoho API error 503 for invoice INV-00400", None, "zoho_unavailable"),
    ("502 Server Error: Bad Gateway for url: https://www.zohoapis.com/books/v3/items", None, "zoho_unavailable"),
    ('Zoho API error 400: {"code":1001,"message":"Invalid value passed for rate"}', "ZOHO_400", "zoho_validation"),
    ('{"code":1002,"message":"Invoice does not exist."}', None, "zoho_validation"),
    ("Item 12345 not found in Zoho", "ZOHO_404", "zoho_validation"),
    ("Insufficient stock for item SKU-00012 in warehouse 3", "STOCK_CONFLICT", "zoho_validation"),
    ("the frobnicator refused", None, "unknown"),
    (None, None, "unknown"),
]


@pytest.mark.parametrize("message, code, expected", CASES)
def test_built_in_rules(message, code, expected):
    assert Classifier().classify(message, code)[0] == expected


def test_operator_rules_come_first_and_both_fields_must_match():
    rules = [{"class": "zoho_validation", "message": "frobnicator", "name": "the frobnicator"},
             {"class": "internal", "message": "timed out", "code": "^ERP_"}]
    c = Classifier(rules)
    assert c.classify("the frobnicator refused", None) == ("zoho_validation", "the frobnicator", "custom")
    assert c.classify("Read timed out", "ERP_7")[0] == "internal"
    assert c.classify("Read timed out", None)[0] == "zoho_unavailable"  # code missing: the built-in rule
    assert c.calls == 3


def test_bad_rules_are_named_in_one_message():
    problems = rule_problems([{"clas": "internal", "message": "x"}, {"class": "zoho_oauth", "message": "("},
                              {"class": "internal"}, "nope"])
    text = "; ".join(problems)
    assert "unknown key 'clas' (did you mean 'class'?)" in text
    assert "got 'zoho_oauth' (did you mean 'zoho_auth'?)" in text
    assert "[1].message is not a valid regular expression" in text
    assert "[2] needs a message or a code" in text
    assert "[3] must be a mapping" in text
    assert rule_problems(None) == [] and rule_problems([]) == []
    assert rule_problems("x")[0].startswith("zoho_health_error_rules must be a list")
    with pytest.raises(ValueError, match="Invalid error rules"):
        Classifier([{"class": "internal"}])
