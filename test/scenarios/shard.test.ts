/**
 * `--shard i/n` and `--merge`: shards 1/3, 2/3 and 3/3 of a grid sweep merge into the CSV, JSON
 * lines and sweep report of the unsharded sweep, byte for byte; the merge refuses (exit 2,
 * naming the file) shards of another grid or commit, a missing shard, a duplicate and a shard
 * with the wrong rows.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../scenarios/cli.js';
import { inShard, shardSize } from '../../scenarios/shard.js';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const dir = mkdtempSync(join(tmpdir(), 'minivisor-shard-'));
const at = (f: string): string => join(dir, f);
const read = (f: string): string => readFileSync(at(f), 'utf8');

/** A 4-run grid sweep (2 x 2, one path), short runs. */
const SWEEP = ['--scenario', 'default', '--duration', '100us', '--path', 'injected', '--workers', '1', '--quiet', '--grid', 'cores=3,4', 'sliceUs=500,1000'];

/** The unsharded sweep, its three shards and their merge, made once for every test here. */
const made = (async () => {
  const full = await cli(...SWEEP, '--out', at('full'), '--report', at('full.html'));
  const shards = await Promise.all([1, 2, 3].map((i) => cli(...SWEEP, '--shard', `${i}/3`, '--out', at(`part${i}`))));
  // Shards of another grid (sliceUs 2000 for 1000) and of a 2-run sweep: their shard 3/3 runs nothing.
  const other = await cli(...SWEEP.slice(0, -1), 'sliceUs=500,2000', '--shard', '3/3', '--out', at('other3'));
  const small = await cli(...SWEEP.slice(0, -2), 'cores=3,4', '--shard', '3/3', '--out', at('small3'));
  const stdoutShard = await cli(...SWEEP.slice(0, -2), 'cores=3,4', '--shard', '3/3');
  return { full, shards, stdoutShard, other, small };
})();

test('runs are sliced by index mod n: every run in exactly one shard, shardSize counting them', (t) => {
  for (let jobs = 0; jobs <= 13; jobs++)
    for (let n = 1; n <= 6; n++) {
      const sizes = Array.from({ length: n }, (_, k) => shardSize(jobs, k + 1, n));
      t.is(sizes.reduce((a, b) => a + b, 0), jobs);
      for (let i = 1; i <= n; i++) t.is(Array.from({ length: jobs }, (_, k) => k).filter((k) => inShard(k, i, n)).length, sizes[i - 1]!);
    }
  t.true(inShard(0, 1, 3) && inShard(4, 2, 3) && inShard(5, 3, 3) && !inShard(5, 1, 3));
});

test('shards 1/3, 2/3, 3/3 merged equal the unsharded sweep byte for byte: CSV, JSON lines, report, stdout', async (t) => {
  const { full, shards, stdoutShard } = await made;
  t.is(full.code, 0, full.stderr);
  for (const s of shards) t.is(s.code, 0, s.stderr);
  t.is(full.stdout, read('full.csv'));
  t.is(read('full.csv').trimEnd().split('\n').length, 5);
  // Each shard: its header, then its runs (index mod 3): 0 and 3, 1, 2.
  const lines = [1, 2, 3].map((i) => read(`part${i}.shard`).trimEnd().split('\n'));
  t.deepEqual(lines.map((l) => l.length - 1), [2, 1, 1]);
  const header = JSON.parse(lines[1]![0]!) as Record<string, unknown>;
  t.like(header, { format: 'minivisor-sweep-shard', version: 1, shard: 2, of: 3, jobs: 4, rows: 1 });
  t.regex(header['signature'] as string, /^[0-9a-f]{64}$/);
  t.regex(header['commit'] as string, /^([0-9a-f]{40,64}|unknown)$/);
  t.deepEqual(lines.map((l) => l.slice(1).map((x) => (JSON.parse(x) as { index: number }).index)), [[0, 3], [1], [2]]);
  // Without --out the shard goes to stdout.
  t.is(stdoutShard.code, 0, stdoutShard.stderr);
  t.is(stdoutShard.stdout, read('small3.shard'));
  t.like(JSON.parse(stdoutShard.stdout.split('\n')[0]!), { shard: 3, of: 3, jobs: 2, rows: 0 });

  // Merged in any order.
  const m = await cli('--merge', at('part3.shard'), at('part1.shard'), at('part2.shard'), '--out', at('merged'), '--report', at('merged.html'), '--quiet');
  t.is(m.code, 0, m.stderr);
  t.is(read('merged.csv'), read('full.csv'));
  t.is(read('merged.jsonl'), read('full.jsonl'));
  t.is(read('merged.html'), read('full.html'));
  t.is(m.stdout, full.stdout);
  const j = await cli('--merge', at('part1.shard'), at('part2.shard'), at('part3.shard'), '--json');
  t.is(j.code, 0, j.stderr);
  t.is(j.stdout, read('full.jsonl'));
});

