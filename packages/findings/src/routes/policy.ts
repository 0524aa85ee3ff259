// SPDX-License-Identifier: Apache-2.0
// Policy routes: publish a snapshot (the YAML as the body), read snapshots, and choose the active one.
import { type HttpApp, tenantOf } from '@stella/platform';
import Type, { type Static } from 'typebox';
import { MAX_POLICY_BYTES } from '../policy/index.ts';
import type { SnapshotService } from '../snapshots/service.ts';
import { Page } from './schemas.ts';

const tags = ['policy'];
const readScope = { auth: { scopes: ['policy:read'] } };
const writeScope = { auth: { scopes: ['policy:write'] } };
/** Media types a policy is sent as; JSON is YAML too. */
export const POLICY_CONTENT_TYPES = [
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
  'text/plain',
  'application/json',
];

const SnapshotView = Type.Object({
  id: Type.String({ description: 'sha256 of the canonical JSON of the policy' }),
  name: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  signerKeyid: Type.String({ description: "The tenant's findings-policy key that signed the envelope" }),
});
const SnapshotDetail = Type.Intersect([
  SnapshotView,
  Type.Object({
    policy: Type.Record(Type.String(), Type.Unknown(), { description: 'The policy as canonical JSON' }),
    source: Type.String({ description: 'The YAML exactly as published' }),
    envelope: Type.Record(Type.String(), Type.Unknown(), {
      description: 'DSSE envelope (payloadType application/vnd.stella.policy+json) over the canonical JSON',
    }),
  }),
]);
const Activation = Type.Object({
  seq: Type.Integer({ description: "Position in the tenant's activation history, from 1" }),
  activatedBy: Type.String(),
  activatedAt: Type.String({ format: 'date-time' }),
  snapshot: SnapshotView,
});

const PublishQuery = Type.Object({
  activate: Type.Optional(Type.Boolean({ description: 'Also make it the active snapshot' })),
});
const SnapshotParams = Type.Object({ id: Type.String({ maxLength: 128 }) });
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 256 })),
});
const ActivateBody = Type.Object({ snapshotId: Type.String({ maxLength: 128 }) }, { additionalProperties: false });

/** Called after a snapshot became active: the module queues the tenant's recompute. */
export type OnActivated = (tenant: string) => Promise<void>;

function registerPublishRoute(app: HttpApp, snapshots: SnapshotService, onActivated: OnActivated): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(POLICY_CONTENT_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body));
    scope.post<{ Body: string; Querystring: Static<typeof PublishQuery> }>(
      '/policy/snapshots',
      {
        bodyLimit: MAX_POLICY_BYTES,
        config: writeScope,
        schema: {
          tags,
          summary: 'Publish a policy (YAML body) as an immutable, signed snapshot',
          description:
            `Body: the policy (${POLICY_CONTENT_TYPES.join(', ')}), docs/policy.md. 201 for a new snapshot; 200 when the same policy (the same canonical JSON) was published before. ` +
            'A policy with errors is 422 ERR_POLICY_INVALID with every diagnostic (line, column) in details. ?activate=true also activates it.',
          querystring: PublishQuery,
          response: { 200: SnapshotDetail, 201: SnapshotDetail },
        },
      },
      async (request, reply) => {
        const tenant = tenantOf(request);
        const actor = request.principal?.subject ?? 'unknown';
        const { snapshot, created } = await snapshots.publish(tenant, request.body, actor);
        if (request.query.activate) {
          await snapshots.activate(tenant, snapshot.id, actor);
          await onActivated(tenant);
        }
        reply.header('location', `/policy/snapshots/${encodeURIComponent(snapshot.id)}`);
        return reply.code(created ? 201 : 200).send(snapshot);
      },
    );
  });
}

export function registerPolicyRoutes(app: HttpApp, snapshots: SnapshotService, onActivated: OnActivated): void {
  registerPublishRoute(app, snapshots, onActivated);
  registerSnapshotReads(app, snapshots);
  registerActivationRoutes(app, snapshots, onActivated);
}

function registerSnapshotReads(app: HttpApp, snapshots: SnapshotService): void {
  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/policy/snapshots',
    {
      config: readScope,
      schema: {
        tags,
        summary: "The tenant's policy snapshots, newest first, with cursor paging",
        querystring: ListQuery,
        response: { 200: Page(SnapshotView) },
      },
    },
    async (request) => snapshots.list(tenantOf(request), request.query),
  );

  app.get<{ Params: Static<typeof SnapshotParams> }>(
    '/policy/snapshots/:id',
    {
      config: readScope,
      schema: {
        tags,
        summary: 'One snapshot: the policy, its YAML and its DSSE envelope (404 ERR_POLICY_NOT_FOUND)',
        params: SnapshotParams,
        response: { 200: SnapshotDetail },
      },
    },
    async (request) => snapshots.get(tenantOf(request), request.params.id),
  );

  app.get(
    '/policy/keys',
    {
      config: readScope,
      schema: {
        tags,
        summary: "The public keys that sign this tenant's snapshots (PEM), to verify their DSSE envelopes offline",
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object({
                keyid: Type.String(),
                algorithm: Type.String(),
                publicKeyPem: Type.String(),
                status: Type.String(),
                createdAt: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({ keys: await snapshots.publicKeys(tenantOf(request)) }),
  );
}

function registerActivationRoutes(app: HttpApp, snapshots: SnapshotService, onActivated: OnActivated): void {
  app.get(
    '/policy/active',
    {
      config: readScope,
      schema: {
        tags,
        summary: 'The active snapshot and when it was activated (404 ERR_POLICY_NOT_FOUND when none is)',
        response: { 200: Activation },
      },
    },
    async (request) => snapshots.requireActive(tenantOf(request)),
  );

  app.put<{ Body: Static<typeof ActivateBody> }>(
    '/policy/active',
    {
      config: writeScope,
      schema: {
        tags,
        summary: "Make a snapshot the active one; the tenant's stored findings are recomputed under it",
        body: ActivateBody,
        response: { 200: Activation },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      await snapshots.activate(tenant, request.body.snapshotId, request.principal?.subject ?? 'unknown');
      await onActivated(tenant);
      return snapshots.requireActive(tenant);
    },
  );
}
