// SPDX-License-Identifier: Apache-2.0
// Route options every export route group shares: the OpenAPI tag, the spec's scopes (§2.3) and the
// run id parameter.
import Type from 'typebox';

export const tags = ['export'];
export const read = { auth: { scopes: ['export:read'] } };
export const manage = { auth: { scopes: ['export:profile:manage'] } };
export const runScope = { auth: { scopes: ['export:run'] } };
export const download = { auth: { scopes: ['export:download'] } };

export const runParams = { params: Type.Object({ runId: Type.String({ maxLength: 64 }) }) };
