// A reader for the Prometheus text exposition format (0.0.4), the shape GET /metrics answers in:
// `name{label="value",…} value [timestamp]`, comments and blank lines skipped. Small enough to own;
// it reads what prom-client writes and refuses, with the line number, what it does not understand.

export interface MetricSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const sample = parseLine(line);
    if (!sample)
      throw new Error(`metrics line ${index + 1} is not in the Prometheus text format: ${line.slice(0, 80)}`);
    samples.push(sample);
  });
  return samples;
}

function parseLine(line: string): MetricSample | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const end = readLabels(rest, labels);
    if (end < 0) return undefined;
    rest = rest.slice(end);
  }
  const [valueText, timestamp, extra] = rest.trim().split(/\s+/);
  if (valueText === undefined || extra !== undefined) return undefined;
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) return undefined;
  const value = parseValue(valueText);
  return value === undefined ? undefined : { name, labels, value };
}

/** Reads `{a="x",b="y"}` into labels; returns the index after `}`, or -1 when malformed. */
function readLabels(text: string, labels: Record<string, string>): number {
  let i = 1;
  while (true) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return i + 1;
    const labelName = LABEL_NAME.exec(text.slice(i))?.[0];
    if (!labelName || text[i + labelName.length] !== '=' || text[i + labelName.length + 1] !== '"') return -1;
    i += labelName.length + 2;
    let value = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const escaped = text[i + 1];
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else return -1;
        i += 2;
      } else {
        value += text[i];
        i++;
      }
    }
    if (text[i] !== '"') return -1;
    labels[labelName] = value;
    i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') return -1;
  }
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return text !== '' && !Number.isNaN(value) ? value : undefined;
}
