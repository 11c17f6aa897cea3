#!/bin/sh
# Image build step: create the database roles and database tsh_erp in cluster
# 15/main and load the TSH schema into it. Runs once, inside `podman build`.
#
# Roles (passwords are TEST-ONLY, for this throwaway image):
#   tsh_app   the ERP application / sync worker; owns the tables, as the
#             production app user does (SQLAlchemy create_all).
#   zoho_ops  the tsh.zoho_sync collection: reads and updates queue state
#             (SELECT/INSERT/UPDATE/DELETE on the tables, pg_monitor for
#             pg_stat_activity); it cannot create, alter or drop anything.
set -eu

PG_VERSION=15
CLUSTER=main
SCHEMA=/opt/tsh-erp/schema/tsh_schema.sql

psql_pg() {
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"
}

pg_ctlcluster "$PG_VERSION" "$CLUSTER" start

psql_pg -d postgres <<'SQL'
CREATE ROLE tsh_app LOGIN PASSWORD 'test-only-tsh-app-pw';
CREATE ROLE zoho_ops LOGIN PASSWORD 'test-only-zoho-ops-pw';
CREATE DATABASE tsh_erp OWNER tsh_app;
SQL

# Load the schema as tsh_app so the app role owns every object.
psql_pg -d tsh_erp -v schema="$SCHEMA" <<'SQL'
SET ROLE tsh_app;
\set ECHO none
\i :schema
RESET ROLE;
REVOKE ALL ON DATABASE tsh_erp FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE tsh_erp TO tsh_app, zoho_ops;
GRANT USAGE ON SCHEMA public TO zoho_ops;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO zoho_ops;
ALTER DEFAULT PRIVILEGES FOR ROLE tsh_app IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO zoho_ops;
GRANT pg_monitor TO zoho_ops;
SQL

# Fail the build if the queue table is missing.
test "$(psql_pg -d tsh_erp -tAc "SELECT to_regclass('public.tds_sync_queue') IS NOT NULL")" = t

pg_ctlcluster "$PG_VERSION" "$CLUSTER" stop
# Start the image with an empty server log (no build-time lines).
: > "/var/log/postgresql/postgresql-$PG_VERSION-$CLUSTER.log"
