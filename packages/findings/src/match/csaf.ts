// SPDX-License-Identifier: Apache-2.0
// The CSAF 2.0 / 2.1 matcher: one component against one CSAF document's product statuses. Products come
// from the whole product tree (branches at any depth, full_product_names, and relationships, whose
// composite product takes the purl of the component it names) and are known by their purl
// (`product_identification_helper.purl`, 2.1 `purls[]`); a product with only a CPE cannot name an SBOM
// package and is left out. Per vulnerability, for the products naming the component's package:
//   1. known_affected / first_affected / last_affected with no version, or the component's version
//      (equal in the ecosystem's order) → affected;
//   2. known_not_affected, fixed or first_fixed at the component's version → not affected;
//   3. fixed / first_fixed (or a vendor_fix product not listed as affected) with a version above the
//      component's → affected, when the document says the vulnerability hit that product's stream: it is a
//      csaf_security_advisory whose vendor_fix remediation names that fixed product (a Red Hat RHSA lists
//      only `fixed` products, each with a vendor_fix: the update exists because earlier builds of that
//      stream were affected), or the vulnerability lists an affected product of the same package in the
//      same product family. Otherwise the fix says nothing about older versions → unknown;
//   4. anything else → not affected.
// rpm versions take their epoch from the purl's `epoch` qualifier, and a fixed rpm speaks only for its own
// distribution stream (RHEL major: the product family's CPE, else the `.elN` of the release), so a RHEL 9
// fix never judges a RHEL 8 build. Across vulnerabilities affected beats unknown beats not affected.
import { isObject, type JsonObject, objects, text, texts } from '../sbom/json.ts';
import { purlCoordinates } from '../sbom/purl.ts';
import { type PackageKey, packageKey, samePackage } from './identity.ts';
import type { MatchOutcome } from './osv.ts';
import type { CsafMatchedRange } from './ranges.ts';
import {
  type ComponentIdentity,
  cachedIndex,
  componentStream,
  cpeStream,
  isRpm,
  NOT_AFFECTED,
  orderFor,
  parsedPurl,
  parses,
  releaseStream,
  type SourceFacts,
  sameStream,
  sortedFixed,
  stronger,
  unknown,
  withEpoch,
} from './shared.ts';

type Status = CsafMatchedRange['status'] | 'known_not_affected';

const AFFECTED: readonly Status[] = ['known_affected', 'first_affected', 'last_affected'];
const FIXED: readonly Status[] = ['fixed', 'first_fixed', 'vendor_fix'];
const LISTED: readonly Status[] = [...AFFECTED, 'known_not_affected', 'fixed', 'first_fixed'];

interface Product {
  purls: string[];
  cpe?: string;
  /** The product a relationship makes this one part of (relates_to_product_reference). */
  family?: string;
}

interface Statement {
  vulnerability: number;
  status: Status;
  product: string;
  key: PackageKey;
  version?: string;
  stream?: string;
  family?: string;
  /** The purl's `arch` qualifier: of several equal products, the component's own architecture is cited. */
  arch?: string;
}

interface CsafIndex {
  securityAdvisory: boolean;
  vulnerabilities: { id?: string; vendorFix: Set<string> }[];
  /** Statements by `base\u0000name` of their package. */
  byName: Map<string, Statement[]>;
}

const nameKey = (key: PackageKey) => `${key.base}\u0000${key.name}`;

function helperOf(node: JsonObject): Product {
  const helper = isObject(node.product_identification_helper) ? node.product_identification_helper : {};
  const purl = text(helper.purl);
  return { purls: [...(purl ? [purl] : []), ...texts(helper.purls)], cpe: text(helper.cpe) };
}

function walkBranches(branches: unknown, products: Map<string, Product>): void {
  for (const branch of objects(branches)) {
    const product = isObject(branch.product) ? branch.product : undefined;
    const id = text(product?.product_id);
    if (product && id) products.set(id, helperOf(product));
    walkBranches(branch.branches, products);
  }
}

/** Every product id of the tree with its purls, CPE and family. */
function productsOf(tree: unknown): Map<string, Product> {
  const products = new Map<string, Product>();
  if (!isObject(tree)) return products;
  walkBranches(tree.branches, products);
  for (const named of objects(tree.full_product_names)) {
    const id = text(named.product_id);
    if (id) products.set(id, helperOf(named));
  }
  for (const relationship of objects(tree.relationships)) {
    const named = isObject(relationship.full_product_name) ? relationship.full_product_name : undefined;
    const id = text(named?.product_id);
    if (!named || !id) continue;
    const own = helperOf(named);
    const component = products.get(text(relationship.product_reference) ?? '');
    const purls = own.purls.length > 0 ? own.purls : (component?.purls ?? []);
    products.set(id, {
      purls,
      cpe: own.cpe ?? component?.cpe,
      family: text(relationship.relates_to_product_reference),
    });
  }
  return products;
}

