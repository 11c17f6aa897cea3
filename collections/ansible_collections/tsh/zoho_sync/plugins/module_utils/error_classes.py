# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What caused a failure: the error rules that classify each distinct error pattern.

A rule is a mapping::

    {"class": "zoho_auth",            # one of vocabulary.ERROR_CLASSES
     "message": "invalid oauth",      # regular expression searched in error_message
     "code": "^ZOHO_401$",            # regular expression searched in error_code
     "name": "expired OAuth token"}   # optional label shown with the pattern

``message`` and ``code`` are Python regular expressions, matched case-insensitively
anywhere in the text (anchor them with ^ and $ for a whole value); a rule needs at least
one of them, and when it has both, both must match. Rules are tried in order and the
first that matches gives the class; the operator's rules (the role variable
``zoho_health_error_rules``, the module option ``error_rules``) are tried before the
built-in ones below, so they can refine or override them. A pattern no rule matches is
``unknown``.

The built-in rules come from the production worker's own failures (SQLAlchemy and Python
exception texts: MissingGreenlet "greenlet_spawn has not been called; can't call
await_only() here" with code xd2s, "Unconsumed column names", the naive/aware datetime
comparison TypeError, AttributeError, ...) and from Zoho's documented API errors (HTTP
401 / 403 and OAuth token errors such as INVALID_OAUTHTOKEN or code 57 "You are not
authorized to perform this operation"; 429 / "API call limit" / "too many requests";
timeouts, connection resets and 5xx; 400-class validation errors such as code 1002
"... does not exist" or "Invalid value passed for ...").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import ERROR_CLASSES

RULE_KEYS = ("class", "message", "code", "name")

# An HTTP status in context ("HTTP 401", "status 503", "error 429", "code=400", "401 Client Error").
_HTTP = r"(?:\bhttp|\bstatus(?:_code)?|\berror|\bcode|\bresponse)\W{0,3}"

DEFAULT_RULES = (
    # -- the worker's own code, its ORM or its database: nothing reached Zoho -------------
    {"name": "SQLAlchemy MissingGreenlet (async session used outside its greenlet)", "class": "internal",
     "message": r"greenlet_spawn has not been called|await_only\(\)|MissingGreenlet"},
    {"name": "SQLAlchemy error code", "class": "internal",
     "code": r"^(xd2s|e3q8|f405|gkpj|7s2a|rvf5|4xp6|9h9h|dbapi|cprf|bhk3|l7de|lkrp|xaj1|bbf1|2j85|3o7r)$"},
    {"name": "SQLAlchemy error (sqlalche.me reference)", "class": "internal", "message": r"sqlalche\.me/e/"},
    {"name": "ORM mapping or column mismatch", "class": "internal",
     "message": r"Unconsumed column names|UndefinedColumn|column \S+ (of relation \S+ )?does not exist|"
                r"no such column|InvalidRequestError|PendingRollbackError|"
                r"transaction has been rolled back|DetachedInstanceError|ObjectDeletedError|"
                r"StatementError|ProgrammingError|\bsqlalchemy\b|\bpsycopg2?\b|\basyncpg\b"},
    {"name": "naive and aware datetimes compared", "class": "internal",
     "message": r"can't compare offset-naive and offset-aware datetimes|"
                r"can't subtract offset-naive and offset-aware datetimes"},
    {"name": "Python exception in the worker", "class": "internal",
     "message": r"\b(AttributeError|TypeError|KeyError|NameError|UnboundLocalError|IndexError|"
                r"ZeroDivisionError|RecursionError|ImportError|ModuleNotFoundError|NotImplementedError|"
                r"AssertionError)\b|object has no attribute|'NoneType' object|Traceback \(most recent call last\)"},
    {"name": "the ERP database refused the write", "class": "internal",
     "message": r"duplicate key value violates unique constraint|IntegrityError|violates (foreign key|not-null|check) "
                r"constraint|deadlock detected|could not serialize access",
     },
    {"name": "the ERP database refused the write (code)", "class": "internal",
     "code": r"^(DB_INTEGRITY|INTERNAL_ERROR|WORKER_ERROR)$"},
    # -- Zoho refuses the credentials ----------------------------------------------------
    {"name": "Zoho OAuth / authorization error (code)", "class": "zoho_auth",
     "code": r"^(ZOHO_40[13]|40[13]|AUTH(_ERROR)?|UNAUTHORI[SZ]ED|FORBIDDEN|INVALID_OAUTHTOKEN|INVALID_TOKEN|"
             r"OAUTH\w*|AUTHENTICATION_FAILURE|INVALID_CLIENT|57|14)$"},
    {"name": "Zoho OAuth / authorization error", "class": "zoho_auth",
     "message": r"INVALID_OAUTHTOKEN|INVALID_TOKEN|OAUTH_SCOPE_MISMATCH|AUTHENTICATION_FAILURE|invalid[ _]oauth|"
                r"oauth ?token|access[ _]token|refresh[ _]token|authtoken|invalid_client|invalid_code|"
                r"not authori[sz]ed|\bunauthori[sz]ed\b|\bforbidden\b|" + _HTTP + r"40[13]\b|"
                r"\b40[13] (client error|unauthori[sz]ed|forbidden)"},
    # -- Zoho throttles the calls ----------------------------------------------------------
    {"name": "Zoho API rate limit (code)", "class": "zoho_rate_limit",
     "code": r"^(ZOHO_429|429|RATE_?LIMIT(ED)?|TOO_MANY_REQUESTS|THROTTLED|44|45)$"},
    {"name": "Zoho API rate limit", "class": "zoho_rate_limit",
     "message": r"too many requests|TOO_MANY_REQUESTS|rate[ -]?limit|API call limit|call limit|request limit|"
                r"maximum number of (API )?(calls|requests)|throttl|" + _HTTP + r"429\b|\b429 (client error|too many)"},
    # -- Zoho (or the way to it) is unavailable ----------------------------------------------
    {"name": "Zoho unavailable: 5xx, timeout or network (code)", "class": "zoho_unavailable",
     "code": r"^(ZOHO_5\d\d|5\d\d|TIMEOUT|NETWORK|CONNECTION_ERROR|SERVICE_UNAVAILABLE|GATEWAY_TIMEOUT|"
             r"BAD_GATEWAY|1000)$"},
    {"name": "Zoho unavailable: 5xx, timeout or network", "class": "zoho_unavailable",
     "message": r"timed? ?out|timeout|connection (reset|refused|aborted)|ConnectionError|ConnectTimeout|"
                r"ReadTimeout|RemoteDisconnected|remote end closed|service unavailable|bad gateway|"
                r"gateway time-?out|internal server error|temporary failure in name resolution|"
                r"name or service not known|max retries exceeded|SSLError|EOF occurred in violation|"
                + _HTTP + r"5\d\d\b|\b5\d\d (server error|internal server error)|\"code\"\s*:\s*1000\b"},
    # -- Zoho rejects the data: retrying will not help ----------------------------------------
    {"name": "Zoho rejected the data (code)", "class": "zoho_validation",
     "code": r"^(ZOHO_4\d\d|4\d\d|VALIDATION(_ERROR)?|INVALID_DATA|MANDATORY_NOT_FOUND|DUPLICATE_DATA|"
             r"MISSING_DEPENDENCY|STOCK_CONFLICT|NOT_FOUND|BAD_REQUEST|1001|1002|2\d{3}|4\d{3})$"},
    {"name": "Zoho rejected the data", "class": "zoho_validation",
     "message": r"validation failed|INVALID_DATA|MANDATORY_NOT_FOUND|DUPLICATE_DATA|invalid value passed|"
                r"is required|does not exist|not found in zoho|not found for|already exists|"
                r"insufficient stock|must be (positive|greater|less|a valid)|bad request|"
                + _HTTP + r"4(00|04|05|09|22)\b|\b400 (client error|bad request)"},
)


