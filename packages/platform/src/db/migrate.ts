// Numbered, immutable SQL migrations per module, applied in dependency order. Each migration runs in
// its own transaction that records itself first, so two processes starting at once collide on the
// primary key instead of both applying it (advisory locks would not exclude anything on PGlite).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '@stella/core';
import type { Db } from './port.ts';

export interface MigrationSet {
  module: string;
  /** Folder holding NNNN_name.sql files. */
  migrations: URL;
  dependsOn?: readonly string[];
}

export interface Migration {
  module: string;
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  skipped: string[];
}

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function orderModules<T extends MigrationSet>(sets: readonly T[]): T[] {
  const byName = new Map(sets.map((s) => [s.module, s]));
  const ordered: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (set: T, path: string[]) => {
    const mark = state.get(set.module);
    if (mark === 'done') return;
    if (mark === 'visiting') throw new Error(`module dependency cycle: ${[...path, set.module].join(' -> ')}`);
    state.set(set.module, 'visiting');
    for (const dep of [...(set.dependsOn ?? [])].sort()) {
      const target = byName.get(dep);
      if (!target) throw new Error(`module ${set.module} depends on unknown module ${dep}`);
      visit(target, [...path, set.module]);
    }
    state.set(set.module, 'done');
    ordered.push(set);
  };
  for (const set of [...sets].sort((a, b) => a.module.localeCompare(b.module))) visit(set, []);
  return ordered;
}

export function readMigrations(set: MigrationSet): Migration[] {
  const dir = fileURLToPath(set.migrations);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const out: Migration[] = [];
  for (const file of files) {
    const match = FILE_RE.exec(file);
    if (!match) throw new Error(`migration file ${dir}/${file} must be named NNNN_lower_snake.sql`);
    const version = Number(match[1]);
    if (out.at(-1)?.version === version) throw new Error(`two migrations numbered ${match[1]} in ${dir}`);
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    out.push({ module: set.module, version, name: match[2]!, sql, checksum: sha256Hex(sql) });
  }
  return out;
}

const BOOTSTRAP = `create table if not exists stella_migrations (
  module text not null,
  version integer not null,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now(),
  primary key (module, version)
)`;

export async function migrate(db: Db, sets: readonly MigrationSet[]): Promise<MigrationReport> {
  await createBootstrapTable(db);
  const report: MigrationReport = { applied: [], skipped: [] };
  for (const set of orderModules(sets)) {
    const applied = await db.query<{ version: number; checksum: string; name: string }>(
      'select version, checksum, name from stella_migrations where module = $1',
      [set.module],
    );
    const known = new Map(applied.rows.map((r) => [r.version, r]));
    for (const migration of readMigrations(set)) {
      const label = `${migration.module}/${String(migration.version).padStart(4, '0')}_${migration.name}`;
      const existing = known.get(migration.version);
      if (existing) {
        assertUnchanged(existing.checksum, migration, label);
        report.skipped.push(label);
        continue;
      }
      const outcome = await applyOne(db, migration);
      if (outcome === 'applied') report.applied.push(label);
      else report.skipped.push(label);
    }
  }
  return report;
}

async function createBootstrapTable(db: Db): Promise<void> {
  try {
    await db.query(BOOTSTRAP);
  } catch (error) {
    // Two processes racing on CREATE TABLE IF NOT EXISTS can both pass the existence check; the loser
    // sees a unique violation on the catalog (23505) or, when the winner has already committed, that
    // the table's row type (42710) or the relation itself (42P07, checked again when the catalog row is
    // made) exists. Either way the table exists by then; the select proves it.
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42710' && code !== '42P07') throw error;
    await db.query('select 1 from stella_migrations limit 0');
  }
}

async function applyOne(db: Db, migration: Migration): Promise<'applied' | 'raced'> {
  try {
    await db.transaction(async (tx) => {
      await tx.query('insert into stella_migrations (module, version, name, checksum) values ($1, $2, $3, $4)', [
        migration.module,
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      await tx.exec(migration.sql);
    });
    return 'applied';
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      // Another process recorded (and, having committed, applied) this migration first.
      const row = await db.query<{ checksum: string }>(
        'select checksum from stella_migrations where module = $1 and version = $2',
        [migration.module, migration.version],
      );
      assertUnchanged(row.rows[0]?.checksum ?? '', migration, `${migration.module}/${migration.version}`);
      return 'raced';
    }
    throw new Error(
      `migration ${migration.module}/${String(migration.version).padStart(4, '0')}_${migration.name} failed: ${(error as Error).message}. Nothing of it was applied; fix the cause and start again.`,
      { cause: error },
    );
  }
}

function assertUnchanged(recorded: string, migration: Migration, label: string): void {
  if (recorded !== migration.checksum) {
    throw new Error(
      `migration ${label} was edited after it was applied (checksum ${recorded.slice(0, 12)} != ${migration.checksum.slice(0, 12)}). Migrations are immutable: restore the file and add a new numbered migration instead.`,
    );
  }
}
