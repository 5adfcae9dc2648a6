/**
 * The soak: randomized cases (scenarios/random-cases.ts) one seed after another until the time is
 * up. Seeds go up from `--seed` (default 1); each seed is one case, by seed mod 3 (`caseOfSeed`):
 * a random platform on both delivery paths (one in four a large one), a rogue guest next to a
 * victim (both injections), random ITS command bytes. A case that finds something wrong is named in the
 * summary with its seed, and `--seed S --minutes 0` runs exactly that case again (at least one
 * case always runs).
 *
 *   npm run soak -- [--minutes N] [--seed S] [--quiet]
 *
 * Progress goes to stderr about every 10 s (not with --quiet); the summary goes to stdout: runs,
 * simulated interrupts (MSIs the ITS accepted), simulated seconds, and every failing case with
 * its seed, kind and first violation (after a count of the failing cases by first violation).
 * Exit status: 0 when nothing was wrong, 3 otherwise, 2 for a bad flag.
 *
 * The wall clock is read here only, to know when the time is up and for the progress lines: the
 * cases themselves are deterministic.
 */
import { CaseFailure, caseName, caseOfSeed, runCase } from './random-cases.js';

const USAGE = 'usage: npm run soak -- [--minutes N] [--seed S] [--quiet]';
const PROGRESS_MS = 10_000;

interface SoakOptions {
  readonly minutes: number;
  readonly seed: number;
  readonly quiet: boolean;
}

class FlagError extends Error {}

function parseArgs(argv: readonly string[]): SoakOptions | 'help' {
  let minutes = 1;
  let seed = 1;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (what: string): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new FlagError(`${flag} needs ${what}`);
      return v;
    };
    switch (flag) {
      case '--minutes': {
        const v = value('a number of minutes (>= 0)');
        minutes = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(minutes)) throw new FlagError(`--minutes: expected a number of minutes (>= 0), got '${v}'`);
        break;
      }
      case '--seed': {
        const v = value('a seed (an integer >= 0)');
        seed = Number(v);
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(seed)) throw new FlagError(`--seed: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got '${v}'`);
        break;
      }
      case '--quiet':
        if (inline !== undefined) throw new FlagError('--quiet takes no value');
        quiet = true;
        break;
      case '--help':
      case '-h':
        return 'help';
      default:
        throw new FlagError(`unknown flag '${arg}' (flags: --minutes N, --seed S, --quiet)`);
    }
  }
  return { minutes, seed, quiet };
}

/** A violation with its numbers (times, IDs, counts, values) replaced by '#'. */
function signature(v: string): string {
  return v.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, '#');
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Failure {
  readonly seed: number;
  readonly kind: string;
  readonly first: string;
  readonly count: number;
}

function main(argv: readonly string[]): number {
  let o: SoakOptions | 'help';
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`soak: ${e.message}\n`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n  --minutes N  how long to run (default 1; 0: just the case of --seed)\n  --seed S     the first seed (default 1)\n  --quiet      no progress lines on stderr\n`);
    return 0;
  }
  const t0 = performance.now();
  const end = t0 + o.minutes * 60_000;
  let nextProgress = t0 + PROGRESS_MS;
  let runs = 0;
  let interrupts = 0;
  let simulated = 0;
  const byKind = new Map<string, number>();
  const failures: Failure[] = [];
  let seed = o.seed;
  do {
    const c = caseOfSeed(seed);
    const kind = caseName(c);
    try {
      const st = runCase(seed);
      interrupts += st.interrupts;
      simulated += st.simulatedSeconds;
    } catch (e) {
      // A CaseFailure names what was wrong; anything else escaped the runner itself.
      if (e instanceof CaseFailure) {
        failures.push({ seed, kind, first: e.violations[0] ?? e.message, count: e.violations.length });
        interrupts += e.stats.interrupts;
        simulated += e.stats.simulatedSeconds;
      }
      else failures.push({ seed, kind, first: `the case runner threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, count: 1 });
    }
    runs++;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    seed++;
    const now = performance.now();
    if (!o.quiet && now >= nextProgress) {
      process.stderr.write(`soak: ${clock(now - t0)} of ${clock(end - t0)}, ${int(runs)} runs (next seed ${seed}), ${int(interrupts)} interrupts, ${simulated.toFixed(3)} simulated s, ${failures.length} failing\n`);
      nextProgress += PROGRESS_MS * Math.max(1, Math.ceil((now - nextProgress) / PROGRESS_MS));
    }
  } while (performance.now() < end);
  const took = performance.now() - t0;
  const kinds = [...byKind.entries()].map(([k, n]) => `${int(n)} ${k}`).join(', ');
  const lines = [
    `soak: ${int(runs)} run${runs === 1 ? '' : 's'} in ${clock(took)} (seed${runs === 1 ? ` ${o.seed}` : `s ${o.seed}-${seed - 1}`}: ${kinds})`,
    `simulated interrupts (MSIs accepted): ${int(interrupts)}`,
    `simulated time: ${simulated.toFixed(3)} s`,
    `violations: ${failures.length === 0 ? 'none' : `${int(failures.reduce((a, f) => a + f.count, 0))} in ${failures.length} failing case${failures.length === 1 ? '' : 's'}`}`,
  ];
  if (failures.length > 0) {
    // The same first violation with other numbers is most likely the same fault: one line each.
    const groups = new Map<string, { kind: string; seeds: number[] }>();
    for (const f of failures) {
      const key = `${f.kind}: ${signature(f.first)}`;
      const g = groups.get(key) ?? { kind: f.kind, seeds: [] };
      g.seeds.push(f.seed);
      groups.set(key, g);
    }
    lines.push('  by first violation (numbers as #):');
    for (const [key, g] of [...groups.entries()].sort((a, b) => b[1].seeds.length - a[1].seeds.length)) {
      lines.push(`    ${g.seeds.length} x ${key} (seed${g.seeds.length === 1 ? '' : 's'} ${g.seeds.slice(0, 8).join(', ')}${g.seeds.length > 8 ? ', ...' : ''})`);
    }
    lines.push('  every failing case:');
    for (const f of failures) lines.push(`    seed ${f.seed} (${f.kind}): ${f.first}${f.count > 1 ? ` (+${f.count - 1} more)` : ''}`);
  }
  if (failures.length > 0) lines.push(`run one again: npm run soak -- --seed S --minutes 0`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return failures.length === 0 ? 0 : 3;
}

process.exitCode = main(process.argv.slice(2));
