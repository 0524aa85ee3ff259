// The text/event-stream format, parsed from text chunks however the network splits them; kept free of
// I/O so it is tested on its own (packages/console/test/event-stream.test.ts).

export interface ParsedEvent {
  id: string | undefined;
  type: string;
  data: string;
}

/**
 * The text/event-stream format (WHATWG HTML §9.2.6) fed in arbitrary chunks: lines end in CRLF, LF or
 * CR; a blank line dispatches; `:` lines are comments (the server's keepalives).
 */
export class EventStreamParser {
  #buffer = '';
  #data: string[] = [];
  #type = '';
  #id: string | undefined;
  #afterCr = false;

  feed(chunk: string): ParsedEvent[] {
    // A CR that ended the previous chunk ended its line already: an LF opening this one is its other half.
    this.#buffer += this.#afterCr && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
    this.#afterCr = false;
    const events: ParsedEvent[] = [];
    for (;;) {
      const end = this.#buffer.search(/\r\n|\r|\n/);
      if (end < 0) break;
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + (this.#buffer.startsWith('\r\n', end) ? 2 : 1));
      if (this.#buffer === '' && chunk.endsWith('\r')) this.#afterCr = true;
      const event = this.#line(line);
      if (event) events.push(event);
    }
    return events;
  }

  #line(line: string): ParsedEvent | undefined {
    if (line === '') {
      const event = this.#data.length
        ? { id: this.#id, type: this.#type || 'message', data: this.#data.join('\n') }
        : undefined;
      this.#data = [];
      this.#type = '';
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#type = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return undefined;
  }
}
