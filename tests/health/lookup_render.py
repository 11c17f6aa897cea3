"""Renders the zoho_health role's templates through ansible.builtin.template's lookup, as the
role rendered its reports before plugin_utils/report_render.py (test_report_render.py compares
the two). A process of its own: Ansible's collection loader must be set up before anything of the
collection is imported, which a pytest process has already done.

    python tests/health/lookup_render.py CASES.json OUT_DIR

CASES.json: [{"id": ..., "template": ..., "variables": {...}, "template_vars": {...}}, ...];
writes OUT_DIR/<id> with each rendering."""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, "collections")
TEMPLATES = os.path.join(COLLECTIONS, "ansible_collections", "tsh", "zoho_sync", "roles", "zoho_health", "templates")


def main(cases_path, out_dir):
    from ansible.plugins.loader import init_plugin_loader, lookup_loader
    init_plugin_loader([COLLECTIONS])
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    with open(cases_path) as f:
        cases = json.load(f)
    for case in cases:
        loader = DataLoader()
        templar = Templar(loader=loader, variables=case["variables"])
        lookup = lookup_loader.get("ansible.builtin.template", loader=loader, templar=templar)
        kwargs = {"template_vars": case["template_vars"]} if case.get("template_vars") else {}
        text = lookup.run([os.path.join(TEMPLATES, case["template"])], variables=case["variables"], **kwargs)[0]
        with open(os.path.join(out_dir, case["id"]), "w", encoding="utf-8", newline="") as f:
            f.write(str(text))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
