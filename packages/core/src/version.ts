// The one version string of this build: what bundles, manifests, SBOM tool entries and /healthz name.
import pkg from '../package.json' with { type: 'json' };

export const STELLA_VERSION: string = pkg.version;
