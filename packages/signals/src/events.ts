// Delivery of `signals.fact.updated@v1` to NATS JetStream. The outbox gives at-least-once delivery
// and backoff; this bridge publishes each event with msgID = event_id (JetStream drops duplicates in
// its window), and after `maxAttempts` failures parks the event on `signals.fact.updated.dlq` with a
// `dlq_reason` header instead of retrying forever.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { Logger, OutboxHandler } from '@stella/platform';

export const FACT_SUBJECT = 'signals.fact.updated.v1';
export const FACT_DLQ_SUBJECT = 'signals.fact.updated.dlq';
export const FACT_STREAM = 'SIGNALS_FACTS';
export const FACT_DLQ_STREAM = 'SIGNALS_FACTS_DLQ';
/** A publish waits this long for the stream's ack; the outbox retries after it. */
const PUBLISH_TIMEOUT_MS = 5000;
/**
 * The connection closes after this long without events (longer than a publish may take), so an idle worker holds no socket and a
 * stopping process is not kept alive by it; the next event reconnects (a few ms on a LAN).
 */
const IDLE_CLOSE_MS = 10_000;

export interface NatsBridge {
  handler: OutboxHandler;
  close(): Promise<void>;
}

export function createNatsBridge(options: { url: string; maxAttempts: number; logger: Logger }): NatsBridge {
  let connection: Promise<NatsConnection> | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const closeConnection = async () => {
    const current = connection;
    connection = undefined;
    const nc = await current?.catch(() => undefined);
    await nc?.drain().catch(() => {});
  };
  const open = () => {
    if (closed) return Promise.reject(new Error('NATS bridge is closed (shutting down)'));
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void closeConnection(), IDLE_CLOSE_MS);
    connection ??= (async () => {
      const nc = await connect({ servers: options.url, name: 'stella-signals', maxReconnectAttempts: -1 });
      const jsm = await jetstreamManager(nc);
      // Existing streams keep their configuration (operators may tune limits); missing ones are created.
      for (const [name, subject] of [
        [FACT_STREAM, FACT_SUBJECT],
        [FACT_DLQ_STREAM, FACT_DLQ_SUBJECT],
      ] as const) {
        try {
          await jsm.streams.info(name);
        } catch {
          await jsm.streams.add({ name, subjects: [subject] });
        }
      }
      return nc;
    })();
    connection.catch(() => {
      connection = undefined;
    });
    return connection;
  };

  const handler: OutboxHandler = async (message) => {
    const attempts = (message as { attempts?: number }).attempts ?? 0;
    const payload = message.payload as { event_id?: string; tenant?: string };
    const body = new TextEncoder().encode(JSON.stringify(message.payload));
    const nc = await open();
    const js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
    const h = headers();
    h.set('tenant', payload.tenant ?? message.tenant);
    try {
      await js.publish(FACT_SUBJECT, body, {
        msgID: payload.event_id ?? message.id,
        headers: h,
        timeout: PUBLISH_TIMEOUT_MS,
      });
    } catch (error) {
      if (attempts + 1 < options.maxAttempts) throw error;
      const reason = (error as Error).message.slice(0, 500);
      h.set('dlq_reason', reason);
      h.set('dlq_attempts', String(attempts + 1));
      await js.publish(FACT_DLQ_SUBJECT, body, { msgID: `dlq-${payload.event_id ?? message.id}`, headers: h });
      options.logger.warn(
        { eventId: payload.event_id, reason },
        'fact event dead-lettered to signals.fact.updated.dlq',
      );
    }
  };

  return {
    handler,
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      await closeConnection();
    },
  };
}
