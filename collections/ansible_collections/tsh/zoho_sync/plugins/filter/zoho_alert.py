# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alert state machine of the zoho_alert role.

Pure functions (no I/O, no clock): the role reads the per-host state file, passes it
with the health report to ``zoho_alert_decide`` and gets back what to send and the state
to write once the sending succeeded.

Two channels, each with its own remembered state so that a failure of one never makes
the other send twice:

* the webhook (Slack-compatible JSON) remembers the last level it announced (and, when
  critical, the incident fingerprint); it posts whenever that changes;
* GitHub remembers the open incident (fingerprint, issue number, level it was last
  told about).  A critical report opens an issue for its fingerprint (host + database +
  the set of critical checks); a later change of level comments on it; a recovery
  comments and closes it; a different set of critical checks is a new incident (new
  issue, the old one is commented on and closed as superseded).

Filters:

* ``zoho_alert_check_inputs(report, ...)``: list of problems with the inputs (empty when fine).
* ``zoho_alert_load_state(text)``: state dict from the state file's text ({} when absent).
* ``zoho_alert_decide(previous, report, host=, database=, ...)``: the decision.
* ``zoho_alert_github_plan(decision, open_issues)``: the GitHub calls, from the open issues found.
* ``zoho_alert_finalize(decision, plan, created)``: the state to write after delivery.
* ``zoho_alert_delivery_error(uri_result, task, secrets, expected)``: '' when the call(s) got an
  expected status, else one clear sentence with every secret removed
  (``zoho_alert_failure_message`` builds that sentence).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit  # type: ignore

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - used without Ansible
    AnsibleFilterError = ValueError  # type: ignore

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import SEVERITIES, SEVERITY_RANK

STATE_VERSION = 1
LEVELS = SEVERITIES
# Order used to tell an escalation from an improvement (unknown sits between warning and
# critical: the health play fails on it, but it is not a confirmed outage).
RANK = SEVERITY_RANK
EMOJI = {"ok": ":white_check_mark:", "warning": ":warning:", "unknown": ":grey_question:",
         "critical": ":red_circle:"}
COLOUR = {"ok": "#2eb67d", "warning": "#ecb22e", "unknown": "#9e9e9e", "critical": "#e01e5a"}
MARKER = "zoho-sync-alert"
DEFAULT_COMMON_LABEL = "zoho-sync-alert"
LABEL_PREFIX = "zoho-incident-"
NEW_ISSUE_PLACEHOLDER = "__ZOHO_ALERT_NEW_ISSUE__"
SLACK_TEXT_LIMIT = 2900


# -- inputs --------------------------------------------------------------------------
def check_inputs(report, webhook_url="", github_repo="", github_token="", github_api_url="",
                 issue_levels=None):
    """Everything wrong with the role's inputs, as messages that never echo a secret."""
    problems = []
    problems.extend(_report_problems(report))
    if webhook_url and not re.match(r"^https?://[^/\s]+", str(webhook_url)):
        problems.append("zoho_alert_webhook_url must be an http:// or https:// URL "
                        "(its value is not shown because it carries a secret)")
    if github_repo:
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", str(github_repo)):
            problems.append("zoho_alert_github_repo must be 'owner/name', got %r" % (github_repo,))
        if not github_token:
            problems.append("zoho_alert_github_repo is set but zoho_alert_github_token is empty "
                            "(put the token in Vault or in the ZOHO_ALERT_GITHUB_TOKEN environment variable)")
        if not re.match(r"^https?://[^/\s]+", str(github_api_url or "")):
            problems.append("zoho_alert_github_api_url must be an http:// or https:// URL, got %r"
                            % (github_api_url,))
    for level in issue_levels or []:
        if level not in ("critical", "unknown"):
            problems.append("zoho_alert_github_issue_levels may only hold 'critical' and 'unknown', got %r"
                            % (level,))
    return problems


