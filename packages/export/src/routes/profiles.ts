// SPDX-License-Identifier: Apache-2.0
// Profile routes: the ExportProfile schema, list, create, show (any revision), update (a new
// revision), clone and archive.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import { PROFILE_YAML_TYPES, parseProfileText } from '../profiles/document.ts';
import { ExportProfileSchema } from '../profiles/schema.ts';
import { type ExportService, revisionNumber } from '../service/index.ts';
import { manage, read, tags } from './options.ts';
import { actorOf, tenantOf } from './request.ts';

const profileParams = Type.Object({ profileId: Type.String() });

function registerProfileReads(app: HttpApp, service: ExportService): void {
  app.get(
    '/api/export/schemas/export-profile.json',
    { config: read, schema: { tags, summary: 'The ExportProfile JSON Schema (validated on create and update)' } },
    async () => ExportProfileSchema,
  );

  app.get(
    '/api/export/profiles',
    {
      config: read,
      schema: {
        tags,
        summary: 'List the latest revision of each export profile of the tenant',
        querystring: Type.Object({
          kind: Type.Optional(Type.String()),
          variant: Type.Optional(Type.String()),
          archived: Type.Optional(Type.Boolean({ default: false, description: 'Include archived profiles' })),
        }),
      },
    },
    async (request) => ({ items: await service.listProfiles(tenantOf(request), request.query) }),
  );
}

function registerProfileCreate(app: HttpApp, service: ExportService): void {
  app.post(
    '/api/export/profiles',
    {
      config: { ...manage, idempotent: true },
      schema: {
        tags,
        summary: 'Create an export profile (revision r1); 400 lists every schema error',
        consumes: ['application/json', ...PROFILE_YAML_TYPES],
        description:
          'Body: the ExportProfile as JSON, or as YAML (application/yaml). 201 when created; 200 with the stored revision when a profile of that name already has this spec and labels; 409 ERR_EXPORT_007 when it has other content.',
        body: Type.Unknown(),
      },
    },
    async (request, reply) => {
      const { profile, created } = await service.createProfile(tenantOf(request), request.body, actorOf(request));
      reply.header('location', `/api/export/profiles/${profile.profileId}`);
      return reply.code(created ? 201 : 200).send(profile);
    },
  );

  app.get(
    '/api/export/profiles/:profileId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One export profile (latest revision, or ?revision=rN)',
        params: profileParams,
        querystring: Type.Object({ revision: Type.Optional(Type.String({ pattern: '^r[1-9][0-9]*$' })) }),
      },
    },
    async (request) =>
      service.getProfile(tenantOf(request), request.params.profileId, revisionNumber(request.query.revision)),
  );
}

function registerProfileChanges(app: HttpApp, service: ExportService): void {
  for (const method of ['put', 'patch'] as const) {
    app[method](
      '/api/export/profiles/:profileId',
      {
        config: { ...manage, idempotent: true },
        schema: {
          tags,
          summary: 'Update a profile: stores revision r<N+1> (200 with the unchanged revision when nothing changed)',
          description: 'Body: the ExportProfile as JSON, or as YAML (application/yaml).',
          consumes: ['application/json', ...PROFILE_YAML_TYPES],
          params: profileParams,
          body: Type.Unknown(),
        },
      },
      async (request, reply) => {
        const tenant = tenantOf(request);
        const { profile, created } = await service.updateProfile(
          tenant,
          request.params.profileId,
          request.body,
          actorOf(request),
        );
        return reply.code(created ? 201 : 200).send(profile);
      },
    );
  }

  app.post(
    '/api/export/profiles/:profileId/clone',
    {
      config: { ...manage, idempotent: true },
      schema: {
        tags,
        summary: 'Clone a profile under a new name (revision r1 of the clone)',
        params: profileParams,
        body: Type.Object({ name: Type.String() }, { additionalProperties: false }),
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await service.cloneProfile(tenantOf(request), request.params.profileId, request.body.name, actorOf(request)),
        ),
  );

  app.post(
    '/api/export/profiles/:profileId/archive',
    {
      config: manage,
      schema: { tags, summary: 'Archive a profile: no new runs; history kept', params: profileParams },
    },
    async (request) => service.archiveProfile(tenantOf(request), request.params.profileId),
  );
}

export function registerProfileRoutes(app: HttpApp, service: ExportService): void {
  registerProfileReads(app, service);
  // Create and update take the document as JSON or as YAML (as it is written in the seeds and by people).
  app.register(async (scope) => {
    scope.addContentTypeParser(PROFILE_YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, parseProfileText(body as string));
      } catch (error) {
        done(error as Error);
      }
    });
    registerProfileCreate(scope as HttpApp, service);
    registerProfileChanges(scope as HttpApp, service);
  });
}
