#!/bin/sh
# Writes the secrets compose.yaml mounts, once: random passwords, the key-encryption key, Valkey's
# config and stella's stella.yaml holding every URL with a password in it.
#
#   ops/deploy/compose/make-secrets.sh [dir]     (default: ./secrets next to compose.yaml)
#
# Refuses to overwrite: a new KEK would make the signing keys sealed in the database unusable, and a
# new database password would no longer match the role created on the first start. The directory is
# 0700 (nobody else on this host reads it); the files are 0444 because compose bind-mounts them as
# they are and each container reads them as its own user (stella 65532, postgres 70, valkey 999).
# Back up stella_kek apart from the database backups.
set -eu
dir=${1:-$(dirname "$0")/secrets}
if [ -e "$dir/stella_kek" ]; then
  echo "make-secrets: $dir/stella_kek exists; not overwriting secrets (delete the directory to start over)" >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "make-secrets: openssl is needed (Debian package openssl)" >&2; exit 2; }
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
# Hex, so the passwords need no escaping in URLs, YAML or config files.
random() { openssl rand -hex 24; }
db_password=$(random)
valkey_password=$(random)
minio_user=stella
minio_password=$(random)
printf '%s\n' "$(random)" >"$dir/postgres_password"
printf '%s\n' "$db_password" >"$dir/stella_db_password"
printf '%s\n' "$minio_user" >"$dir/minio_root_user"
printf '%s\n' "$minio_password" >"$dir/minio_root_password"
printf 'requirepass %s\n' "$valkey_password" >"$dir/valkey.conf"
openssl rand -base64 32 >"$dir/stella_kek"
cat >"$dir/stella.yaml" <<YAML
# stella's secrets (STELLA_CONFIG); the rest of its configuration is in compose.yaml's environment.
database:
  url: postgres://stella_app:${db_password}@postgres:5432/stella
redis:
  url: redis://:${valkey_password}@valkey:6379
cas:
  accessKeyId: ${minio_user}
  secretAccessKey: ${minio_password}
YAML
chmod 0444 "$dir"/*
echo "make-secrets: wrote $dir (back up stella_kek apart from the database)" >&2