/** What a statement about a product says of its package, read once per product. */
type Identity = Pick<Statement, 'key' | 'version' | 'stream' | 'family' | 'arch'>;

/** One identity per purl of the product naming a package of a known ecosystem. */
function identitiesOf(product: Product, products: Map<string, Product>): Identity[] {
  const out: Identity[] = [];
  for (const text of product.purls) {
    const parsed = parsedPurl(text);
    let coordinates: ReturnType<typeof purlCoordinates>;
    try {
      coordinates = purlCoordinates(text);
    } catch {
      continue;
    }
    if (!parsed || coordinates.ecosystem === undefined) continue;
    const key = packageKey(coordinates.ecosystem, coordinates.packageName);
    const version = coordinates.version === undefined ? undefined : withEpoch(coordinates.version, parsed);
    const familyCpe = product.family ? products.get(product.family)?.cpe : undefined;
    const stream = isRpm(key) ? (cpeStream(familyCpe) ?? releaseStream(version)) : undefined;
    out.push({ key, version, stream, family: product.family, arch: parsed.qualifiers?.arch });
  }
  return out;
}

/** Product ids of a remediation, its product_groups expanded. */
function remediationProducts(remediation: JsonObject, groups: Map<string, string[]>): string[] {
  return [...texts(remediation.product_ids), ...texts(remediation.group_ids).flatMap((g) => groups.get(g) ?? [])];
}

function groupsOf(tree: unknown): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  if (!isObject(tree)) return groups;
  for (const group of objects(tree.product_groups)) {
    const id = text(group.group_id);
    if (id) groups.set(id, texts(group.product_ids));
  }
  return groups;
}

function buildIndex(doc: unknown): CsafIndex {
  const index: CsafIndex = { securityAdvisory: false, vulnerabilities: [], byName: new Map() };
  if (!isObject(doc)) return index;
  const document = isObject(doc.document) ? doc.document : {};
  index.securityAdvisory = document.category === 'csaf_security_advisory';
  const products = productsOf(doc.product_tree);
  const groups = groupsOf(doc.product_tree);
  // Products recur in every vulnerability and status: their purls are parsed once per document.
  const identities = new Map<string, Identity[]>();
  const add = (statement: Pick<Statement, 'vulnerability' | 'status' | 'product'>) => {
    const product = products.get(statement.product);
    if (!product) return;
    const known = identities.get(statement.product) ?? identitiesOf(product, products);
    identities.set(statement.product, known);
    for (const identity of known) {
      const s: Statement = { ...statement, ...identity };
      const list = index.byName.get(nameKey(s.key));
      if (list) list.push(s);
      else index.byName.set(nameKey(s.key), [s]);
    }
  };
  objects(doc.vulnerabilities).forEach((vulnerability, v) => {
    const status = isObject(vulnerability.product_status) ? vulnerability.product_status : {};
    const listed = new Set<string>();
    for (const name of LISTED)
      for (const product of texts(status[name])) {
        listed.add(product);
        add({ vulnerability: v, status: name, product });
      }
    const vendorFix = new Set(
      objects(vulnerability.remediations)
        .filter((r) => r.category === 'vendor_fix')
        .flatMap((r) => remediationProducts(r, groups)),
    );
    for (const product of vendorFix) if (!listed.has(product)) add({ vulnerability: v, status: 'vendor_fix', product });
    const id = text(vulnerability.cve) ?? objects(vulnerability.ids).flatMap((i) => text(i.text) ?? [])[0];
    index.vulnerabilities.push({ id, vendorFix });
  });
  return index;
}

const csafIndex = cachedIndex(buildIndex);

/** The statements about the component's package (and stream). */
function statementsFor(index: CsafIndex, key: PackageKey, version: string): Statement[] {
  const stream = componentStream(key, version);
  return (index.byName.get(nameKey(key)) ?? []).filter((s) => {
    // rpm streams are compared instead of releases: the distro qualifier spellings (rhel-9, rhel-9.3) differ.
    if (isRpm(key)) return sameStream(stream, s.stream);
    return samePackage(key, s.key);
  });
}

const hit = (s: Statement, id: string | undefined, fixed?: string): CsafMatchedRange => ({
  type: 'csaf',
  status: s.status as CsafMatchedRange['status'],
  product: s.product,
  ...(id === undefined ? {} : { vulnerability: id }),
  ...(fixed === undefined ? {} : { fixed }),
});

/** Whether a fix above the component's version says older builds of that stream were affected (rule 3). */
function fixImpliesAffected(index: CsafIndex, fix: Statement, all: readonly Statement[]): boolean {
  const vulnerability = index.vulnerabilities[fix.vulnerability];
  if (index.securityAdvisory && vulnerability?.vendorFix.has(fix.product)) return true;
  return all.some((s) => AFFECTED.includes(s.status) && fix.family !== undefined && s.family === fix.family);
}

