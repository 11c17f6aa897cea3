# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The zoho_health role's report templates rendered by Jinja2 itself, with the settings,
filters and tests Ansible's template lookup gives them, and their compiled form kept in
Jinja's bytecode cache between runs.

Why not the template lookup: rendering the four reports through it was most of a health check
(issue 13: ~0.2 s of a 0.35 s action, a playbook's whole floor being ~0.5 s) - the lookup
compiles every template again in every run and wraps every value the templates read in a lazy
container. The templates read one report (plain data: no variable of the play, nothing to
template inside it), so nothing of what the lookup adds applies to them.

The output is the lookup's, byte for byte: tests/health/test_report_render.py (in the
repository) renders the templates both ways over reports of every state and compares them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

import jinja2

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import user_cache

# Ansible's own filter and test plugins, as a template names them (bare or ansible.builtin.*).
ANSIBLE_PLUGINS = {
    "filters": ("ansible.plugins.filter.core", "ansible.plugins.filter.mathstuff",
                "ansible.plugins.filter.urls", "ansible.plugins.filter.urlsplit"),
    "tests": ("ansible.plugins.test.core", "ansible.plugins.test.files", "ansible.plugins.test.mathstuff",
              "ansible.plugins.test.uri"),
}
# The collection's filter plugins (Python ones), as tsh.zoho_sync.<name>.
COLLECTION = "tsh.zoho_sync"
COLLECTION_FILTERS = ("zoho_alert", "zoho_exports", "zoho_heal", "zoho_health", "zoho_report_view",
                      "zoho_schedule", "zoho_service")
TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "roles", "zoho_health", "templates")

_ENVIRONMENTS = {}
# What the compiled form depends on besides the template's text (Jinja keys its cache on the
# name and the text only): the environment's settings, Jinja's version, this module's version.
SETTINGS = dict(trim_blocks=True, keep_trailing_newline=True, autoescape=False)
CACHE_VERSION = 1


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """In the per-user cache directory (plugin_utils/user_cache.py), under names of this
    environment only; a cache that cannot be read or written costs a compilation, never the
    report."""

    def load_bytecode(self, bucket):
        try:
            super(_BytecodeCache, self).load_bytecode(bucket)
        except (OSError, EOFError, ValueError):
            bucket.reset()

    def dump_bytecode(self, bucket):
        try:
            super(_BytecodeCache, self).dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache():
    directory = user_cache.directory()
    if directory is None:  # no safe per-user directory: compile every time
        return None
    key = user_cache.fingerprint(sorted(SETTINGS.items()), jinja2.__version__, CACHE_VERSION)
    return _BytecodeCache(directory, pattern="%stemplate-%s-%%s.cache" % (user_cache.PREFIX, key))


def _plugins(kind, module_names, prefix):
    """{name: function} of the FilterModule/TestModule classes of ``module_names``."""
    found = {}
    for module_name in module_names:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, "FilterModule" if kind == "filters" else "TestModule", None)
        if cls is None:
            continue
        for name, function in getattr(cls(), kind)().items():
            found["%s.%s" % (prefix, name) if prefix else name] = function
    return found


def environment(templates=TEMPLATES):
    """The Jinja2 environment of the templates under ``templates`` (one per directory and process)."""
    env = _ENVIRONMENTS.get(templates)
    if env is not None:
        return env
    # What the template lookup sets (SETTINGS: no autoescape - the HTML template escapes every
    # value itself -, trim_blocks, the text's last newline kept; Jinja's other defaults); an
    # undefined name is an error, not ''.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), undefined=jinja2.StrictUndefined,
                             finalize=_finalize, bytecode_cache=_bytecode_cache(), auto_reload=False, **SETTINGS)
    # Ansible's versions of Jinja's own (default, defined, map, select ...) understand Ansible's
    # undefined values only; on plain data they do what Jinja's do, so Jinja's stay.
    for kind in ("filters", "tests"):
        jinja_own = getattr(env, kind)
        for name, function in _plugins(kind, ANSIBLE_PLUGINS[kind], None).items():
            jinja_own.setdefault(name, function)
            jinja_own["ansible.builtin." + name] = jinja_own[name]
    env.filters.update(_plugins("filters", ["ansible_collections.%s.plugins.filter.%s" % (COLLECTION, name)
                                            for name in COLLECTION_FILTERS], COLLECTION))
    _ENVIRONMENTS[templates] = env
    return env


def _finalize(value):
    # the lookup writes nothing for a None ({{ x }} with x None), as Jinja would write 'None'
    return "" if value is None else value


def render(name, variables, templates=TEMPLATES):
    """The text of template ``name`` rendered with ``variables``."""
    try:
        return environment(templates).get_template(name).render(variables)
    except jinja2.TemplateError as exc:
        raise ValueError("The template %s could not be rendered: %s" % (name, exc))
