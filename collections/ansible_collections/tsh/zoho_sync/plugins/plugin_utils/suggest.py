# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
""""Did you mean ...?" for a name or value an operator typed: the closest of the names
that exist, or None when none is close enough to be worth suggesting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib


def closest(word, choices, cutoff=0.75):
    """The choice ``word`` was most likely meant to be: the same word in another case first
    (the production entity enum is mixed case), else the closest spelling above ``cutoff``."""
    word = str(word)
    choices = [str(c) for c in choices]
    by_case = dict((c.lower(), c) for c in choices)
    if word.lower() in by_case and by_case[word.lower()] != word:
        return by_case[word.lower()]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word, choices, cutoff=0.75):
    """' (did you mean X?)' or '' - to append to a message."""
    match = closest(word, choices, cutoff)
    return " (did you mean %s?)" % match if match else ""
