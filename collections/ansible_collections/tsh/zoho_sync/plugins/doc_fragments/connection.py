# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The connection options every module of tsh.zoho_sync shares.
    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host running the PostgreSQL server that holds the sync queue.
      - If not set, the environment variable E(PGHOST), then the libpq default (the local socket).
    type: str
    aliases: [ host ]
  login_port:
    description:
      - Database port. If not set, E(PGPORT), then C(5432).
    type: int
    aliases: [ port ]
  login_user:
    description:
      - Database user. If not set, E(PGUSER), then C(postgres).
      - Use a dedicated least-privilege role (see C(docs/least_privilege.sql) in the project).
    type: str
    aliases: [ login ]
  login_password:
    description:
      - Password of O(login_user). If not set, E(PGPASSWORD), then libpq's C(~/.pgpass).
      - Never logged; keep it in Ansible Vault.
    type: str
  login_db:
    description:
      - Database holding the queue, for example C(tsh_erp) or C(tsh_erp_production). If not set, E(PGDATABASE).
    type: str
    aliases: [ db, database ]
  login_unix_socket:
    description:
      - Directory of a local Unix socket to connect through; overrides O(login_host).
    type: str
  ssl_mode:
    description:
      - Whether and how to use SSL (libpq C(sslmode)). If not set, E(PGSSLMODE), then C(prefer).
      - Use C(verify-full) with O(ca_cert) across any network you do not own.
    type: str
    choices: [ allow, disable, prefer, require, verify-ca, verify-full ]
  ca_cert:
    description:
      - CA certificate file that signed the server certificate (libpq C(sslrootcert)). If not set, E(PGSSLROOTCERT).
    type: path
    aliases: [ ssl_rootcert ]
  connect_timeout:
    description:
      - Seconds to wait for the connection before failing.
    type: int
    default: 10
  lock_timeout:
    description:
      - Milliseconds any statement may wait for a lock; set on every session so nothing hangs behind a worker.
    type: int
    default: 2000
  statement_timeout:
    description:
      - Milliseconds any statement may run; set on every session.
    type: int
    default: 60000
requirements:
  - psycopg2 >= 2.8 (on the host that runs the module)
notes:
  - Every session carries C(application_name=tsh.zoho_sync), so it can be told apart in C(pg_stat_activity).
'''
