// SPDX-License-Identifier: Apache-2.0
// @stella/export: the Export Center — profiles, runs, deterministic signed bundles, distribution,
// retention and offline verification.
export { ExportErrors, runErrorCode } from './errors.ts';