def _report_problems(report):
    if not isinstance(report, dict):
        return ["zoho_alert_report must be the health JSON report (a mapping), got %s"
                % type(report).__name__]
    problems = []
    overall = report.get("overall")
    if overall not in LEVELS:
        problems.append("zoho_alert_report.overall must be one of %s, got %r" % (", ".join(LEVELS), overall))
    findings = report.get("findings", [])
    if not isinstance(findings, list):
        problems.append("zoho_alert_report.findings must be a list")
        return problems
    for index, finding in enumerate(findings):
        if not isinstance(finding, dict):
            problems.append("zoho_alert_report.findings[%d] must be a mapping" % index)
        elif finding.get("severity") not in LEVELS:
            problems.append("zoho_alert_report.findings[%d].severity must be one of %s, got %r"
                            % (index, ", ".join(LEVELS), finding.get("severity")))
        elif not finding.get("check"):
            problems.append("zoho_alert_report.findings[%d] has no 'check'" % index)
    recommendations = report.get("recommendations", [])
    if recommendations is not None and not isinstance(recommendations, list):
        problems.append("zoho_alert_report.recommendations must be a list")
    return problems


def _validated(report):
    problems = _report_problems(report)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    return report


# -- state ---------------------------------------------------------------------------
def load_state(text):
    """The state file's content as a dict; {} for an absent/empty file.

    A file that is not valid JSON (hand-edited, disk full) is treated as no state, with
    ``_invalid`` set so the role can warn: alerting must not stop because of it."""
    if isinstance(text, dict):
        return text
    if text is None or not str(text).strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        return {"_invalid": "not valid JSON (%s)" % exc}
    if not isinstance(data, dict):
        return {"_invalid": "not a JSON object"}
    return data


def _normalised(previous, host, database):
    prev = previous if isinstance(previous, dict) else {}
    level = prev.get("level") if prev.get("level") in LEVELS else "ok"
    webhook = prev.get("webhook") if isinstance(prev.get("webhook"), dict) else {}
    github = prev.get("github") if isinstance(prev.get("github"), dict) else {}
    incident = github.get("incident") if isinstance(github.get("incident"), dict) else None
    if incident is not None and not incident.get("fingerprint"):
        incident = None
    return {
        "version": STATE_VERSION,
        "host": host,
        "database": database,
        "level": level,
        "since": prev.get("since"),
        "updated_at": prev.get("updated_at"),
        "critical_checks": list(prev.get("critical_checks") or []),
        "fingerprint": prev.get("fingerprint"),
        "webhook": {
            "level": webhook.get("level") if webhook.get("level") in LEVELS else level,
            "fingerprint": webhook.get("fingerprint"),
            "sent_at": webhook.get("sent_at"),
        },
        "github": {"incident": dict(incident) if incident else None},
    }


def fingerprint(host, database, checks):
    """Stable identity of an incident: host, database and the set of critical checks."""
    material = "\n".join([str(host or ""), str(database or ""), ",".join(sorted(set(checks)))])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:12]


def incident_checks(report, issue_levels=("critical",)):
    return sorted({str(f.get("check")) for f in report.get("findings") or []
                   if isinstance(f, dict) and f.get("severity") in issue_levels})