/** Writes `text` as file `name` in the test folder; returns its path. */
function put(name: string, text: string): string {
  writeFileSync(at(name), text);
  return at(name);
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('merge refuses shards of another grid, another commit, another split, a missing shard, a duplicate, wrong rows', async (t) => {
  const { other, small } = await made;
  t.is(other.code, 0, other.stderr);
  t.is(small.code, 0, small.stderr);
  const [p1, p2, p3] = [1, 2, 3].map((i) => at(`part${i}.shard`)) as [string, string, string];
  const refused = async (files: string[], message: RegExp): Promise<void> => {
    const r = await cli('--merge', ...files);
    t.is(r.code, 2, `${files.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message);
    t.is(r.stdout, '');
  };
  const [head, ...rows] = read('part2.shard').trimEnd().split('\n');
  const h = JSON.parse(head!) as Record<string, unknown>;

  await refused([p1, p2, at('other3.shard')], new RegExp(`^error: --merge ${esc(at('other3.shard'))}: a shard of a different sweep than ${esc(p1)}`));
  await refused([p1, p2, at('small3.shard')], new RegExp(`^error: --merge ${esc(at('small3.shard'))}: a shard of a different sweep`));
  const commit = put('commit2.shard', [JSON.stringify({ ...h, commit: '0123456789abcdef0123456789abcdef01234567' }), ...rows].join('\n') + '\n');
  await refused([p1, commit, p3], new RegExp(`^error: --merge ${esc(commit)}: made at commit 0123456789abcdef0123456789abcdef01234567, ${esc(p1)} at `));
  await refused([p1, p3], /^error: --merge: shard 2\/3 missing \(given: .*part1\.shard \(1\/3\), .*part3\.shard \(3\/3\)\)/);
  const twin = put('twin1.shard', read('part1.shard'));
  await refused([p1, p2, p3, twin], new RegExp(`^error: --merge ${esc(twin)}: shard 1/3 again \\(${esc(p1)} is that shard too\\)`));
  const cut = put('cut1.shard', read('part1.shard').trimEnd().split('\n').slice(0, 2).join('\n') + '\n');
  await refused([cut, p2, p3], new RegExp(`^error: --merge ${esc(cut)}: 1 row \\(its header says 2\\); shard 1/3 of a 4-run sweep has 2`));
  const moved = put('moved2.shard', [JSON.stringify(h), rows[0]!.replace('"index":1', '"index":0')].join('\n') + '\n');
  await refused([p1, moved, p3], new RegExp(`^error: --merge ${esc(moved)}: line 2 holds run 0; shard 2/3 has run 1 there`));
  const split = put('split.shard', [JSON.stringify({ ...h, of: 4 }), ...rows].join('\n') + '\n');
  await refused([p1, split], new RegExp(`^error: --merge ${esc(split)}: shard 2/4, ${esc(p1)} is shard 1/3`));
  await refused([p1, p2, p3, at('full.csv')], new RegExp(`^error: --merge ${esc(at('full.csv'))}: not a sweep shard`));
  await refused([p1, p2, at('nope.shard')], new RegExp(`^error: --merge ${esc(at('nope.shard'))}: cannot be read`));
});
