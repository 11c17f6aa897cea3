# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The schema mapping option every module of tsh.zoho_sync shares.
    DOCUMENTATION = r'''
options:
  queue_schema:
    description:
      - Table and column names of the queue, when they differ from the production TSH ERP schema.
      - Keys C(schema) (default C(public)), C(queue_table) (default C(tds_sync_queue)),
        C(dlq_table) (default C(tds_dead_letter_queue)), C(default_max_attempts) (retry budget
        when the layout has no per-row C(max_retry_attempts) column, default C(3)),
        C(queue_columns) and C(dlq_columns) (logical name to column name).
      - Logical queue columns and their production names
        C(id), C(entity_type), C(source_entity_id), C(status), C(payload=validated_payload),
        C(priority), C(attempt_count), C(max_retry_attempts), C(next_retry_at), C(locked_by),
        C(lock_expires_at), C(created_at), C(started_at), C(completed_at), C(updated_at=null),
        C(error_message), C(error_code).
      - Logical dead-letter columns C(id), C(sync_queue_id), C(entity_type), C(source_entity_id),
        C(failure_reason), C(error_code), C(total_attempts), C(last_error_message), C(last_payload),
        C(resolved), C(resolved_at), C(resolved_by), C(resolution_notes), C(created_at).
      - Map an optional column to V(null) when the layout lacks it (for example the simplified
        write-up layout has no C(next_retry_at), C(started_at), C(completed_at) or C(max_retry_attempts)).
      - Cleanup and restore also use C(inbox_table) (default C(tds_inbox_events)) and C(logs_table)
        (default C(tds_sync_logs)), V(null) when the layout has no such table, with C(inbox_columns)
        (C(id), C(received_at), C(queue_fk=inbox_event_id) - the queue's column referencing the inbox) and
        C(logs_columns) (C(id), C(timestamp), C(queue_fk=sync_queue_id) - the log's column referencing the queue).
      - Every name is checked against the catalog before anything runs; an unknown key, a missing
        table or a missing column fails with one message.
    type: dict
    default: {}
'''
