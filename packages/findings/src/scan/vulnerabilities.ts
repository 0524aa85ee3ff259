// SPDX-License-Identifier: Apache-2.0
// One vulnerability, many documents: advisories that alias each other (GO-2024-2687 = GHSA-4v7x… =
// CVE-2023-45288) form one group by the union of their ids and aliases, and a finding names the
// group once, listing every source. Nothing is merged: each document stays a separate source.
// The group's name is its CVE id when it has one, else its GHSA id, else the smallest id, so the
// same set of documents always gives the same name.

export interface AliasGroup {
  id: string;
  /** Every other id of the group, sorted. */
  aliases: string[];
}

const rank = (id: string) => (id.startsWith('CVE-') ? 0 : id.startsWith('GHSA-') ? 1 : 2);
const byPreference = (a: string, b: string) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);

/** Groups ids that are linked (directly or through others) by the given alias lists. */
export function aliasGroups(
  documents: readonly { upstreamId: string; aliases: readonly string[] }[],
): Map<string, AliasGroup> {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root) ?? root;
    let node = id;
    while (node !== root) {
      const next = parent.get(node)!;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  const add = (id: string) => {
    if (!parent.has(id)) parent.set(id, id);
  };
  for (const doc of documents) {
    add(doc.upstreamId);
    for (const alias of doc.aliases) {
      add(alias);
      const a = find(doc.upstreamId);
      const b = find(alias);
      if (a !== b) parent.set(a, b);
    }
  }
  const members = new Map<string, string[]>();
  for (const id of parent.keys()) {
    const root = find(id);
    const list = members.get(root);
    if (list) list.push(id);
    else members.set(root, [id]);
  }
  const groups = new Map<string, AliasGroup>();
  for (const ids of members.values()) {
    const sorted = [...ids].sort(byPreference);
    const group = { id: sorted[0]!, aliases: sorted.slice(1).sort() };
    for (const id of ids) groups.set(id, group);
  }
  return groups;
}
