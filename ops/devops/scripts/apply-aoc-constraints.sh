#!/bin/sh
# Applies the AOC constraint set, or with --remove drops it (seed 004 §1.1: "constraints can be dropped
# via the same script with --remove"): apply-aoc-constraints.sql run by psql, which itself takes the
# switch only as a variable (-v remove=1). Every other argument goes to psql (-d concelier, a URL…);
# with none, $STELLA_DATABASE_URL.
#
#   ops/devops/scripts/apply-aoc-constraints.sh "$STELLA_DATABASE_URL"             # apply
#   ops/devops/scripts/apply-aoc-constraints.sh --remove "$STELLA_DATABASE_URL"    # rollback
set -eu
sql="$(dirname "$0")/apply-aoc-constraints.sql"
remove=0
count=$#
while [ "$count" -gt 0 ]; do
  arg=$1
  shift
  count=$((count - 1))
  if [ "$arg" = "--remove" ]; then remove=1; else set -- "$@" "$arg"; fi
done
if [ $# -eq 0 ]; then
  set -- "${STELLA_DATABASE_URL:?pass psql connection arguments or set STELLA_DATABASE_URL}"
fi
if [ "$remove" = 1 ]; then
  exec psql -X -v remove=1 "$@" -f "$sql"
fi
exec psql -X "$@" -f "$sql"