# -- decision ------------------------------------------------------------------------
def decide(previous, report, host, database="", webhook_enabled=True, github_enabled=False,
           now=None, issue_levels=None, max_findings=20, include_report=False,
           common_label=DEFAULT_COMMON_LABEL, title_prefix="[zoho_sync]"):
    """What to send for this report given the remembered state (see the module doc)."""
    report = _validated(report)
    issue_levels = tuple(issue_levels or ("critical",))
    level = report["overall"]
    prev = _normalised(previous, host, database)
    new = copy.deepcopy(prev)
    checks = incident_checks(report, issue_levels)
    is_incident = level in issue_levels
    current_fp = fingerprint(host, database, checks) if is_incident else None

    # -- webhook channel: announce every change of (level, incident fingerprint).
    prev_hook = prev["webhook"]
    hook_changed = (level != prev_hook["level"]
                    or (is_incident and current_fp != prev_hook["fingerprint"]))
    send_webhook = bool(webhook_enabled and hook_changed)
    kind = _kind(prev_hook["level"], level, prev_hook["fingerprint"], current_fp)
    if hook_changed:
        new["webhook"] = {"level": level, "fingerprint": current_fp,
                          "sent_at": now if send_webhook else prev_hook["sent_at"]}

    # -- GitHub channel: one issue per incident.
    incident = prev["github"]["incident"]
    gh = {"action": "none", "fingerprint": None, "label": None, "previous_issue": None,
          "create": None, "comment": None, "supersede": None, "common_label": common_label}
    open_issue = comment_issue = close_issue = False
    if github_enabled:
        if is_incident:
            if incident and incident["fingerprint"] == current_fp:
                if incident.get("level") != level:
                    gh["action"] = "ensure"  # re-escalation: comment (or reopen as new if gone)
                    comment_issue = True
            else:
                gh["action"] = "ensure"
                open_issue = True
                if incident:
                    close_issue = True
                    gh["supersede"] = {
                        "fingerprint": incident["fingerprint"],
                        "label": LABEL_PREFIX + incident["fingerprint"],
                        "issue": incident.get("issue"),
                        "comment": _superseded_comment(report, host, database, checks, incident),
                    }
            if gh["action"] == "ensure":
                gh["fingerprint"] = current_fp
                gh["label"] = LABEL_PREFIX + current_fp
                gh["previous_issue"] = incident.get("issue") if incident and not open_issue else None
                gh["create"] = {
                    "title": _issue_title(title_prefix, level, host, database, checks),
                    "body": _issue_body(report, host, database, current_fp, checks, max_findings),
                    "labels": [common_label, LABEL_PREFIX + current_fp],
                }
                gh["comment"] = _change_comment(report, incident.get("level") if incident else prev["level"],
                                                level, max_findings)
            if incident and incident["fingerprint"] == current_fp:
                new["github"]["incident"] = dict(incident, level=level)
            else:
                new["github"]["incident"] = {"fingerprint": current_fp, "level": level, "issue": None,
                                             "opened_at": now, "checks": checks}
        elif incident:
            gh["fingerprint"] = incident["fingerprint"]
            gh["label"] = LABEL_PREFIX + incident["fingerprint"]
            gh["previous_issue"] = incident.get("issue")
            if level == "ok":
                gh["action"] = "close"
                comment_issue = close_issue = True
                gh["comment"] = _resolved_comment(report, incident.get("level"))
                new["github"]["incident"] = None
            elif incident.get("level") != level:
                gh["action"] = "comment"
                comment_issue = True
                gh["comment"] = _change_comment(report, incident.get("level"), level, max_findings)
                new["github"]["incident"] = dict(incident, level=level)

    # -- overall state.
    if level != prev["level"]:
        new["since"] = now
    new["level"] = level
    new["critical_checks"] = incident_checks(report, ("critical",))
    new["fingerprint"] = current_fp
    changed = _comparable(new) != _comparable(prev)
    if changed:
        new["updated_at"] = now
    webhook_state = copy.deepcopy(prev)
    webhook_state["webhook"] = new["webhook"]
    if changed:
        webhook_state["updated_at"] = now

    target_fp = current_fp if is_incident else (incident or {}).get("fingerprint")
    decision = {
        "level": level,
        "previous_level": prev["level"],
        "host": host,
        "database": database,
        "changed": changed,
        "send_webhook": send_webhook,
        "webhook_kind": kind if hook_changed else None,
        "webhook_payload": (_webhook_payload(report, prev_hook["level"], level, kind, host, database,
                                             current_fp, checks, max_findings, include_report)
                            if send_webhook else None),
        "open_issue": open_issue,
        "comment_issue": comment_issue,
        "close_issue": close_issue,
        "github_needed": gh["action"] != "none",
        "github": gh,
        "fingerprint": target_fp,
        "critical_checks": new["critical_checks"],
        "fingerprint_changed": bool(is_incident and prev["level"] == level and current_fp != prev["fingerprint"]),
        "webhook_state": webhook_state,
        "new_state": new,
        "state_warning": ("the previous alert state was %s and was ignored" % previous["_invalid"]
                          if isinstance(previous, dict) and previous.get("_invalid") else None),
    }
    decision["summary"] = _summary(decision)
    return decision


