/**
 * `--grid`: a sweep over scenario fields, nested ones included. Several KEY=V,... after one
 * --grid or repeated --grid; values read as JSON where they are; every combination applied and
 * validated before anything runs (a bad key or value exits 2 naming both); rows in grid order
 * (first key outermost, values in the order given, then policy, path, rate); a column per key.
 */
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../scenarios/cli.js';
import { parseArgs, ArgError } from '../../scenarios/args.js';
import { gridJobs, GridError, splitValues } from '../../scenarios/grid.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { runScenario } from '../../scenarios/run.js';
import { recordsCsv, recordsJsonLines, sweepColumns, sweepCsv, sweepJsonLines, sweepRecord, sweepRow, SWEEP_COLUMNS } from '../../scenarios/sweep.js';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const base = { ...scenarioNamed('default')!, durationUs: 150 };

test('one --grid with several KEY=V,... is the same grid as repeated --grid; values are JSON where they are, else text', (t) => {
  const a = parseArgs(['--grid', 'cores=2,4', 'vms[0].vcpus=1,2', 'wfi=trap,native', 'waitDirtyOnEntry=true,false', 'vms[1].pinned=[0,1],[2,3]', 'sliceUs=50,1e3', 'costProfile="default"']);
  const b = parseArgs(['--grid', 'cores=2,4', '--grid', 'vms[0].vcpus=1,2', '--grid=wfi=trap,native', '--grid', 'waitDirtyOnEntry=true,false', 'vms[1].pinned=[0,1],[2,3]', '--grid', 'sliceUs=50,1e3', 'costProfile="default"']);
  t.deepEqual(a.grid, b.grid);
  t.true(a.sweep, '--grid implies --sweep');
  t.deepEqual(
    a.grid.map((d) => [d.key, d.steps, d.values]),
    [
      ['cores', ['cores'], [2, 4]],
      ['vms[0].vcpus', ['vms', 0, 'vcpus'], [1, 2]],
      ['wfi', ['wfi'], ['trap', 'native']],
      ['waitDirtyOnEntry', ['waitDirtyOnEntry'], [true, false]],
      ['vms[1].pinned', ['vms', 1, 'pinned'], [[0, 1], [2, 3]]],
      ['sliceUs', ['sliceUs'], [50, 1000]],
      ['costProfile', ['costProfile'], ['default']],
    ],
  );
  t.deepEqual(splitValues('{"kind":"periodic","periodUs":5},"a,b",[1,[2,3]]'), ['{"kind":"periodic","periodUs":5}', '"a,b"', '[1,[2,3]]']);
});

test('grid jobs: each combination applied to the scenario (nested fields included), first key outermost, then policy, then path', (t) => {
  const { jobs, meta } = gridJobs(base, { grid: parseArgs(['--grid', 'cores=4,2', 'vms[0].vcpus=1,3']).grid, policies: ['round-robin', 'latency-first'], paths: 'both', rates: [1] });
  t.is(jobs.length, 2 * 2 * 2 * 2);
  t.deepEqual(
    jobs.map((j) => `${j.scenario.cores}/${j.scenario.vms[0]!.vcpus}/${j.policy}/${j.path}`),
    [4, 2].flatMap((c) => [1, 3].flatMap((v) => ['latency-first', 'round-robin'].flatMap((p) => ['direct', 'injected'].map((x) => `${c}/${v}/${p}/${x}`)))),
  );
  t.deepEqual(jobs.map((j) => j.index), jobs.map((_, i) => i));
  t.deepEqual(jobs[5]!.grid, [4, 3]);
  // The rest of the scenario is the base's; the base itself is untouched.
  t.deepEqual(jobs[5]!.scenario.vms.slice(1), base.vms.slice(1));
  t.is(base.vms[0]!.vcpus, 2);
  t.deepEqual(meta.columns.slice(0, 7), ['scenario', 'cores', 'vms[0].vcpus', 'policy', 'path', 'rate', 'seed']);
  t.deepEqual(meta.grid, [{ key: 'cores', values: [4, 2] }, { key: 'vms[0].vcpus', values: [1, 3] }]);
  // policy, path and rate as grid keys take the grid's place and order.
  const g = gridJobs(base, { grid: parseArgs(['--grid', 'path=injected,direct', 'rate=2,0.5', 'policy=round-robin,latency-first']).grid, policies: ['round-robin'], paths: 'both', rates: [1] });
  t.deepEqual(
    g.jobs.map((j) => `${j.path}/${j.rate}/${j.policy}`),
    ['injected/2/round-robin', 'injected/2/latency-first', 'injected/0.5/round-robin', 'injected/0.5/latency-first', 'direct/2/round-robin', 'direct/2/latency-first', 'direct/0.5/round-robin', 'direct/0.5/latency-first'],
  );
  t.deepEqual(g.meta.columns.slice(0, 6), ['scenario', 'path', 'rate', 'policy', 'seed', 'msis']);
  // A GICv3 combination runs the injected path only when the paths are the scenario's own.
  // (The default scenario's own path is direct, which validation refuses on gicVersion 3.)
  t.throws(() => gridJobs(base, { grid: parseArgs(['--grid', 'gicVersion=4,3']).grid, policies: ['round-robin'], paths: 'both', rates: [1] }), { instanceOf: GridError, message: /^--grid: gicVersion=3: path: expected "injected" on a GICv3 machine/ });
  const v3i = gridJobs({ ...base, path: 'injected' }, { grid: parseArgs(['--grid', 'gicVersion=4,3']).grid, policies: ['round-robin'], paths: 'both', rates: [1] });
  t.deepEqual(v3i.jobs.map((j) => `${j.scenario.gicVersion}/${j.path}`), ['4/direct', '4/injected', '3/injected']);
});

