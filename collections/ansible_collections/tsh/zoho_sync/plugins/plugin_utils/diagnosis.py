# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnosis engine: from the findings and the facts, the causes an operator acts on.

Each rule of diagnosis_rules looks at the evidence for one catalogue id (docs/diagnosis.md)
and returns a Candidate - or nothing when its signs are absent. The engine then:

* drops every candidate whose cause the evidence contradicts (``contradicted``);
* gives each the severity of the worst finding it explains (``explains``: the finding
  checks that are its symptoms), ``info`` when those are all ok - so a healthy queue has
  no warning or critical diagnosis, and the thresholds stay the operator's knob;
* rates its confidence from the share of its signs that hold;
* orders them: the most severe first, then the cause before its symptoms (layer 0: the
  platform, 1: what the workers or Zoho do, 2: what they leave behind, 3: the host and
  what could not be measured), then the better supported;
* makes sure every non-ok finding is explained by some diagnosis (the fallbacks of the
  rules), because the recommendations are derived from the diagnoses alone.

Output per diagnosis (the contract of the JSON report): id, severity, summary, evidence
[{name, value, unit, why}], remedy {command, steps}, confidence, entities, plus
``explains`` (the finding checks it accounts for).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import DIAGNOSIS_RANK, SEVERITY_RANK


def evidence(name, value, unit, why):
    """One fact a diagnosis rests on."""
    return {"name": name, "value": value, "unit": unit, "why": why}


class Candidate(object):
    """A diagnosis a rule proposes."""

    def __init__(self, id, summary, layer=1, explains=(), entities=(), command=None, steps=(),
                 signs=None, severity=None, extra=None):
        self.id = id
        self.summary = summary
        self.layer = layer
        self.explains = list(explains)
        self.entities = list(entities)
        self.command = command
        self.steps = [s for s in steps if s]
        self.evidence = []
        # signs: [(held?, weight)] - the confidence is the weighted share that holds
        self.signs = list(signs or [])
        self.forced_severity = severity
        self.contradiction = None
        self.extra = dict(extra or {})
        # how much of the problem this cause accounts for (a class of failures: its share)
        self.strength = 1.0

    def add(self, name, value, unit, why):
        self.evidence.append(evidence(name, value, unit, why))
        return self

    def sign(self, held, weight=1.0):
        self.signs.append((bool(held), float(weight)))
        return self

    def contradicted(self, why):
        self.contradiction = why
        return self

    @property
    def score(self):
        return sum(w for held, w in self.signs if held)

    @property
    def support(self):
        """What orders two diagnoses of the same severity and layer: the signs that hold,
        weighted by how much of the problem the cause accounts for."""
        return self.score * self.strength

    @property
    def confidence(self):
        total = sum(w for _held, w in self.signs)
        if not total:
            return "medium"
        share = self.score / total
        if share >= 0.75:
            return "high"
        if share >= 0.45:
            return "medium"
        return "low"


def severity_of(candidate, findings):
    """The severity of the worst finding the candidate explains (warning/critical), else info."""
    if candidate.forced_severity:
        return candidate.forced_severity
    worst = "info"
    for f in findings:
        if f.get("check") not in candidate.explains or f.get("depends_on"):
            continue
        sev = f.get("severity")
        if sev in ("warning", "critical") and DIAGNOSIS_RANK[sev] > DIAGNOSIS_RANK[worst]:
            worst = sev
    return worst


def _render(candidate, severity):
    out = {
        "id": candidate.id,
        "severity": severity,
        "summary": candidate.summary,
        "evidence": candidate.evidence,
        "remedy": {"command": candidate.command, "steps": candidate.steps},
        "confidence": candidate.confidence,
        "entities": sorted(set(candidate.entities), key=lambda e: (str(e).lower(), str(e))),
        "explains": sorted(set(candidate.explains)),
    }
    out.update(candidate.extra)
    return out


def diagnose(context, findings, rules, fallbacks):
    """The diagnoses of one report. ``context`` is what the rules read (see
    diagnosis_rules.Context); ``rules`` and ``fallbacks`` are lists of functions."""
    found = {}
    for rule in rules:
        for candidate in rule(context, found) or ():
            if candidate is None or candidate.contradiction:
                continue
            found[candidate.id] = candidate
    # every finding that is not ok must be explained (recommendations derive from diagnoses)
    for fallback in fallbacks:
        for candidate in fallback(context, found, uncovered(findings, found.values())) or ():
            if candidate is not None and not candidate.contradiction:
                found[candidate.id] = candidate
    rendered = [(c, severity_of(c, findings)) for c in found.values()]
    rendered.sort(key=lambda cs: (-DIAGNOSIS_RANK[cs[1]], cs[0].layer, -cs[0].support, cs[0].id))
    return [_render(c, s) for c, s in rendered]


def uncovered(findings, candidates):
    """The non-ok findings (not dependent on another) no candidate explains."""
    explained = set()
    for c in candidates:
        explained.update(c.explains)
    return [f for f in findings if f.get("severity") != "ok" and not f.get("depends_on")
            and f.get("check") not in explained]


def worst_finding(findings, checks):
    """The worst non-ok finding of some checks (for a recommendation's problem text)."""
    chosen = None
    for f in findings:
        if f.get("check") in checks and f.get("severity") != "ok":
            if chosen is None or SEVERITY_RANK.get(f["severity"], 2) > SEVERITY_RANK.get(chosen["severity"], 2):
                chosen = f
    return chosen