def _comparable(state):
    return {k: v for k, v in state.items() if k not in ("updated_at",)}


def _kind(previous_level, level, previous_fp, current_fp):
    if level == "ok":
        return "resolved"
    if RANK[level] > RANK[previous_level]:
        return "alert"
    if RANK[level] < RANK[previous_level]:
        return "improved"
    if level != previous_level or previous_fp != current_fp:
        return "changed"
    return "alert"


def _summary(decision):
    parts = []
    if decision["level"] == decision["previous_level"] and not decision["changed"]:
        return "Alert state unchanged (%s): nothing to send." % decision["level"]
    if decision["level"] == decision["previous_level"]:
        parts.append("Alert state %s%s" % (decision["level"], " (new set of critical checks)"
                                           if decision["fingerprint_changed"] else ""))
    else:
        parts.append("Alert state %s -> %s" % (decision["previous_level"], decision["level"]))
    actions = []
    if decision["send_webhook"]:
        actions.append("webhook (%s)" % decision["webhook_kind"])
    gh = decision["github"]
    if gh["action"] == "ensure":
        verb = "open" if decision["open_issue"] else "comment"
        actions.append("GitHub issue %s for incident %s" % (verb, gh["fingerprint"]))
    elif gh["action"] == "comment":
        actions.append("GitHub comment on incident %s" % gh["fingerprint"])
    elif gh["action"] == "close":
        actions.append("GitHub comment and close of incident %s" % gh["fingerprint"])
    if gh.get("supersede"):
        actions.append("close superseded incident %s" % gh["supersede"]["fingerprint"])
    parts.append(": " + (", ".join(actions) if actions else "nothing to send (no channel configured), state recorded"))
    return "".join(parts) + "."


# -- texts ---------------------------------------------------------------------------
def _where(host, database):
    return "%s (database %s)" % (host, database) if database else str(host)


def _num(value):
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, float):
        return ("%.2f" % value).rstrip("0").rstrip(".")
    return str(value)


def _problem_findings(report):
    findings = [f for f in report.get("findings") or [] if f.get("severity") != "ok"]
    return sorted(findings, key=lambda f: (-RANK[f["severity"]], str(f.get("check")), str(f.get("entity") or "")))


def _finding_line(finding, markdown="slack"):
    entity = finding.get("entity")
    name = "`%s`" % finding.get("check") + (" (%s)" % entity if entity else "")
    bold = "*%s*" if markdown == "slack" else "**%s**"
    line = "%s %s: %s" % (bold % finding["severity"].upper(), name, _num(finding.get("value")))
    limits = []
    if finding.get("warning") is not None:
        limits.append("warning %s" % _num(finding.get("warning")))
    if finding.get("critical") is not None:
        limits.append("critical %s" % _num(finding.get("critical")))
    if limits:
        line += " (%s)" % ", ".join(limits)
    if finding.get("message"):
        line += " - %s" % finding["message"]
    return line


def _recommendation_text(rec):
    if isinstance(rec, dict):
        head = next((rec[k] for k in ("summary", "title", "what", "problem", "message", "text") if rec.get(k)), None)
        parts = [str(head)] if head else []
        if rec.get("cause"):
            parts.append("cause: %s" % rec["cause"])
        if rec.get("command"):
            parts.append("run: `%s`" % rec["command"])
        if rec.get("eta") or rec.get("estimate"):
            parts.append("estimate: %s" % (rec.get("eta") or rec.get("estimate")))
        return "; ".join(parts) if parts else json.dumps(rec, sort_keys=True, default=str)
    return str(rec)


def _truncate(text, limit=SLACK_TEXT_LIMIT):
    if len(text) <= limit:
        return text
    return text[:max(limit - 16, 1)].rstrip() + " ... (truncated)"


def _findings_text(report, max_findings, markdown="slack"):
    findings = _problem_findings(report)
    lines = ["- " + _finding_line(f, markdown) if markdown != "slack" else u"\u2022 " + _finding_line(f, markdown)
             for f in findings[:max_findings]]
    if len(findings) > max_findings:
        lines.append("... and %d more finding(s)" % (len(findings) - max_findings))
    return "\n".join(lines)


