import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLLOUT_STAGES, RolloutJournal, type RolloutRecord, type RolloutStage } from '../../src/rollout/journal.js';
import { recoveryPlan, type RecoveryAction, type SeenContainer } from '../../src/rollout/recovery.js';

const rec = (stage: RolloutStage): RolloutRecord => ({ service: 'web', stage, containerName: 'i-web', candidateId: 'new', candidateName: 'i-web-rollout-abc', oldId: 'old', at: '2026-01-01T00:00:00Z' });
const up = (id: string): SeenContainer => ({ id, running: true });
const down = (id: string): SeenContainer => ({ id, running: false });

/** the actions as short strings, for readable tables */
function show(actions: readonly RecoveryAction[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case 'route-to-candidate':
        return `route->${a.id}`;
      case 'route-by-name':
        return 'route->name';
      case 'drain':
        return `drain ${a.id}`;
      case 'remove':
        return `remove ${a.id}`;
      case 'promote':
        return `rename ${a.id}->${a.to}`;
      case 'forget':
        return 'forget';
    }
  });
}

const FINISH = ['route->new', 'drain old', 'remove old', 'rename new->i-web', 'route->name', 'forget'];
const ROLL_BACK = ['route->name', 'remove new', 'forget'];

// [stage, candidate, holder of the name, outcome, actions]
const table: Array<[RolloutStage, SeenContainer | undefined, SeenContainer | undefined, string, string[]]> = [
  // before the switch: the old container never lost its traffic
  ['candidate-started', up('new'), up('old'), 'roll-back', ROLL_BACK],
  ['candidate-started', undefined, up('old'), 'roll-back', ['route->name', 'forget']],
  ['healthy', up('new'), up('old'), 'roll-back', ROLL_BACK],
  ['healthy', down('new'), down('old'), 'roll-back', ROLL_BACK],
  // from `switching` on, workers may route to the candidate: keep it and finish
  ['switching', up('new'), up('old'), 'finish', FINISH],
  ['switched', up('new'), up('old'), 'finish', FINISH],
  ['switched', up('new'), down('old'), 'finish', ['route->new', 'remove old', 'rename new->i-web', 'route->name', 'forget']],
  ['switched', up('new'), undefined, 'finish', ['route->new', 'rename new->i-web', 'route->name', 'forget']],
  ['old-drained', up('new'), up('old'), 'finish', ['route->new', 'remove old', 'rename new->i-web', 'route->name', 'forget']],
  // the candidate died after taking traffic: back to the old one, routes first
  ['switched', down('new'), up('old'), 'roll-back', ROLL_BACK],
  ['switched', undefined, up('old'), 'roll-back', ['route->name', 'forget']],
  ['old-drained', down('new'), down('old'), 'roll-back', ROLL_BACK],
  // the old container is gone: the candidate is all there is
  ['old-removed', up('new'), undefined, 'finish', ['rename new->i-web', 'route->name', 'forget']],
  ['old-removed', down('new'), undefined, 'finish', ['rename new->i-web', 'route->name', 'forget']],
  ['old-removed', undefined, undefined, 'settled', ['route->name', 'forget']],
  // renamed already (recorded or not)
  ['promoted', up('new'), up('new'), 'settled', ['route->name', 'forget']],
  ['old-removed', up('new'), up('new'), 'settled', ['route->name', 'forget']],
  ['promoted', undefined, undefined, 'settled', ['route->name', 'forget']],
];

for (const [stage, candidate, holder, outcome, actions] of table) {
  test(`recovery after "${stage}", candidate ${candidate ? (candidate.running ? 'running' : 'stopped') : 'gone'}, name held by ${holder ? `${holder.id} (${holder.running ? 'running' : 'stopped'})` : 'nobody'}: ${outcome}`, () => {
    const p = recoveryPlan({ record: rec(stage), candidate, holder });
    assert.equal(p.outcome, outcome);
    assert.deepEqual(show(p.actions), actions);
  });
}

test('every stage is covered by the table', () => {
  assert.deepEqual([...new Set(table.map((r) => r[0]))].sort(), [...ROLLOUT_STAGES].sort());
});

test('invariant, for every stage and every combination: a container is only removed after a confirmed route points away from it', () => {
  const states = [undefined, up('new'), down('new')];
  const holders = [undefined, up('old'), down('old')];
  for (const stage of ROLLOUT_STAGES) {
    for (const candidate of states) {
      for (const holder of holders) {
        const { actions } = recoveryPlan({ record: rec(stage), candidate, holder });
        let routedTo: 'candidate' | 'name' | 'unknown' = 'unknown';
        for (const a of actions) {
          if (a.kind === 'route-to-candidate') routedTo = 'candidate';
          if (a.kind === 'route-by-name') routedTo = 'name';
          if (a.kind === 'remove' && a.which === 'candidate') assert.equal(routedTo, 'name', `${stage}: candidate removed before routes went back`);
          if (a.kind === 'remove' && a.which === 'old' && stage !== 'old-removed') assert.equal(routedTo, 'candidate', `${stage}: old removed before routes pointed to the candidate`);
        }
        assert.equal(actions.at(-1)?.kind, 'forget');
      }
    }
  }
});

test('journal: one file per service, written atomically, damaged files skipped and reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  try {
    const j = new RolloutJournal(join(dir, 'rollouts'));
    await j.record(rec('healthy'));
    await j.record(rec('switched'));
    await j.record({ ...rec('candidate-started'), service: 'api' });
    assert.equal((await j.get('web'))?.stage, 'switched');
    assert.deepEqual(readdirSync(join(dir, 'rollouts')).sort(), ['api.json', 'web.json'], 'no temp files left');
    writeFileSync(join(dir, 'rollouts', 'bad.json'), '{"service":"bad","stage":"sideways"');
    const bad: string[] = [];
    assert.deepEqual((await j.list((f) => bad.push(f))).map((r) => r.service), ['api', 'web']);
    assert.equal(bad.length, 1);
    await j.clear('web');
    assert.equal(await j.get('web'), undefined);
    await j.clear('web'); // clearing twice is fine
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
