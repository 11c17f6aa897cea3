# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recommendations of a report, derived from its diagnoses alone (one source of cause
texts): one per warning or critical diagnosis, in the diagnoses' order, with the
finding it answers (``check``, ``problem``), the diagnosis' summary as ``cause``, its
command and steps, and the catch-up estimate where the diagnosis has one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.diagnosis import worst_finding


def recommendations(diagnoses, findings):
    recs = []
    for d in diagnoses:
        if d.get("severity") not in ("warning", "critical"):
            continue
        finding = worst_finding(findings, d.get("explains") or [])
        steps = list((d.get("remedy") or {}).get("steps") or [])
        recs.append({
            "check": finding["check"] if finding else d["id"],
            "diagnosis": d["id"],
            "severity": d["severity"],
            "entities": list(d.get("entities") or []),
            "problem": finding["message"] if finding else d["summary"],
            "cause": d["summary"],
            "command": (d.get("remedy") or {}).get("command"),
            "steps": steps,
            "then": steps[0] if steps else None,
            "eta": d.get("eta"),
            "eta_minutes": d.get("eta_minutes"),
            "confidence": d.get("confidence"),
        })
    return recs
