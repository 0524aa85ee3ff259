// SPDX-License-Identifier: Apache-2.0
// Trivy's vulnerability DB as an OCI artifact, shaped as trivy-db publishes it with ORAS (export-formats
// §1.5): an image-spec 1.1 manifest with artifactType application/vnd.aquasec.trivy.config.v1+json,
// the empty config, and exactly one layer of media type application/vnd.aquasec.trivy.db.layer.v1.tar+gzip
// titled db.tar.gz (Trivy takes the file name from the title and refuses any other layer count or type).
// Pushed under the schema version as tag (`:2`), which is what `trivy --db-repository <repo>` pulls.
import { buildArtifactManifest, OCI_CREATED_ANNOTATION } from './manifest.ts';

/** The Trivy DB schema this build writes and reads (trivy-db's SchemaVersion; Trivy 0.50 and later read it). */
export const TRIVY_SCHEMA_VERSION = 2;
export const TRIVY_DB_ARTIFACT_TYPE = 'application/vnd.aquasec.trivy.config.v1+json';
export const TRIVY_DB_LAYER_MEDIA_TYPE = 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip';
export const TRIVY_DB_LAYER_TITLE = 'db.tar.gz';

/** The manifest of a Trivy DB artifact whose one layer is the db.bundle (gzip tar of metadata.json and trivy.db). */
export function trivyDbManifest(layer: { digest: string; size: number }, created: string) {
  return buildArtifactManifest({
    artifactType: TRIVY_DB_ARTIFACT_TYPE,
    layers: [{ ...layer, mediaType: TRIVY_DB_LAYER_MEDIA_TYPE, title: TRIVY_DB_LAYER_TITLE }],
    annotations: { [OCI_CREATED_ANNOTATION]: created },
  });
}
