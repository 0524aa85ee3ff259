-- Export frames (issue 17): each record's json:raw line made once, at ingest, instead of at every
-- export. A record never changes, and neither does its line: the canonical JSON of its envelope with
-- content.raw set to the document. export_head and export_tail are that line's text before and after
-- the document's JSON string, so an export reads `export_head || to_json(raw)::text || export_tail`
-- as text (PostgreSQL's to_json escapes a string as JavaScript's JSON.stringify does, for any text a
-- UTF-8 database holds) with no JSON parsed or serialised on its way to the file. Rows stored before
-- this migration have no frame (both null), and the export builds their line the old way.
--
-- The frames are derived data. They are checked where the stored records are re-checked, by
-- `stella aoc verify` (a frame must say exactly what the envelope columns say, compared as jsonb),
-- and not by a CHECK on every insert: the CHECK cost a fifth of the connector's ingest rate.
alter table advisory_raw add column export_head text, add column export_tail text;
alter table vex_raw add column export_head text, add column export_tail text;

-- True when a frame does not say what `envelope` (the record's envelope without content.raw, as
-- jsonb) says: not both set or both null, not JSON once the document's place is filled, or other values.
create function aoc_export_frame_mismatch(head text, tail text, envelope jsonb)
returns boolean language plpgsql immutable as $fn$
begin
  if head is null and tail is null then return false; end if;
  if head is null or tail is null then return true; end if;
  return (head || '""' || tail)::jsonb is distinct from jsonb_set(envelope, '{content,raw}', '""');
exception when invalid_text_representation then
  return true;
end $fn$;
