#!/bin/sh
# Runs once, on the first start of an empty data directory (the postgres image's initdb hook), as the
# superuser: the role stella connects as must not be a superuser or bypass row-level security (stella
# refuses to start otherwise), and it owns the database so its migrations can create the schema.
set -eu
password=$(cat /run/secrets/stella_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=password="$password" <<'SQL'
CREATE ROLE stella_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD :'password';
CREATE DATABASE stella OWNER stella_app;
SQL
