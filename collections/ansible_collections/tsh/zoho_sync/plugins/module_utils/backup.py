# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup file of a cleanup run, and reading it back for a restore.

``<backup_dir>/<run_id>.jsonl``: a header line, then one line per deleted row with its
``to_jsonb`` image. The walker (DeleteStep) appends each batch's rows and fsyncs them
before that batch's DELETE commits, so a crash at any point leaves each row in the
database, in the backup, or both - never neither. zoho_restore reads the file back
(rows deduplicated per kind and id) and re-inserts the rows.
"""

import datetime
import json
import os

from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import check_run_id
from ansible_collections.tsh.zoho_sync.plugins.module_utils.paths import fsync_dir, make_dir

BACKUP_FORMAT = "tsh.zoho_sync.backup/1"
# restore order: parents before children
KINDS = ("inbox", "queue", "logs")


def backup_path(backup_dir, run_id):
    return os.path.join(backup_dir, "%s.jsonl" % check_run_id(run_id))


class BackupWriter:
    """Appends rows to ``<backup_dir>/<run_id>.jsonl`` (mode 0600); every batch is
    flushed and fsync'd before the caller commits its DELETE."""

    def __init__(self, backup_dir, run_id, header):
        self.path = backup_path(backup_dir, run_id)
        if make_dir(backup_dir, 0o700):
            fsync_dir(os.path.dirname(os.path.abspath(backup_dir)))
        created = not os.path.exists(self.path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.fh = os.fdopen(fd, "a", encoding="utf-8")
        if created:
            fsync_dir(backup_dir)
        self.rows = 0
        header = dict(header, kind="header", format=BACKUP_FORMAT)
        self.fh.write(json.dumps(header, sort_keys=True, default=str) + "\n")
        self.sync()

    def write(self, kind, table, batch, row_texts):
        prefix = '{"kind": %s, "table": %s, "batch": %d, "row": ' % (json.dumps(kind), json.dumps(table), batch)
        for text in row_texts:
            self.fh.write(prefix + text + "}\n")
        self.rows += len(row_texts)

    def sync(self):
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self):
        if self.fh is not None and not self.fh.closed:
            self.sync()
            self.fh.close()


def read_backup(path):
    """Headers and rows of a backup file, rows deduplicated per (kind, id); raises
    ValueError with the line number on anything malformed."""
    headers = []
    rows = dict((k, {}) for k in KINDS)
    with open(path, "r", encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if number > 1 and not line.endswith("\n"):
                    # the last line of a run killed while writing: its batch never committed
                    continue
                raise ValueError("%s line %d is not valid JSON" % (path, number))
            if not isinstance(record, dict) or "kind" not in record:
                raise ValueError("%s line %d is not a backup record" % (path, number))
            if record["kind"] == "header":
                if record.get("format") != BACKUP_FORMAT:
                    raise ValueError("%s line %d: unknown backup format %r" % (path, number, record.get("format")))
                headers.append(record)
                continue
            if record["kind"] not in rows or not isinstance(record.get("row"), dict) or "id" not in record["row"]:
                raise ValueError("%s line %d is not a backup row" % (path, number))
            if not headers:
                raise ValueError("%s line %d: a row before any backup header" % (path, number))
            # rows belong to the database named by the header before them
            record["database"] = headers[-1].get("database")
            rows[record["kind"]][str(record["row"]["id"])] = record
    if not headers:
        raise ValueError("%s has no backup header: not a backup of tsh.zoho_sync" % path)
    return headers, rows


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()
