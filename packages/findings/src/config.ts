// SPDX-License-Identifier: Apache-2.0
// The findings section of the configuration: the byte cap on an uploaded SBOM. It is larger than
// limits.documentBytes because a container image's SBOM with 100k components runs to tens of MiB.
import { defineConfigSection } from '@stella/platform';
import Type, { type Static } from 'typebox';

const MiB = 1024 * 1024;

export const findingsConfig = defineConfigSection(
  'findings',
  Type.Object(
    {
      maxSbomBytes: Type.Integer({
        default: 64 * MiB,
        minimum: 1024,
        description: 'Largest SBOM document POST /sboms accepts, in bytes (413 ERR_BODY_TOO_LARGE above).',
      }),
    },
    { default: {}, additionalProperties: false },
  ),
);

export type FindingsConfig = Static<typeof findingsConfig.schema>;

declare module '@stella/platform' {
  interface RoomConfig {
    findings: FindingsConfig;
  }
}
