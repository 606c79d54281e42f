import type { ServiceStatus, Status } from '@dispenser/shared/control/status';

/**
 * `dispenser status` as text: one header line for the daemon, one row per service, then what is
 * degraded and why. Pure: the time is passed in.
 */
export function renderStatus(status: Status, now: Date): string[] {
  const d = status.daemon;
  const head = [
    `dispenser ${d.version}`,
    `pid ${d.pid}`,
    `up ${duration(d.uptimeSeconds)}`,
    d.configGeneration === null ? 'config generation unknown' : `config generation ${d.configGeneration}`,
    d.ready ? (status.degraded ? 'DEGRADED' : 'ok') : 'starting',
  ].join('  ');
  const lines = [head];
  if (d.busyWith.length > 0) lines.push(`busy with: ${d.busyWith.join(', ')}`);
  if (status.services === null) {
    lines.push('services: unknown (the orchestrator cannot answer)');
  } else if (status.services.length === 0) {
    lines.push('no services declared');
  } else {
    lines.push('', ...table(['SERVICE', 'STATE', 'HEALTH', 'RUNNING', 'AVAILABLE', 'LAST DEPLOY', 'ROUTE', 'NEXT RUN', 'CERT EXPIRES'], status.services.map((s) => row(s, now))));
  }
  const problems = [...d.problems.map((p) => `dispenser: ${p}`), ...(status.services ?? []).flatMap((s) => s.problems.map((p) => `${s.name}: ${p}`))];
  if (problems.length > 0) lines.push('', 'degraded:', ...problems.map((p) => `  ${p}`));
  return lines;
}

function row(s: ServiceStatus, now: Date): string[] {
  const running = shortDigest(s.runningDigest);
  const available = s.availableDigest === null ? '-' : s.availableDigest === s.runningDigest ? 'same' : shortDigest(s.availableDigest);
  const deploy = s.lastDeploy ? `${ago(new Date(s.lastDeploy.at), now)} ${s.lastDeploy.trigger} ${s.lastDeploy.result === 'ok' ? 'ok' : `FAILED${s.lastDeploy.code ? ` [${s.lastDeploy.code}]` : ''}`}` : '-';
  const routes = s.routes.map((r) => `${r.host}${r.path === '/' ? '' : r.path}`).join(',') || '-';
  const next = s.nextRun ? `in ${duration(Math.max(0, Math.round((Date.parse(s.nextRun) - now.getTime()) / 1000)))}` : '-';
  const certs = s.certificates.map((c) => (c.notAfter ? `${c.notAfter.slice(0, 10)} (${Math.floor((Date.parse(c.notAfter) - now.getTime()) / 86_400_000)}d)` : 'none')).join(',') || '-';
  const health = s.container?.health ?? '-';
  return [s.name, s.state, health === 'none' ? '-' : health, running, available, deploy, routes, next, certs];
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** sha256:0123456789ab… → 0123456789ab */
export function shortDigest(digest: string | null): string {
  if (digest === null) return '-';
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

/** 3725 → "1h 2m"; the two largest units */
export function duration(seconds: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${n}${name}`);
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0s';
}

function ago(then: Date, now: Date): string {
  return `${duration(Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000)))} ago`;
}
