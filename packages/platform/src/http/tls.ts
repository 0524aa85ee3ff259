// The listener's TLS settings (server.tls): read and checked once at start-up, so a missing file, an
// expired or not yet valid certificate, or a key that does not match stops the server with a message
// naming the file, instead of failing every handshake later.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { Errors, StellaError } from '@stella/core';

export interface TlsSettings {
  certFile: string;
  keyFile: string;
  clientCaFile: string;
  requireClientCert: boolean;
}

/** Node's TLS server options, or undefined for plain HTTP (no certificate configured). */
export function tlsServerOptions(
  settings: TlsSettings,
  now = new Date(),
): (TlsOptions & SecureContextOptions) | undefined {
  const { certFile, keyFile, clientCaFile, requireClientCert } = settings;
  if (!certFile && !keyFile) {
    if (clientCaFile || requireClientCert) {
      throw refuse('server.tls.clientCaFile and requireClientCert need server.tls.certFile and keyFile');
    }
    return undefined;
  }
  if (!certFile || !keyFile) throw refuse('server.tls needs both certFile and keyFile, or neither (plain HTTP)');
  if (requireClientCert && !clientCaFile) {
    throw refuse('server.tls.requireClientCert needs server.tls.clientCaFile, the CA client certificates chain to');
  }
  const cert = read(certFile, 'certFile');
  const key = read(keyFile, 'keyFile');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw refuse(`server.tls.certFile ${certFile} is not a PEM certificate: ${(error as Error).message}`, error);
  }
  if (new Date(leaf.validTo) <= now) {
    throw refuse(
      `server.tls.certFile ${certFile} expired on ${isoOf(leaf.validTo)} (${leaf.subject.replaceAll('\n', ', ')}): renew it`,
    );
  }
  if (new Date(leaf.validFrom) > now) {
    throw refuse(
      `server.tls.certFile ${certFile} is not valid before ${isoOf(leaf.validFrom)}: check the clock or the certificate`,
    );
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw refuse(`server.tls.keyFile ${keyFile} is not a PEM private key: ${(error as Error).message}`, error);
  }
  if (!matches) throw refuse(`server.tls.keyFile ${keyFile} is not the key of server.tls.certFile ${certFile}`);
  return {
    cert,
    key,
    minVersion: 'TLSv1.2',
    ...(clientCaFile && {
      ca: read(clientCaFile, 'clientCaFile'),
      requestCert: true,
      rejectUnauthorized: requireClientCert,
    }),
  };
}

function read(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw refuse(`server.tls.${key} ${path}: ${(error as Error).message}`, error);
  }
}

function isoOf(date: string): string {
  return new Date(date).toISOString();
}

function refuse(message: string, cause?: unknown): StellaError {
  return new StellaError(Errors.config, `invalid configuration: ${message}`, cause ? { cause } : {});
}
