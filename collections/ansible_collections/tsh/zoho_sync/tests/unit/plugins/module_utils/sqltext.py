# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render psycopg2.sql objects as text without a database connection, for assertions
on the SQL the module_utils compose (identifiers quoted, values as placeholders)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from psycopg2 import sql


def render(obj):
    if isinstance(obj, sql.Composed):
        return "".join(render(part) for part in obj.seq)
    if isinstance(obj, sql.SQL):
        return obj.string
    if isinstance(obj, sql.Identifier):
        return ".".join('"%s"' % s.replace('"', '""') for s in obj.strings)
    if isinstance(obj, sql.Placeholder):
        return "%%(%s)s" % obj.name if obj.name else "%s"
    if isinstance(obj, sql.Literal):
        return repr(obj.wrapped)
    raise TypeError("not a psycopg2.sql object: %r" % (obj,))
