import { metricFamilies, type MetricFamily } from './families.js';
import type { MetricSample } from './sample.js';

/**
 * Merging the samples of every process and writing them in the Prometheus text format (0.0.4).
 * Pure: the supervisor gathers, this renders.
 */

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const HISTOGRAM_PARTS = ['_bucket', '_sum', '_count'] as const;

const familyByName = new Map(metricFamilies.map((f) => [f.name, f]));

/** The family a series name belongs to (a histogram's `_bucket`, `_sum`, `_count` included). */
export function familyOf(seriesName: string): MetricFamily | undefined {
  const exact = familyByName.get(seriesName);
  if (exact && exact.type !== 'histogram') return exact;
  for (const part of HISTOGRAM_PARTS) {
    if (!seriesName.endsWith(part)) continue;
    const f = familyByName.get(seriesName.slice(0, -part.length));
    if (f?.type === 'histogram') return f;
  }
  return undefined;
}

function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`)
    .join(',');
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Series {
  family: MetricFamily;
  name: string;
  key: string;
  /** labels without `le`: a histogram's buckets, sum and count of one label set stay together */
  group: string;
  /** 0 bucket, 1 sum, 2 count (0 for other types) */
  part: number;
  le: number;
  value: number;
}

function compareSeries(a: Series, b: Series): number {
  if (a.group !== b.group) return a.group < b.group ? -1 : 1;
  if (a.part !== b.part) return a.part - b.part;
  return a.le - b.le;
}

export interface Rendered {
  text: string;
  /** series names no family declares (dropped) */
  unknown: string[];
}

/**
 * Sums samples of the same series (the proxy workers each count their own requests), groups them
 * by family in catalogue order and renders them. Families without a sample are left out.
 */
export function renderExposition(samples: Iterable<MetricSample>): Rendered {
  const series = new Map<string, Series>();
  const unknown = new Set<string>();
  for (const s of samples) {
    const family = familyOf(s.name);
    if (!family) {
      unknown.add(s.name);
      continue;
    }
    const key = labelKey(s.labels);
    const id = `${s.name}{${key}}`;
    const held = series.get(id);
    if (held) held.value += s.value;
    else series.set(id, seriesOf(family, s, key));
  }
  const lines: string[] = [];
  for (const family of metricFamilies) {
    const members = [...series.values()].filter((s) => s.family === family).sort(compareSeries);
    if (members.length === 0) continue;
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${family.name} ${family.type}`);
    for (const m of members) lines.push(`${m.name}${m.key ? `{${m.key}}` : ''} ${formatValue(m.value)}`);
  }
  return { text: lines.length ? `${lines.join('\n')}\n` : '', unknown: [...unknown] };
}

function seriesOf(family: MetricFamily, s: MetricSample, key: string): Series {
  if (family.type !== 'histogram') return { family, name: s.name, key, group: key, part: 0, le: 0, value: s.value };
  const { le, ...rest } = s.labels;
  const part = s.name.endsWith('_bucket') ? 0 : s.name.endsWith('_sum') ? 1 : 2;
  return { family, name: s.name, key, group: labelKey(rest), part, le: le === undefined ? 0 : le === '+Inf' ? Infinity : Number(le), value: s.value };
}
