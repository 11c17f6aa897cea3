#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_dlq_facts
short_description: The unresolved dead letters of the Zoho sync queue, by error pattern and entity type
version_added: 0.1.0
description:
  - The input of the weekly dead-letter review. Reads the queue rows in status C(dead_letter) that have no
    resolved dead-letter record (whether they have an open record or none at all - the production worker writes
    none) and groups them by entity type and by error pattern (error code and message with UUIDs, hex ids and
    numbers collapsed, as M(tsh.zoho_sync.zoho_queue_facts) does), with counts, first and last seen, an example
    message and sample ids to re-drive.
  - Also counts open dead-letter records whose queue row is no longer C(dead_letter) (re-driven by hand without
    resolving the record).
  - Read-only - one read-only transaction that is rolled back; never reports a change.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
  - tsh.zoho_sync.attributes
attributes:
  check_mode:
    support: full
    details: It only reads; it behaves the same in both modes.
  diff_mode:
    support: none
options:
  entity_types:
    description:
      - Only dead letters of these entity types.
    type: list
    elements: str
  top_patterns:
    description:
      - How many error patterns to return, most frequent first.
    type: int
    default: 20
  sample_size:
    description:
      - How many row ids each group lists.
    type: int
    default: 10
seealso:
  - module: tsh.zoho_sync.zoho_requeue
  - module: tsh.zoho_sync.zoho_dlq_move
'''

EXAMPLES = r'''
- name: Read the dead letters to review
  tsh.zoho_sync.zoho_dlq_facts:
    login_db: tsh_erp
  register: dlq

- name: Show the worst pattern
  ansible.builtin.debug:
    msg: "{{ dlq.by_pattern[0].count }} x {{ dlq.by_pattern[0].pattern }}"
  when: dlq.by_pattern | length > 0
'''

RETURN = r'''
total:
  description: Unresolved dead letters (C(dead_letter) rows without a resolved record).
  returned: success
  type: int
recorded:
  description: Of those, how many have an open dead-letter record.
  returned: success
  type: int
unrecorded:
  description: Of those, how many have no record at all.
  returned: success
  type: int
stale_open_records:
  description: Open records whose queue row is no longer C(dead_letter).
  returned: success
  type: int
by_entity:
  description: Per entity type - C(entity_type), C(count), C(recorded), C(oldest), C(newest), C(sample_ids).
    Sorted by count.
  returned: success
  type: list
  elements: dict
by_pattern:
  description: Per error pattern - C(pattern), C(error_code), C(count), C(entity_types), C(example),
    C(first_seen), C(last_seen), C(sample_ids). Sorted by count, at most O(top_patterns).
  returned: success
  type: list
  elements: dict
pattern_groups:
  description: How many distinct patterns exist (the list is capped at O(top_patterns)).
  returned: success
  type: int
collected_at:
  description: Database time of the snapshot (ISO 8601).
  returned: success
  type: str
'''

from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import psycopg2
from ansible_collections.tsh.zoho_sync.plugins.module_utils.dlq_queries import gather
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    build_module,
    check_range,
    check_string_list,
    close_quietly,
    database_error_message,
    fail,
    open_session,
    resolve_schema,
)


def main():
    module = build_module(dict(
        entity_types=dict(type="list", elements="str"),
        top_patterns=dict(type="int", default=20),
        sample_size=dict(type="int", default=10),
    ))
    check_range(module, "top_patterns", 1, 1000)
    check_range(module, "sample_size", 0, 1000)
    check_string_list(module, "entity_types")
    schema = resolve_schema(module)
    conn = open_session(module, schema, read_only=True)
    try:
        entity_types = schema.validate_entity_types(module.params.get("entity_types"))
    except ValueError as exc:
        close_quietly(conn)
        fail(module, str(exc))
    try:
        with conn.cursor() as cur:
            out = gather(cur, schema, entity_types, module.params["top_patterns"], module.params["sample_size"])
        conn.rollback()
    except psycopg2.Error as exc:
        close_quietly(conn)
        fail(module, database_error_message(module, exc, "reading the dead letters"))
    close_quietly(conn)
    module.exit_json(changed=False, **out)


if __name__ == "__main__":
    main()