def _suggest(name, choices):
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else ""


def rule_problems(rules, where="zoho_health_error_rules"):
    """Every problem of an operator's rule list, as one message each ([] when valid)."""
    if rules is None or rules == "":
        return []
    if not isinstance(rules, (list, tuple)):
        return ["%s must be a list of rules ({class, message and/or code, name}), got %s"
                % (where, type(rules).__name__)]
    problems = []
    for index, rule in enumerate(rules):
        here = "%s[%d]" % (where, index)
        if not isinstance(rule, dict):
            problems.append("%s must be a mapping with class and message and/or code, got %r" % (here, rule))
            continue
        for key in sorted(set(rule) - set(RULE_KEYS), key=str):
            problems.append("%s has an unknown key %r%s (known: %s)"
                            % (here, key, _suggest(key, RULE_KEYS), ", ".join(RULE_KEYS)))
        cls = rule.get("class")
        if cls not in ERROR_CLASSES:
            problems.append("%s.class must be one of %s, got %r%s"
                            % (here, ", ".join(ERROR_CLASSES), cls, _suggest(cls, ERROR_CLASSES)))
        if rule.get("message") in (None, "") and rule.get("code") in (None, ""):
            problems.append("%s needs a message or a code regular expression" % here)
        for key in ("message", "code"):
            value = rule.get(key)
            if value in (None, ""):
                continue
            if not isinstance(value, str):
                problems.append("%s.%s must be a regular expression (text), got %r" % (here, key, value))
                continue
            try:
                re.compile(value, re.IGNORECASE)
            except re.error as exc:
                problems.append("%s.%s is not a valid regular expression (%s): %r" % (here, key, exc, value))
        if rule.get("name") is not None and not isinstance(rule.get("name"), str):
            problems.append("%s.name must be text" % here)
    return problems


class Classifier(object):
    """The operator's rules, then the built-in ones, compiled once."""

    def __init__(self, rules=None):
        problems = rule_problems(rules, "error_rules")
        if problems:
            raise ValueError("Invalid error rules: %s" % "; ".join(problems))
        self.rules = []
        for origin, rule_list in (("custom", rules or ()), ("built-in", DEFAULT_RULES)):
            for rule in rule_list:
                self.rules.append({
                    "class": rule["class"],
                    "name": rule.get("name") or rule.get("message") or rule.get("code"),
                    "origin": origin,
                    "message": re.compile(rule["message"], re.IGNORECASE) if rule.get("message") else None,
                    "code": re.compile(rule["code"], re.IGNORECASE) if rule.get("code") else None,
                })
        self.calls = 0

    def classify(self, message, code):
        """(class, rule name, rule origin) of one error; ('unknown', None, None) when no rule matches."""
        self.calls += 1
        message = "" if message is None else str(message)
        code = "" if code is None else str(code)
        for rule in self.rules:
            if rule["message"] is not None and not rule["message"].search(message):
                continue
            if rule["code"] is not None and not rule["code"].search(code):
                continue
            return rule["class"], rule["name"], rule["origin"]
        return "unknown", None, None
