// SPDX-License-Identifier: Apache-2.0
// Canonical SymbolIDs for producers (spec §1.3): "sym:" + lang + ":" + base64url_nopad(sha256 of the
// canonical tuple). Tuple members are joined with NUL so no member can spill into the next.
import { createHash } from 'node:crypto';

/** Members of the canonical tuple, per language; java tuples are lower-cased as the union schema says. */
export const SYMBOL_TUPLES: Record<string, readonly string[]> = {
  java: ['package', 'class', 'method', 'descriptor'],
  dotnet: ['assembly_name', 'namespace', 'type', 'member_signature'],
  node: ['pkg_name_or_path', 'export_path', 'kind'],
  deno: ['pkg_name_or_path', 'export_path', 'kind'],
  go: ['module_path', 'package_path', 'receiver', 'func'],
  rust: ['crate', 'module_path', 'item_name', 'mangled'],
  swift: ['module', 'type', 'member', 'swift_mangled'],
  shell: ['script_relpath', 'function_or_cmd'],
  binary: ['binary_build_id', 'section', 'symbol_name'],
};

export function symbolId(lang: string, tuple: readonly string[]): string {
  const members = SYMBOL_TUPLES[lang];
  if (!members)
    throw new Error(`unknown symbol language ${JSON.stringify(lang)}; known: ${Object.keys(SYMBOL_TUPLES).join(', ')}`);
  if (tuple.length !== members.length) {
    throw new Error(
      `a ${lang} symbol tuple has ${members.length} members (${members.join(', ')}), got ${tuple.length}`,
    );
  }
  const normal = tuple.map((m) => {
    const nfc = m.normalize('NFC');
    return lang === 'java' ? nfc.toLowerCase() : nfc;
  });
  const digest = createHash('sha256').update(normal.join('\u0000'), 'utf8').digest('base64url');
  return `sym:${lang}:${digest}`;
}