test('a grid over two fields (one nested): the rows, columns and order expected, the values reaching the runs', async (t) => {
  const args = ['--scenario', 'default', '--duration', '150us', '--path', 'injected', '--workers', '1', '--quiet', '--grid', 'cores=3,4', 'devices[0].traffic.ratePerSec=10000,80000'];
  const prefix = join(mkdtempSync(join(tmpdir(), 'minivisor-grid-')), 'grid');
  const r = await cli(...args, '--out', prefix);
  t.is(r.code, 0, r.stderr);
  t.is(readFileSync(`${prefix}.csv`, 'utf8'), r.stdout);
  const lines = r.stdout.trimEnd().split('\n');
  t.is(lines[0], ['scenario', 'cores', 'devices[0].traffic.ratePerSec', ...SWEEP_COLUMNS.slice(1)].join(','));
  const rows = lines.slice(1).map((l) => l.split(','));
  t.deepEqual(
    rows.map((c) => c.slice(0, 6).join(',')),
    ['default,3,10000,round-robin,injected,1', 'default,3,80000,round-robin,injected,1', 'default,4,10000,round-robin,injected,1', 'default,4,80000,round-robin,injected,1'],
  );
  // The device's rate reached the run: 8 times the rate on device 0, more MSIs on every core count.
  const msis = rows.map((c) => Number(c[lines[0]!.split(',').indexOf('msis')]));
  t.true(msis[1]! > msis[0]! && msis[3]! > msis[2]!, msis.join(' '));
  const recs = readFileSync(`${prefix}.jsonl`, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(Object.keys(recs[0]!), lines[0]!.split(','));
  t.deepEqual(recs.map((x) => [x['cores'], x['devices[0].traffic.ratePerSec'], x['msis']]), rows.map((c, k) => [Number(c[1]), Number(c[2]), msis[k]]));
});

const bad: [string[], RegExp][] = [
  [['vms[9].vcpus=1'], /^error: --grid: vms\[9\]\.vcpus=1: no such field: vms has 5 entries/],
  [['cores=4,zero'], /^error: --grid: cores=zero: cores: expected an integer from 1 to 64, got "zero"/],
  [['colour=1'], /^error: --grid: colour=1: colour: expected no such field/],
  [['vms[0].vcpus=2,2000'], /^error: --grid: vms\[0\]\.vcpus=2000: vms\[0\]\.vcpus: expected an integer from 1 to 1024, got 2000/],
  [['devices[0].traffic.periodUs=5'], /^error: --grid: devices\[0\]\.traffic\.periodUs=5: devices\[0\]\.traffic\.periodUs: expected no such field/],
  [['costProfile=default,free'], /^error: --grid: costProfile=free: costProfile: expected one of/],
  [['interference.hogs=1'], /^error: --grid: interference\.hogs=1: no such field: the scenario has no interference/],
  [['path=sideways'], /^error: --grid: path=sideways: expected injected, direct or direct-v41/],
  [['rate=0'], /^error: --grid: rate=0: expected a traffic rate factor/],
  [['policy=lottery'], /^error: --grid: policy=lottery: expected one of round-robin/],
  [['policy=./test/fixtures/policies/missing.ts'], /^error: --grid: policy=\.\/test\/fixtures\/policies\/missing\.ts: policy file .*missing\.ts: no such file/],
  [['cores=2,2'], /^error: --grid: cores=2: given twice/],
  [['cores'], /^error: --grid: expected KEY=V1,V2/],
  [['vms[0]..vcpus=1'], /^error: --grid: vms\[0\]\.\.vcpus: expected a scenario field/],
];

for (const [grid, message] of bad) {
  test(`--grid ${grid.join(' ')}: exit 2 naming the key and value, before anything runs`, async (t) => {
    const r = await cli('--duration', '150us', '--quiet', '--grid', ...grid);
    t.is(r.code, 2);
    t.regex(r.stderr, message);
    t.is(r.stdout, '');
  });
}

test('a key and the flag setting the same thing are refused; so is a key given twice', (t) => {
  for (const [argv, msg] of [
    [['--grid', 'seed=1,2', '--seed', '3'], /seed: also set by --seed/],
    [['--policy', 'round-robin', '--grid', 'policy=latency-first'], /policy: also set by --policy/],
    [['--grid', 'rate=1,2', '--rates', '1'], /rate: also set by --rates/],
    [['--grid', 'cores=1', '--grid', 'cores=2'], /cores: key given twice/],
  ] as const) {
    const e = t.throws(() => parseArgs(argv), { instanceOf: ArgError });
    t.is(e!.flag, '--grid');
    t.regex(e!.message, msg);
  }
});

test('without --grid, the sweep output is the plain sweep\'s: same columns, same CSV and JSON lines', (t) => {
  const jobs = gridJobs(base, { grid: [], policies: ['round-robin'], paths: 'both', rates: [1] }).jobs;
  const rows = jobs.map((j) => sweepRow(j, runScenario(j.scenario, { path: j.path })));
  t.deepEqual(sweepColumns([]), [...SWEEP_COLUMNS]);
  const records = jobs.map((j, k) => sweepRecord(SWEEP_COLUMNS, [], j, rows[k]!));
  t.is(recordsCsv(SWEEP_COLUMNS, records), sweepCsv(rows));
  t.is(recordsJsonLines(records), sweepJsonLines(rows));
});