def _webhook_payload(report, previous_level, level, kind, host, database, fp, checks, max_findings,
                     include_report):
    where = _where(host, database)
    findings = _problem_findings(report)
    if kind == "resolved":
        headline = "RESOLVED: TSH Zoho sync on %s" % host
        text = "%s RESOLVED: TSH Zoho sync on %s is ok again (was %s)" % (EMOJI["ok"], where, previous_level)
    else:
        headline = "%s: TSH Zoho sync on %s" % (level.upper(), host)
        counts = {}
        for f in findings:
            counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        count_text = ", ".join("%d %s" % (counts[s], s) for s in ("critical", "unknown", "warning") if s in counts)
        if kind == "changed":
            text = "%s %s: TSH Zoho sync on %s: the critical checks changed (now %s)" % (
                EMOJI[level], level.upper(), where, ", ".join(checks) or "none")
        else:
            text = "%s %s: TSH Zoho sync on %s is %s (was %s)%s" % (
                EMOJI[level], level.upper(), where, level, previous_level, ": " + count_text if count_text else "")
    details = ["*Status:* %s (was %s)" % (level, previous_level), "*Host:* %s" % host]
    if database:
        details.append("*Database:* %s" % database)
    if report.get("generated_at"):
        details.append("*Report generated:* %s" % report["generated_at"])
    if fp:
        details.append("*Incident:* `%s` (critical checks: %s)" % (fp, ", ".join(checks) or "none"))
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _truncate(headline, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _truncate("\n".join(details))}},
    ]
    if findings:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _truncate(_findings_text(report, max_findings))}})
    recs = [_recommendation_text(r) for r in report.get("recommendations") or []]
    attachment = {"color": COLOUR[level], "fallback": text,
                  "footer": "tsh.zoho_sync.zoho_alert" + (" - incident %s" % fp if fp else "")}
    if recs and kind != "resolved":
        attachment["title"] = "Recommendations"
        attachment["text"] = _truncate("\n".join(u"\u2022 " + r for r in recs[:max_findings]))
        attachment["mrkdwn_in"] = ["text"]
    payload = {"text": text, "blocks": blocks, "attachments": [attachment]}
    if include_report:
        payload["zoho_sync"] = {
            "kind": kind, "level": level, "previous_level": previous_level, "host": host,
            "database": database, "fingerprint": fp, "critical_checks": checks,
            "generated_at": report.get("generated_at"), "findings": findings,
            "recommendations": report.get("recommendations") or [],
        }
    return payload


