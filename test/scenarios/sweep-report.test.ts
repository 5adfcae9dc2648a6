/**
 * The sweep report (`--report` with a sweep or a merge): one plot per swept dimension, each with
 * the four main figures against the swept value, one line per policy/path, the other dimensions
 * summarised (mean, min-max bar); self-contained, and the same bytes for the same sweep.
 */
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../scenarios/cli.js';
import { renderSweepReport, reportDims } from '../../scenarios/sweep-report.js';
import { sweepColumns, type SweepMeta, type SweepRecord } from '../../scenarios/sweep.js';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const dir = mkdtempSync(join(tmpdir(), 'minivisor-sweep-report-'));

/** The `data-dim` of each plot, in order. */
const plots = (html: string): string[] => [...html.matchAll(/<figure class="dim" data-dim="([^"]*)">/g)].map((m) => m[1]!);

/** The panels (one SVG group per figure) of each plot. */
const panels = (html: string): number[] => html.split('<figure class="dim"').slice(1).map((f) => (f.split('</figure>')[0]!.match(/<g transform=/g) ?? []).length);

test('a grid sweep report: one plot per grid dimension, four panels each; identical across two runs; self-contained', async (t) => {
  const args = ['--scenario', 'default', '--duration', '100us', '--path', 'injected', '--workers', '1', '--quiet', '--grid', 'cores=3,4', 'vms[0].vcpus=1,2'];
  const a = await cli(...args, '--report', join(dir, 'a.html'), '--out', join(dir, 'a'));
  const b = await cli(...args, '--report', join(dir, 'b.html'));
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  const html = readFileSync(join(dir, 'a.html'), 'utf8');
  t.is(html, readFileSync(join(dir, 'b.html'), 'utf8'));
  t.deepEqual(plots(html), ['cores', 'vms[0].vcpus']);
  t.deepEqual(panels(html), [4, 4]);
  for (const title of ['interrupts delivered', 'EL2 entries per interrupt', 'latency p50 (us)', 'latency p99 (us)']) t.is(html.split(`>${title}</text>`).length - 1, 2, title);
  // No external resources, no script that runs, no clock.
  t.false(/<link|\ssrc=|@import|url\(/.test(html));
  t.deepEqual([...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]), [' type="application/json" id="sweep"']);
  t.false(/\d{4}-\d{2}-\d{2}T\d{2}:/.test(html));
  // The embedded data is the sweep's: its JSON lines, record for record.
  const data = JSON.parse(/<script type="application\/json" id="sweep">([\s\S]*?)<\/script>/.exec(html)![1]!) as { records: unknown[] };
  t.deepEqual(data.records, readFileSync(join(dir, 'a.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown));
});

/** A sweep's meta and records made up: the figures known, to check what the plots draw. */
function madeUp(grid: SweepMeta['grid'], rates: number[], rows: [Record<string, number | string>, number][]): { meta: SweepMeta; records: SweepRecord[] } {
  const records = rows.map(([keys, delivered]) => ({ scenario: 'x', policy: 'round-robin', path: 'direct', rate: 1, seed: 1, ...keys, delivered, el2EntriesPerIrq: 1, latencyP50Us: 2, latencyP99Us: 3, violations: 0 }));
  const meta: SweepMeta = { scenario: 'x', columns: sweepColumns(grid.map((g) => g.key)), grid, policies: ['round-robin'], paths: ['direct'], rates, jobs: records.length };
  return { meta, records };
}

test('the plain sweep plots rate; other dimensions are summarised by their mean with a min-max bar', (t) => {
  const plain = madeUp([], [0.5, 2], [
    [{ rate: 0.5 }, 10],
    [{ rate: 2 }, 40],
  ]);
  t.deepEqual(reportDims(plain.meta).map((d) => d.key), ['rate']);
  const p = renderSweepReport({ ...plain, signature: 's', commit: 'c' });
  t.deepEqual(plots(p), ['rate']);
  t.regex(p, /<title>round-robin \/ direct, rate = 2: 40<\/title>/);
  t.regex(p, /One run per point\./);

  const two = madeUp([{ key: 'cores', values: [2, 4] }, { key: 'sliceUs', values: [100, 1000] }], [1], [
    [{ cores: 2, sliceUs: 100 }, 10],
    [{ cores: 2, sliceUs: 1000 }, 30],
    [{ cores: 4, sliceUs: 100 }, 50],
    [{ cores: 4, sliceUs: 1000 }, 70],
  ]);
  const h = renderSweepReport({ ...two, signature: 's', commit: 'c' });
  t.deepEqual(plots(h), ['cores', 'sliceUs']);
  // cores = 2: the mean of its two runs (10 and 30); sliceUs = 1000: of 30 and 70 (a log axis: 100 to 1000).
  t.regex(h, /cores = 2: 20 \(mean of 2 runs, 10 to 30\)/);
  t.regex(h, /sliceUs = 1000: 50 \(mean of 2 runs, 30 to 70\)/);
  t.regex(h, /sliceUs \(log scale\)/);
  t.regex(h, /the bar spans their minimum and maximum/);
  // Nothing swept but policy and path: no plot, the table says it all.
  const none = madeUp([], [1], [[{}, 5]]);
  t.deepEqual(plots(renderSweepReport({ ...none, signature: 's', commit: 'c' })), []);
});