/** One vulnerability's verdict from its statements about the package; rules 1–4 of the file comment. */
function decide(
  index: CsafIndex,
  all: readonly Statement[],
  version: string,
  ecosystem: string,
  arch?: string,
): MatchOutcome {
  // The component's own architecture first, so the product cited is the one it would install.
  const statements = [...all].sort((a, b) => Number(b.arch === arch) - Number(a.arch === arch));
  const id = index.vulnerabilities[statements[0]?.vulnerability ?? -1]?.id;
  const order = orderFor(ecosystem);
  const fixedVersions = () =>
    sortedFixed(
      statements.filter((s) => FIXED.includes(s.status)).flatMap((s) => s.version ?? []),
      order,
    );
  const unversioned = statements.find((s) => AFFECTED.includes(s.status) && s.version === undefined);
  if (unversioned) return { kind: 'affected', range: hit(unversioned, id), fixedVersions: fixedVersions() };
  if (!order) return unknown('ecosystem-unknown', `no version order for ecosystem ${ecosystem}`);
  let unreadable: string | undefined;
  const compare = (s: Statement): number | undefined => {
    if (s.version === undefined) return undefined;
    try {
      return order.compare(s.version, version);
    } catch {
      unreadable = `product ${s.product} version ${s.version}`;
      return undefined;
    }
  };
  const exact = statements.filter((s) => compare(s) === 0);
  const affected = exact.find((s) => AFFECTED.includes(s.status));
  if (affected) return { kind: 'affected', range: hit(affected, id), fixedVersions: fixedVersions() };
  if (exact.length > 0) return NOT_AFFECTED;
  const above = statements.filter((s) => FIXED.includes(s.status) && (compare(s) ?? 0) > 0);
  // A stable sort: among equal versions the component's architecture stays first.
  const fix = above.sort((a, b) => order.compare(a.version ?? '', b.version ?? ''))[0];
  if (fix && fixImpliesAffected(index, fix, statements))
    return { kind: 'affected', range: hit(fix, id, fix.version), fixedVersions: fixedVersions() };
  if (fix)
    return unknown(
      'range-unsupported',
      `fixed in ${fix.version} (${fix.product}); the document does not say earlier versions were affected`,
    );
  return unreadable ? unknown('version-unparseable', `${unreadable} does not parse`) : NOT_AFFECTED;
}

/** The outcome for one component against one CSAF document; see the file comment for the rules. */
export function matchCsaf(doc: unknown, component: ComponentIdentity): MatchOutcome {
  const index = csafIndex(doc);
  const key = packageKey(component.ecosystem, component.packageName);
  const purl = parsedPurl(component.purl);
  const version = withEpoch(component.version, purl);
  const statements = statementsFor(index, key, version);
  if (statements.length === 0) return NOT_AFFECTED;
  const arch = purl?.qualifiers?.arch;
  const order = orderFor(component.ecosystem);
  if (order && !parses(order, version))
    return unknown('version-unparseable', `the component version ${version} does not parse in ${order.ecosystem}`);
  const byVulnerability = new Map<number, Statement[]>();
  for (const s of statements)
    byVulnerability.set(s.vulnerability, [...(byVulnerability.get(s.vulnerability) ?? []), s]);
  let best = NOT_AFFECTED;
  for (const list of byVulnerability.values()) {
    best = stronger(best, decide(index, list, version, component.ecosystem, arch));
    if (best.kind === 'affected') return best;
  }
  return best;
}

const CSAF_CVSS: readonly (readonly [string, string])[] = [
  ['cvss_v4', 'CVSS_V4'],
  ['cvss_v3', 'CVSS_V3'],
  ['cvss_v2', 'CVSS_V2'],
];

/** CVSS vectors of scores[] (2.0) and metrics[].content (2.1), and the publisher's aggregate_severity text. */
export function csafFacts(doc: unknown): SourceFacts {
  const facts: SourceFacts = { severity: [] };
  if (!isObject(doc)) return facts;
  const seen = new Set<string>();
  for (const vulnerability of objects(doc.vulnerabilities)) {
    const scores = [
      ...objects(vulnerability.scores),
      ...objects(vulnerability.metrics).flatMap((m) => (isObject(m.content) ? [m.content] : [])),
    ];
    for (const score of scores)
      for (const [field, type] of CSAF_CVSS) {
        const cvss = isObject(score[field]) ? score[field] : undefined;
        const vector = text(cvss?.vectorString);
        if (vector && !seen.has(vector)) {
          seen.add(vector);
          facts.severity.push({ type, score: vector });
        }
      }
  }
  const document = isObject(doc.document) ? doc.document : {};
  const aggregate = isObject(document.aggregate_severity) ? text(document.aggregate_severity.text) : undefined;
  if (aggregate) facts.severity.push({ type: 'CSAF_AGGREGATE', score: aggregate });
  return facts;
}
