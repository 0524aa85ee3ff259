// SPDX-License-Identifier: Apache-2.0
// The observer's registered error code. Only configuration can fail loudly: once a transport runs,
// every failure is counted and kept in stats().lastError instead of thrown into the host.
import { defineError, type ErrorDefinition, ExitCode, lookupError } from '@stella/core';

const CONFIG: ErrorDefinition = {
  code: 'ERR_OBSERVER_CONFIG',
  status: 500,
  exit: ExitCode.usage,
  title: 'Invalid observer configuration',
  hint: 'Fix every STELLA_OBSERVER_* variable named in the message; packages/observer/README.md lists them with their defaults.',
};

// Looked up first: two copies of this package sharing one @stella/core must not fail on import.
export const ObserverErrors = {
  config: lookupError(CONFIG.code) ?? defineError(CONFIG),
};
