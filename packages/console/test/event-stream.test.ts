import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventStreamParser } from '../web/pages/exports/event-stream.ts';

// As the export service writes a run's stream: keepalive comments between events.
const STREAM =
  'id: 1\nevent: queued\ndata: {"status":"queued"}\n\n: keepalive\n\nid: 2\nevent: progress\ndata: {"a":1}\ndata: {"b":2}\n\n';
const EXPECTED = [
  { id: '1', type: 'queued', data: '{"status":"queued"}' },
  { id: '2', type: 'progress', data: '{"a":1}\n{"b":2}' },
];

test('the same events however the stream is split into chunks, with LF, CRLF or CR line ends', () => {
  for (const ending of ['\n', '\r\n', '\r']) {
    const text = STREAM.replaceAll('\n', ending);
    for (let cut = 0; cut <= text.length; cut++) {
      for (const size of [1, 3, text.length]) {
        const parser = new EventStreamParser();
        const events = [text.slice(0, cut), ...chunks(text.slice(cut), size)].flatMap((c) => parser.feed(c));
        assert.deepEqual(events, EXPECTED, `${JSON.stringify(ending)} cut at ${cut}, chunks of ${size}`);
      }
    }
  }
});

test('comments alone dispatch nothing; an event without data is dropped; the id carries over; no space after the colon', () => {
  const parser = new EventStreamParser();
  assert.deepEqual(parser.feed(': keepalive\n\n: keepalive\n\n'), []);
  assert.deepEqual(parser.feed('id: 7\nevent: started\n\n'), []);
  assert.deepEqual(parser.feed('data:x\n\n'), [{ id: '7', type: 'message', data: 'x' }]);
  assert.deepEqual(parser.feed('id\ndata: y\n'), [], 'not dispatched before the blank line');
  assert.deepEqual(parser.feed('\n'), [{ id: '', type: 'message', data: 'y' }]);
});

function chunks(text: string, size: number): string[] {
  return Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
}
