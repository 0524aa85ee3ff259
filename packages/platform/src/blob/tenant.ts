// Tenant views of the CAS. Rooms address objects by logical `cas://<namespace>/<hex>` URIs, which
// their rows, events and bundles keep; a view stores and reads them under `tenants/<tenant>/<namespace>`
// in the one physical store. The tenant comes from the caller's context, never from the URI, so a read
// cannot reach another tenant's object, nor learn that one exists, and a tenant's objects sit under one
// prefix that can be listed, migrated or removed on its own.
import { Errors, StellaError } from '@stella/core';
import type { BlobStore } from './port.ts';
import { assertNamespace, formatCasUri, parseCasUri } from './uri.ts';

/** First segment of every physical namespace that belongs to a tenant; reserved in logical namespaces. */
export const TENANT_ROOT = 'tenants';

/** What rooms hold: a store per tenant, and nothing that reaches across tenants. */
export interface TenantBlobs {
  forTenant(tenant: string): BlobStore;
}

/** The physical namespace of a tenant's logical namespace. */
export function tenantNamespace(tenant: string, namespace: string): string {
  assertLogicalNamespace(namespace);
  const physical = `${TENANT_ROOT}/${tenant}/${namespace}`;
  assertNamespace(physical);
  return physical;
}

/** The physical URI of a tenant's logical URI. */
export function tenantUri(tenant: string, uri: string): string {
  const { namespace, hex } = parseCasUri(uri);
  return formatCasUri(tenantNamespace(tenant, namespace), hex);
}

/** The logical URI of one of the tenant's physical URIs (as the store lists them). */
export function logicalUri(tenant: string, physicalUri: string): string {
  return `cas://${physicalUri.slice(`cas://${TENANT_ROOT}/${tenant}/`.length)}`;
}

export function tenantBlobs(store: BlobStore): TenantBlobs {
  return { forTenant: (tenant) => tenantView(store, tenant) };
}

function tenantView(store: BlobStore, tenant: string): BlobStore {
  if (!TENANT_RE.test(tenant)) {
    throw new StellaError(Errors.validation, `not a tenant id: ${JSON.stringify(tenant)}`);
  }
  const physical = (uri: string) => tenantUri(tenant, uri);
  return {
    async put(namespace, body, options) {
      const stored = await store.put(tenantNamespace(tenant, namespace), body, options);
      return { ...stored, uri: formatCasUri(namespace, stored.digest.slice('sha256:'.length)) };
    },
    // async: a malformed URI rejects like every other store failure instead of throwing.
    get: async (uri) => store.get(physical(uri)),
    getRange: async (uri, start, end) => store.getRange(physical(uri), start, end),
    getBytes: async (uri, maxBytes) => store.getBytes(physical(uri), maxBytes),
    head: async (uri) => store.head(physical(uri)),
    delete: async (uri) => store.delete(physical(uri)),
    async *list(namespace) {
      for await (const uri of store.list(tenantNamespace(tenant, namespace))) yield logicalUri(tenant, uri);
    },
  };
}

// The platform's tenant id rule (see the auth errors' hint): a valid id is also a valid CAS segment.
const TENANT_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function assertLogicalNamespace(namespace: string): void {
  assertNamespace(namespace);
  if (namespace === TENANT_ROOT || namespace.startsWith(`${TENANT_ROOT}/`)) {
    throw new StellaError(
      Errors.validation,
      `CAS namespace ${JSON.stringify(namespace)} is reserved: "${TENANT_ROOT}/" holds every tenant's objects`,
    );
  }
}
