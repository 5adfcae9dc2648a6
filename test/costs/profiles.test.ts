/**
 * The cost profiles: every profile a complete table (every CostTable entry and every bookkeeping
 * entry a finite cycle count), the profiles of real machines at least the three the issue asks
 * for, each entry with its source beside it (a named document and what it measured, or
 * "estimate:" and the reasoning), selectable from the command line and in scenario files.
 */
import test from 'ava';
import { COST_PROFILES, costProfile, DEFAULT_BOOKKEEPING, DEFAULT_COSTS, MACHINE_PROFILES } from '../../core/costs.js';
import { parseArgs } from '../../scenarios/args.js';
import { validateScenario } from '../../scenarios/validate.js';
import { SCENARIOS } from '../../scenarios/named.js';
import { main } from '../../scenarios/cli.js';

const COST_KEYS = Object.keys(DEFAULT_COSTS).sort();
const BOOK_KEYS = Object.keys(DEFAULT_BOOKKEEPING).sort();

/** What a source line must be: an estimate with its reasoning, or a citation that says what was measured. */
function sourceProblem(src: string | undefined): string | null {
  if (src === undefined) return 'no source';
  const s = src.trim();
  if (s.startsWith('estimate:')) return s.length - 'estimate:'.length >= 20 ? null : 'an estimate without its reasoning';
  // A citation names a document (a title in quotes, a file, a list message with its date) and says what it measured.
  const names = /"[^"]{6,}"|\.(rst|td|csv|c)\b|\b(19|20)\d\d\b|pull request|lkml|kvm list/.test(s);
  return names && s.length >= 60 ? null : 'neither "estimate: reasoning" nor a citation of what was measured';
}

test('every profile is a complete cost table with finite, non-negative cycle counts', (t) => {
  for (const p of COST_PROFILES) {
    t.deepEqual(Object.keys(p.costs).sort(), COST_KEYS, p.name);
    for (const k of COST_KEYS) {
      const v = (p.costs as unknown as Record<string, number>)[k]!;
      t.true(Number.isFinite(v) && v >= 0, `${p.name}.${k} = ${v}`);
    }
    if (p.bookkeeping !== undefined) {
      t.deepEqual(Object.keys(p.bookkeeping).sort(), BOOK_KEYS, `${p.name} bookkeeping`);
      for (const k of BOOK_KEYS) t.true(Number.isFinite((p.bookkeeping as unknown as Record<string, number>)[k]), `${p.name}.bookkeeping.${k}`);
    }
  }
});

test('the three machine profiles exist, each with a clock, 4 list registers and its own bookkeeping', (t) => {
  t.deepEqual(MACHINE_PROFILES.map((p) => p.name), ['a53-thin', 'n1-altra-kvm', 'kunpeng920-kvm']);
  for (const p of MACHINE_PROFILES) {
    t.truthy(p.bookkeeping, p.name);
    t.is(p.machine!.listRegs, 4, p.name);
    t.true(p.machine!.clockMHz >= 1000 && p.machine!.clockMHz <= 3500, p.name);
  }
  t.is(costProfile('a53-thin')!.machine!.clockMHz, 1200);
  // The thin hypervisor and KVM differ most in their bookkeeping.
  t.true(costProfile('n1-altra-kvm')!.bookkeeping!.exit > costProfile('a53-thin')!.bookkeeping!.exit);
});

test('every entry of every machine profile has a source beside it', (t) => {
  for (const p of MACHINE_PROFILES) {
    const keys = [...COST_KEYS, ...BOOK_KEYS.map((k) => `bookkeeping.${k}`)];
    t.deepEqual(Object.keys(p.sources!).sort(), keys.sort(), `${p.name}: one source per entry`);
    for (const k of keys) t.is(sourceProblem(p.sources![k]), null, `${p.name}.${k}: ${p.sources![k]}`);
  }
});

test('the source check refuses what is not a source', (t) => {
  t.not(sourceProblem(undefined), null);
  t.not(sourceProblem(''), null);
  t.not(sourceProblem('estimate'), null);
  t.not(sourceProblem('estimate: guess'), null);
  t.not(sourceProblem('from a paper'), null);
  t.is(sourceProblem('estimate: a posted device write leaves the core in tens of cycles'), null);
});

test('a machine profile is selectable with --cost-profile and in a scenario file; an unknown one is refused', (t) => {
  for (const p of MACHINE_PROFILES) {
    t.is(parseArgs(['--cost-profile', p.name]).costProfile, p.name);
    const s = validateScenario({ ...SCENARIOS.find((x) => x.name === 'wfi-native')!, costProfile: p.name });
    t.is(s.costProfile, p.name);
  }
  t.throws(() => parseArgs(['--cost-profile', 'a54-thin']), { message: /--cost-profile/ });
});

test('a scenario run with a machine profile at another clock says so; at the machine clock it does not', async (t) => {
  const run = async (args: string[]): Promise<string> => {
    const out: string[] = [];
    await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: () => true } });
    return out.join('');
  };
  const base = ['--scenario', 'explain', '--path', 'injected', '--duration', '100', '--quiet'];
  t.regex(await run([...base, '--cost-profile', 'a53-thin']), /note: cost profile a53-thin is a 1200 MHz machine/);
  t.notRegex(await run([...base, '--cost-profile', 'default']), /note: cost profile/);
});
