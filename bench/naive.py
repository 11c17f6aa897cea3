"""The original write-up's queries, on the real columns.

The write-up's scripts asked the database the obvious questions over the whole table
every run (psql -c per check). Here they are as those scripts would write them against
the production schema (the write-up's own column names do not exist there):

* status counts: GROUP BY status over the whole table;
* last sync per entity: max(completed_at) GROUP BY entity_type over the whole table;
* error patterns: every failing row (failed, retry, dead_letter; the same rows the
  module reads, through the same status index), messages grouped after replacing
  UUIDs and numbers with a regexp, the ten biggest groups.

The third is as cheap as the module's own: it is not what makes the naive set slow,
and it is kept generous on purpose (a strawman would scan for error_message IS NOT
NULL instead).
"""

NAIVE_QUERIES = (
    ("status_counts",
     "SELECT status, count(*) FROM tds_sync_queue GROUP BY status"),
    ("last_sync_per_entity",
     "SELECT entity_type, max(completed_at) AS last_sync FROM tds_sync_queue GROUP BY entity_type"),
    ("error_patterns",
     "SELECT regexp_replace(regexp_replace(error_message,"
     " '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>', 'g'),"
     " '[0-9]+', '<n>', 'g') AS pattern, error_code, count(*) AS n"
     " FROM tds_sync_queue WHERE status IN ('failed', 'retry', 'dead_letter')"
     " GROUP BY 1, 2 ORDER BY n DESC LIMIT 10"),
)
