// SPDX-License-Identifier: Apache-2.0
// Reading members of a parsed JSON document without casts: each helper says what it expects and
// returns undefined (or an empty list) for anything else, so a reader never trusts a shape.

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function objects(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

export function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.flatMap((v) => text(v) ?? []) : [];
}
