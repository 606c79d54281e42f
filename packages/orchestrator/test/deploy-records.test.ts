import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DispenserError } from '@dispenser/shared/errors';
import type { LedgerEntry } from '@dispenser/shared/ledger/entry';
import { DeployRecords } from '../src/deploy-records.js';
import type { Ledger } from '../src/ledger.js';

class MemoryLedger implements Ledger {
  readonly lines: LedgerEntry[] = [];
  append(entry: LedgerEntry): void {
    this.lines.push(entry);
  }
  entries(): LedgerEntry[] {
    return [...this.lines];
  }
}

const OLD = 'sha256:' + 'a'.repeat(64);
const NEW = 'sha256:' + 'b'.repeat(64);

function setup(ledger = new MemoryLedger()) {
  let clock = Date.UTC(2026, 11, 5, 10);
  let digest: string | undefined = OLD;
  const records = new DeployRecords({ ledger, digestOf: () => Promise.resolve(digest), now: () => clock });
  return {
    ledger,
    records,
    /** the deploy: takes `ms` and leaves the service on `to` */
    deploy: (ms: number, to: string | undefined) => () => {
      clock += ms;
      digest = to;
      return Promise.resolve('container-id');
    },
  };
}

test('a deploy is recorded with its trigger, the digest before and after, result and duration', async () => {
  const { ledger, records, deploy } = setup();
  assert.equal(await records.track('web', 'digest', deploy(2500, NEW)), 'container-id');
  assert.deepEqual(ledger.lines, [
    { at: '2026-12-05T10:00:02.500Z', service: 'web', kind: 'deploy', trigger: 'digest', result: 'ok', durationMs: 2500, oldDigest: OLD, newDigest: NEW },
  ]);
  assert.deepEqual(records.lastOf('web'), { at: '2026-12-05T10:00:02.500Z', trigger: 'digest', result: 'ok', durationMs: 2500 });
});

test('a failed deploy (a failed health gate) is recorded with its code, and the error passes through', async () => {
  const { ledger, records } = setup();
  const gate = new DispenserError('ROLLOUT_UNHEALTHY', 'the new container never became healthy');
  await assert.rejects(records.track('web', 'reload', () => Promise.reject(gate)), gate);
  assert.equal(ledger.lines[0]?.result, 'failed');
  assert.equal(ledger.lines[0]?.code, 'ROLLOUT_UNHEALTHY');
  assert.equal(ledger.lines[0]?.newDigest, OLD);
});

test('a service without a known digest (first deploy, local build) is recorded with null digests', async () => {
  const { ledger, records, deploy } = setup();
  await records.track('web', 'startup', deploy(10, undefined));
  assert.equal(ledger.lines[0]?.oldDigest, OLD);
  assert.equal(ledger.lines[0]?.newDigest, null);
});

test('a cron job run is recorded with its exit code', async () => {
  const { ledger, records } = setup();
  await records.jobRun('backup', { exitCode: 3, durationMs: 4000 });
  assert.deepEqual(ledger.lines[0], {
    at: '2026-12-05T10:00:00.000Z',
    service: 'backup',
    kind: 'job',
    trigger: 'cron',
    result: 'failed',
    durationMs: 4000,
    oldDigest: OLD,
    newDigest: OLD,
    exitCode: 3,
  });
  assert.equal(records.lastOf('backup'), undefined, 'a job run is no deploy');
});

test("after a restart, the last deploy of each service is read back from the ledger", async () => {
  const first = setup();
  await first.records.track('web', 'startup', first.deploy(100, OLD));
  await first.records.track('web', 'digest', first.deploy(200, NEW));
  const restarted = setup(first.ledger);
  assert.deepEqual(restarted.records.lastOf('web'), { at: '2026-12-05T10:00:00.300Z', trigger: 'digest', result: 'ok', durationMs: 200 });
});
