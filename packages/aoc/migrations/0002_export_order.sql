-- Byte-order (collation "C") indexes on record ids, so the Export Center can page through a tenant's
-- documents in an order that does not depend on the database's locale: the same data gives the same
-- JSONL bytes on PGlite and on PostgreSQL whatever lc_collate the cluster was created with.
create index advisory_raw_by_id_bytes on advisory_raw (tenant, (id collate "C"));
create index vex_raw_by_id_bytes on vex_raw (tenant, (id collate "C"));