def _md_cell(value):
    text = value if isinstance(value, str) else _num(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _issue_title(prefix, level, host, database, checks):
    title = "%s %s on %s: %s" % (prefix, level.upper(), _where(host, database), ", ".join(checks) or "no check named")
    return title[:250]


def marker(fp):
    return "<!-- %s fingerprint=%s -->" % (MARKER, fp)


def _issue_body(report, host, database, fp, checks, max_findings):
    findings = _problem_findings(report)
    lines = [
        marker(fp),
        "## TSH Zoho sync: %s on `%s`%s" % (
            report["overall"].upper(), host, " (database `%s`)" % database if database else ""),
        "",
        "Opened by the `tsh.zoho_sync.zoho_alert` role from the health report generated at %s."
        % (report.get("generated_at") or "an unknown time"),
        "This issue tracks one incident, fingerprint `%s` (host, database and the set of critical "
        "checks: %s). Later changes of state are added as comments; the issue is closed "
        "automatically when the health check is back to ok." % (fp, ", ".join("`%s`" % c for c in checks) or "none"),
        "",
        "| Severity | Check | Entity | Value | Warning | Critical | Message |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in findings[:max_findings]:
        lines.append("| %s |" % " | ".join(_md_cell(x) for x in (
            f["severity"], f.get("check"), f.get("entity") or "-", f.get("value"), f.get("warning"),
            f.get("critical"), f.get("message") or "")))
    if len(findings) > max_findings:
        lines.append("")
        lines.append("... and %d more finding(s)." % (len(findings) - max_findings))
    recs = [_recommendation_text(r) for r in report.get("recommendations") or []]
    if recs:
        lines.extend(["", "### Recommendations", ""] + ["- %s" % r for r in recs])
    return "\n".join(lines) + "\n"


def _change_comment(report, previous_level, level, max_findings):
    lines = ["Status changed: **%s -> %s** (health report generated at %s)."
             % (previous_level or "ok", level, report.get("generated_at") or "an unknown time")]
    text = _findings_text(report, max_findings, markdown="github")
    if text:
        lines.extend(["", text])
    if level != "critical":
        lines.extend(["", "The incident stays open until the health check is ok again."])
    return "\n".join(lines) + "\n"


def _resolved_comment(report, previous_level):
    return ("Resolved: the health check is **ok** again (was %s; health report generated at %s). "
            "Closing this incident.\n" % (previous_level or "critical", report.get("generated_at") or "an unknown time"))


def _superseded_comment(report, host, database, checks, incident):
    return ("Superseded: the set of critical checks on %s changed (was: %s; now: %s). "
            "The incident continues in %s. Closing this one.\n"
            % (_where(host, database), ", ".join(incident.get("checks") or []) or "unknown",
               ", ".join(checks) or "none", NEW_ISSUE_PLACEHOLDER))


# -- GitHub plan and final state ------------------------------------------------------
def _issue_matches(issue, fp):
    if not isinstance(issue, dict) or "pull_request" in issue or issue.get("state", "open") != "open":
        return False
    names = [lab.get("name") if isinstance(lab, dict) else lab for lab in issue.get("labels") or []]
    return LABEL_PREFIX + fp in names or marker(fp) in (issue.get("body") or "")


def _find(issues, fp):
    if not fp:
        return None
    matches = sorted((i for i in issues if _issue_matches(i, fp)), key=lambda i: i.get("number", 0))
    return matches[0]["number"] if matches else None


def github_plan(decision, open_issues):
    """The GitHub calls for a decision, given the repository's open alert issues.

    Returns {create: {title, body, labels} | None, comments: [{issue, body}],
    close: [issue numbers], issue: number of the incident issue when known, notes: [...]}.
    Calls are made in that order: create, comments, close."""
    if isinstance(open_issues, dict) and "json" in open_issues:
        open_issues = open_issues.get("json")
    issues = open_issues if isinstance(open_issues, list) else []
    gh = decision["github"]
    plan = {"create": None, "comments": [], "close": [], "issue": None, "notes": []}
    found = _find(issues, gh.get("fingerprint"))
    if gh["action"] == "ensure":
        if found:
            plan["issue"] = found
            plan["comments"].append({"issue": found, "body": gh["comment"]})
            if decision["open_issue"]:
                plan["notes"].append("incident %s already has open issue #%s: commenting on it"
                                     % (gh["fingerprint"], found))
        else:
            plan["create"] = gh["create"]
            if decision["comment_issue"]:
                plan["notes"].append("the issue of incident %s is no longer open: opening a new one"
                                     % gh["fingerprint"])
    elif gh["action"] in ("comment", "close"):
        if found:
            plan["issue"] = found
            plan["comments"].append({"issue": found, "body": gh["comment"]})
            if gh["action"] == "close":
                plan["close"].append(found)
        else:
            plan["notes"].append("incident %s has no open issue any more: nothing to %s on GitHub"
                                 % (gh["fingerprint"], gh["action"]))
    sup = gh.get("supersede")
    if sup:
        old = _find(issues, sup["fingerprint"])
        if old and old != plan["issue"]:
            plan["comments"].append({"issue": old, "body": sup["comment"], "supersede": True})
            plan["close"].append(old)
    return plan


def resolve_comment(body, created):
    """Fill the new issue's reference into a superseded comment."""
    number = _created_number(created)
    return body.replace(NEW_ISSUE_PLACEHOLDER, "#%s" % number if number else "a new issue")


def _created_number(created):
    if isinstance(created, dict) and not created.get("skipped"):
        data = created.get("json") if "json" in created else created
        if isinstance(data, dict) and data.get("number"):
            return data["number"]
    return None


def finalize(decision, plan=None, created=None):
    """The state to write once every call of the decision succeeded."""
    state = copy.deepcopy(decision["new_state"])
    incident = state.get("github", {}).get("incident")
    if incident and decision.get("github_needed"):
        number = _created_number(created) or (plan or {}).get("issue")
        if number:
            incident["issue"] = number
    return state


# -- failures ------------------------------------------------------------------------
def _redact(text, secrets):
    text = str(text)
    for secret in sorted({str(s) for s in secrets or [] if s}, key=len, reverse=True):
        if len(secret) < 4:
            continue
        text = text.replace(secret, "***")
        parts = urlsplit(secret) if "://" in secret else None
        if parts and parts.path and len(parts.path) > 1:
            text = text.replace(parts.path, "/***")
    return text


def _origin(url):
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return None
    if parts.scheme and parts.hostname:
        return "%s://%s%s" % (parts.scheme, parts.hostname, ":%s" % parts.port if parts.port else "")
    return None


def _failed_item(result, expected=None):
    """The first call of a (loop) uri result that failed: its status is not an expected one
    (the role runs uri with failed_when: false) or it is marked failed."""
    if not isinstance(result, dict) or result.get("skipped"):
        return None
    items = result.get("results") if isinstance(result.get("results"), list) else [result]
    for item in items:
        if not isinstance(item, dict) or item.get("skipped"):
            continue
        if expected is not None and item.get("status") not in expected:
            return item
        if expected is None and item.get("failed"):
            return item
    return None


def failure_message(result, task="", secrets=None, expected=None):
    """One sentence describing why a delivery step failed, free of every secret."""
    failed = _failed_item(result, expected) or (result if isinstance(result, dict) else {})
    status = failed.get("status")
    msg = str(failed.get("msg") or "no detail")
    detail = None
    data = failed.get("json")
    if isinstance(data, dict) and data.get("message"):
        detail = data["message"]
    origin = _origin(failed.get("url")) if failed.get("url") else None
    if status is not None and status != -1:
        what = "the server answered HTTP %s" % status
        if detail:
            what += " (%s)" % detail
    elif status == -1:
        what = "the request could not be made: %s" % re.sub(r"^Status code was -1 and not \[[^\]]*\]: ", "", msg)
    else:
        what = msg
    hint = ""
    is_github = "/repos/" in str(failed.get("url") or "")
    if is_github and status in (401, 403):
        hint = " Check zoho_alert_github_token (it needs read and write access to the repository's issues)."
    elif is_github and status == 404:
        hint = " Check zoho_alert_github_repo and zoho_alert_github_api_url, and that the token can see the repository."
    elif not is_github and isinstance(status, int) and 400 <= status < 500:
        hint = " Check zoho_alert_webhook_url (the webhook may have been revoked)."
    text = ("Alert delivery failed at '%s'%s: %s.%s The alert state was not advanced for this step, so the "
            "next run retries it." % (task or "unknown step", " (%s)" % origin if origin else "",
                                      what.rstrip("."), hint))
    return _redact(text, secrets)


def delivery_error(result, task="", secrets=None, expected=None):
    """'' when every call of a uri result got an expected status (or was skipped), else the
    failure message (see failure_message)."""
    if _failed_item(result, expected) is None:
        return ""
    return failure_message(result, task=task, secrets=secrets, expected=expected)


class FilterModule(object):
    """Alert state machine filters of the tsh.zoho_sync collection."""

    def filters(self):
        return {
            "zoho_alert_check_inputs": check_inputs,
            "zoho_alert_load_state": load_state,
            "zoho_alert_decide": decide,
            "zoho_alert_github_plan": github_plan,
            "zoho_alert_resolve_comment": resolve_comment,
            "zoho_alert_finalize": finalize,
            "zoho_alert_failure_message": failure_message,
            "zoho_alert_delivery_error": delivery_error,
        }
