/**
 * The CLI end to end, in this process (`main`) and as a child process (`node --import=tsx
 * scenarios/cli.ts ...`): exit
 * status 2 and a message naming the flag or field for bad input; `--json` carries every figure
 * of the table; `--report` writes one self-contained HTML file whose figures equal `--json`'s.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../scenarios/cli.js';
import { comparisonRows } from '../../scenarios/comparison.js';
import type { ComparisonResult } from '../../scenarios/report-data.js';
import type { PathResult } from '../../scenarios/run.js';
import { checkTrace } from './trace-check.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'minivisor-cli-'));

/** The CLI in this process (same `main` as the script), output captured. */
async function cliIn(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** The CLI as a child process. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import=tsx', 'scenarios/cli.ts', ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The comparison table of the report, as rows of cell texts. */
function htmlTable(html: string): string[][] {
  const table = /<table id="comparison-table">([\s\S]*?)<\/table>/.exec(html);
  if (table === null) throw new Error('no comparison table');
  return [...table[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => unescape(c[1]!)));
}

const stripHost = (r: ComparisonResult): Omit<ComparisonResult, 'host'> => {
  const { host: _host, ...rest } = r;
  return rest;
};

test('an unknown flag: exit status 2 and a message naming it', async (t) => {
  const r = await cli('--colour', 'blue');
  t.is(r.code, 2);
  t.regex(r.stderr, /error: --colour: unknown flag/);
  t.is(r.stdout, '');
});

test('a bad value: exit status 2 and a message naming the flag and what it expects', async (t) => {
  const r = await cliIn('--seed', 'many');
  t.is(r.code, 2);
  t.regex(r.stderr, /error: --seed: expected an integer from 0 to 4294967295, got "many"/);
});

test('a bad scenario file: exit status 2 and the field at fault', async (t) => {
  const f = join(dir, 'bad.json');
  writeFileSync(f, JSON.stringify({ name: 'bad', vms: [{ name: 'a', vcpus: 2, kernel: 'device' }], devices: [{ vm: 'a', events: 2, traffic: { kind: 'poisson', ratePerSec: -5 } }] }));
  const r = await cliIn('--scenario', f);
  t.is(r.code, 2);
  t.regex(r.stderr, new RegExp(`--scenario ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: devices\\[0\\]\\.traffic\\.ratePerSec: expected a number from 0\\.001 to 100000000, got -5`));
  const g = join(dir, 'garbled.json');
  writeFileSync(g, '{ "name": ');
  const q = await cliIn('--scenario', g);
  t.is(q.code, 2);
  t.regex(q.stderr, /--scenario .*garbled\.json: not a JSON file/);
  const n = await cliIn('--scenario', 'no-such-scenario');
  t.is(n.code, 2);
  t.regex(n.stderr, /--scenario: no shipped scenario named "no-such-scenario" and no such file \(shipped: default, /);
});

test('direct on a GICv3 scenario names --path', async (t) => {
  const f = join(dir, 'v3.json');
  writeFileSync(f, JSON.stringify({ name: 'v3', gicVersion: 3, path: 'injected', durationUs: 50, vms: [{ name: 'a', vcpus: 1, kernel: 'device' }], devices: [{ vm: 'a', events: 1, traffic: { kind: 'periodic', periodUs: 10 } }] }));
  const r = await cliIn('--scenario', f, '--path', 'direct');
  t.is(r.code, 2);
  t.regex(r.stderr, /--path: direct injection needs a GICv4 machine/);
});

test('a scenario file that is valid runs, with the flags overriding it', async (t) => {
  const f = join(dir, 'ok.json');
  writeFileSync(f, JSON.stringify({ name: 'mine', cores: 2, durationUs: 5000, vms: [{ name: 'a', vcpus: 2, kernel: 'device' }], devices: [{ vm: 'a', events: 2, traffic: { kind: 'periodic', periodUs: 20 } }] }));
  const r = await cliIn('--scenario', f, '--duration', '200us', '--seed', '9', '--path', 'injected', '--json');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as ComparisonResult;
  t.is(j.scenario.name, 'mine');
  t.is(j.scenario.durationUs, 200);
  t.is(j.scenario.seed, 9);
  t.deepEqual(j.paths, ['injected']);
  t.is(j.results[0]!.msis, 9); // one every 20 us from the devices' start, before 200 us
});

test('--json carries every figure of the comparison table; --report shows the same figures and embeds the same result', async (t) => {
  const html = join(dir, 'report.html');
  const [j, h] = await Promise.all([cli('--duration', '300', '--json'), cli('--duration', '300', '--report', html)]);
  t.is(j.code, 0, j.stderr);
  t.is(h.code, 0, h.stderr);
  const json = JSON.parse(j.stdout) as ComparisonResult;
  t.deepEqual(json.paths, ['injected', 'direct']);
  // The table in the JSON is the one the text output prints, built from the figures in the JSON.
  const asResults = json.results.map((r) => ({ ...r, hostMs: 0 }) as unknown as PathResult);
  const nanFree = JSON.parse(JSON.stringify(comparisonRows(asResults)));
  t.deepEqual(json.table.map((r) => r.label), nanFree.map((r: { label: string }) => r.label));
  for (const [i, row] of json.table.entries()) if (!row.values.includes('-')) t.deepEqual(row.values, nanFree[i].values, row.label);
  const page = readFileSync(html, 'utf8');
  const rows = htmlTable(page);
  t.deepEqual(rows[0], ['figure', 'unit', 'injected', 'direct']);
  t.deepEqual(
    rows.slice(1),
    json.table.map((r) => [r.label, r.unit, ...r.values]),
  );
  const embedded = JSON.parse(/<script type="application\/json" id="result">([\s\S]*?)<\/script>/.exec(page)![1]!) as ComparisonResult;
  t.deepEqual(stripHost(embedded), stripHost(json));
  // Self-contained: no external resources, no network.
  t.notRegex(page, /<(link|img|iframe)\b|\bsrc=|https?:\/\/|@import|url\(/i);
  t.regex(page, /<svg class="chart"[\s\S]*<polyline/);
  t.is((page.match(/<svg class="timeline"/g) ?? []).length, 2);
  t.regex(page, /<pre id="scenario-json">/);
});

test('--trace writes trace-event JSON whose flows equal the delivered interrupts', async (t) => {
  const f = join(dir, 'trace.json');
  const r = await cliIn('--scenario', 'idle-heavy', '--duration', '1ms', '--trace', f, '--json');
  t.is(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as ComparisonResult;
  const c = checkTrace(JSON.parse(readFileSync(f, 'utf8')));
  t.deepEqual(c.errors, []);
  t.is(c.flows, json.results.reduce((a, x) => a + x.delivered, 0));
  t.regex(r.stderr, /trace: .*trace\.json \(\d+ events; open it in ui\.perfetto\.dev\)/);
});

test('no arguments: the default comparison on both paths, as a table; no progress bar off a terminal', async (t) => {
  const r = await cliIn();
  t.is(r.code, 0);
  t.regex(r.stdout, /^minivisor: scenario 'default'/);
  t.regex(r.stdout, /^ +injected +direct$/m);
  t.regex(r.stdout, /^interrupts delivered +[\d,]+ +[\d,]+$/m);
  t.is(r.stderr, '');
});

test('the progress bar draws on a terminal once a run takes more than a second, and clears itself', async (t) => {
  const err: string[] = [];
  let now = 0;
  const { Progress } = await import('../../scenarios/progress.js');
  const p = new Progress({ isTTY: true, columns: 80, write: (s) => (err.push(s), true) }, 1000, () => now);
  p.update(0.1, 'injected path');
  t.deepEqual(err, []);
  now = 1500;
  p.update(0.5, 'injected path');
  t.is(err.length, 1);
  t.regex(err[0]!, /^\r\[#+\.+\]  50% injected path 1\.5 s/);
  p.done();
  t.is(err[1], '\r\x1b[K');
  const quiet: string[] = [];
  const q = new Progress({ isTTY: false, write: (s) => (quiet.push(s), true) }, 0, () => (now += 2000));
  q.update(0.5, 'x');
  q.done();
  t.deepEqual(quiet, []);
});

test('--report, --trace and --out into a folder that does not exist: exit status 2 before anything runs', async (t) => {
  for (const flag of ['--report', '--trace']) {
    const r = await cliIn('--duration', '1000000us', flag, join(dir, 'no-such-folder', 'x.out'));
    t.is(r.code, 2, flag);
    t.regex(r.stderr, new RegExp(`error: ${flag}: the folder .*no-such-folder does not exist`));
    // Checked first: a million-microsecond run would take far longer than this test allows.
    t.is(r.stdout, '');
  }
  const r = await cliIn('--sweep', '--out', join(dir, 'nope', 'sweep'));
  t.is(r.code, 2);
  t.regex(r.stderr, /error: --out: the folder .*nope does not exist/);
});

test('a reader that closes the pipe early (npm start | head -3): no EPIPE stack trace, exit status 0', async (t) => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import=tsx', 'scenarios/cli.ts', '--duration', '2ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Read the first chunk, then close our end, as `head -3` does.
  await new Promise<void>((resolve) => child.stdout.once('data', () => (child.stdout.destroy(), resolve())));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.is(code, 0);
  t.notRegex(stderr, /EPIPE|Error/);
});
