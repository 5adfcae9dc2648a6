/**
 * The benchmark harness in its --quick form, run as a function call: every figure is present,
 * every number is finite and positive, the JSON file is written with the machine's description,
 * the growth factors are computed. The SHAPE of the output only: no timed assertion.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../../bench/bench.js';
import { CURVES, PATHS } from '../../bench/plan.js';
import { formatMarkdown, formatReport, type BenchReport } from '../../bench/report.js';

const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

test('npm run bench -- --quick: every figure, finite and positive, in the table and in the JSON with the machine', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'minivisor-bench-'));
  try {
    const lines: string[] = [];
    const r = runBench({ quick: true, outDir: dir, log: (s) => lines.push(s) });
    t.true(lines.length > 0, 'progress lines');
    t.deepEqual(r.failures, [], 'no job failed');
    const f = r.figures;

    // 1, 2: throughput, cycles per host second, ns per op, for both paths, 1-vCPU and default.
    for (const path of PATHS) {
      const one = f.throughput.filter((x) => x.path === path && x.name.startsWith('1 core'));
      const dflt = f.throughput.filter((x) => x.path === path && x.name.startsWith('default'));
      t.is(one.length, 1, `1-vCPU ${path}`);
      t.is(dflt.length, 1, `default ${path}`);
      for (const x of [...one, ...dflt]) for (const k of ['irqsPerSec', 'nsPerIrq', 'cyclesPerSec', 'nsPerOp', 'opsPerIrq'] as const) t.true(positive(x[k]), `${x.name} ${k} = ${x[k]}`);
    }
    // Tracing on vs off.
    t.deepEqual(f.tracing.map((x) => x.path), [...PATHS]);
    for (const x of f.tracing) t.true(positive(x.ratio) && positive(x.onNsPerIrq) && positive(x.offNsPerIrq));
    // 3: ITS, both feeds.
    t.deepEqual(f.its.map((x) => x.feed).sort(), ['driver', 'engine']);
    for (const x of f.its) {
      t.true(positive(x.commandsPerSec) && positive(x.nsPerCommand) && positive(x.cyclesPerCommand));
      t.is(x.errors, 0);
    }
    // 4: every curve, both paths, every quick point, and a growth factor.
    for (const c of CURVES) {
      for (const path of PATHS) {
        const cf = f.curves.find((x) => x.name === c.name && x.path === path);
        t.truthy(cf, `${c.name} ${path}`);
        t.deepEqual(cf!.points.map((p) => p.x), [...c.quick]);
        for (const p of cf!.points) t.true(positive(p.nsPerIrq), `${c.name} ${path} ${p.x}`);
        t.true(positive(cf!.growth) && positive(cf!.spread));
        t.is(cf!.growth, cf!.points.at(-1)!.nsPerIrq / cf!.points[0]!.nsPerIrq);
      }
    }
    // 5: memory per mapped event and per vCPU, both paths.
    for (const what of ['mapped event', 'vCPU'] as const) {
      for (const path of PATHS) {
        const m = f.memory.find((x) => x.what === what && x.path === path);
        t.truthy(m, `memory per ${what} ${path}`);
        t.true(Number.isFinite(m!.totalBytes) && Number.isFinite(m!.heapBytes) && Number.isFinite(m!.simBytes));
      }
    }
    t.true(f.core.length >= 2 && f.core.every((c) => positive(c.nsPer)));

    // 7: every target with a verdict.
    const names = r.targets.map((x) => x.name);
    for (const want of ['direct path', 'injected path', 'ID-space independence', 'growth along', 'memory per mapped event', 'tracing cost']) t.true(names.some((n) => n.startsWith(want)), want);
    t.true(r.targets.every((x) => typeof x.pass === 'boolean'));

    // The printed table and the Markdown carry the figures and the verdicts.
    const text = formatReport(r);
    for (const s of ['THROUGHPUT', 'TRACING', 'ITS COMMANDS', 'SCALING', 'MEMORY', 'TARGETS', 'growth']) t.true(text.includes(s), s);
    t.regex(text, /PASS|MISS/);
    t.regex(formatMarkdown(r, 'x.json'), /\| Target \(issue 8\)/);

    // The JSON file: same figures, the machine, the date.
    t.truthy(r.file);
    t.true(r.file!.startsWith(dir) && r.file!.endsWith('-quick.json'));
    const json = JSON.parse(readFileSync(r.file!, 'utf8')) as BenchReport;
    t.is(json.format, 'minivisor-bench/1');
    t.true(json.quick);
    t.false(Number.isNaN(Date.parse(json.date)));
    t.true(typeof json.machine.cpu === 'string' && json.machine.cpu.length > 0);
    t.true(positive(json.machine.cores));
    t.regex(json.machine.node, /^v\d+/);
    t.true(typeof json.machine.os === 'string' && json.machine.os.length > 0);
    t.true(Number.isFinite(json.load.start));
    t.true(json.source === null || (typeof json.source.commit === 'string' && typeof json.source.dirty === 'boolean'));
    t.deepEqual(json.figures, JSON.parse(JSON.stringify(r.figures)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
