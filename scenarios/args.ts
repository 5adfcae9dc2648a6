/**
 * Command-line arguments of `npm start -- ...` (scenarios/cli.ts): parsed and checked here,
 * before anything runs, into a typed `CliOptions`; a bad flag or value throws an `ArgError`
 * naming the flag and what it expects (the CLI prints it and exits with status 2). Pure: no
 * file system, no process, so tests call it directly.
 */
import { COST_PROFILES } from '../core/costs.js';
import { POLICIES } from '../hypervisor/sched/policies.js';
import { SCENARIOS } from './named.js';
import { isPolicyFile } from './policy-modules.js';

export type PathChoice = 'injected' | 'direct' | 'both';

export interface CliOptions {
  /** A shipped scenario's name or a JSON file (default: 'default', or 'explain' with --explain). */
  readonly scenario: string | undefined;
  readonly path: PathChoice;
  readonly policy: string | undefined;
  readonly seed: number | undefined;
  readonly durationUs: number | undefined;
  readonly costProfile: string | undefined;
  /** 'all' keeps every MSI and delivery record; 'counters' keeps counts and streams latencies (long runs). */
  readonly record: 'all' | 'counters' | undefined;
  readonly json: boolean;
  readonly trace: string | undefined;
  readonly report: string | undefined;
  readonly sweep: boolean;
  readonly explain: boolean;
  readonly help: boolean;
  /** --sweep: traffic rate factors (default 0.5, 1, 2). */
  readonly rates: readonly number[] | undefined;
  /** --sweep: worker threads (default: the host's available parallelism). */
  readonly workers: number | undefined;
  /** --sweep: also write PREFIX.csv and PREFIX.jsonl. */
  readonly out: string | undefined;
  /** No progress bar even on a terminal. */
  readonly quiet: boolean;
}

export class ArgError extends Error {
  constructor(
    /** The flag at fault, as written (`--seed`), or the stray argument. */
    readonly flag: string,
    message: string,
  ) {
    super(`${flag}: ${message}`);
  }
}

interface FlagSpec {
  readonly name: string;
  readonly value?: string;
  readonly help: string;
}

/** Every flag, in the order --help lists them. */
export const FLAGS: readonly FlagSpec[] = [
  { name: '--scenario', value: 'NAME|FILE', help: 'a shipped scenario (listed below) or a scenario JSON file (default: default)' },
  { name: '--path', value: 'injected|direct|both', help: 'delivery path to run (default: both; a GICv3 scenario runs injected only)' },
  { name: '--policy', value: 'NAME|FILE', help: "scheduling policy, overriding the scenario's: a shipped one (listed below) or a module file exporting a Policy (./my-policy.ts)" },
  { name: '--seed', value: 'N', help: 'seed of every random source (integer, 0 to 4294967295)' },
  { name: '--duration', value: 'T', help: 'simulated time with devices running: 5000, 5000us, 5ms or 0.005s (a bare number is microseconds)' },
  { name: '--cost-profile', value: 'NAME', help: "cost table, overriding the scenario's (listed below)" },
  { name: '--record', value: 'all|counters', help: "keep every MSI and delivery record (all) or only counts and streamed latencies (counters: flat memory for long runs; no --trace/--report)" },
  { name: '--json', help: 'print one machine-readable JSON result (every figure of the table) instead of the table' },
  { name: '--trace', value: 'FILE', help: 'write a Chrome trace-event JSON file (open it in ui.perfetto.dev)' },
  { name: '--report', value: 'FILE', help: 'write a self-contained HTML report (table, latency CDF, timeline per core, scenario)' },
  { name: '--sweep', help: 'run policies x paths x traffic rates in parallel on worker threads; one CSV row per run (JSON lines with --json)' },
  { name: '--rates', value: 'F,F,...', help: '--sweep: traffic rate factors applied to every device (default 0.5,1,2)' },
  { name: '--workers', value: 'N', help: '--sweep: worker threads (default: available parallelism)' },
  { name: '--out', value: 'PREFIX', help: '--sweep: also write PREFIX.csv and PREFIX.jsonl' },
  { name: '--explain', help: "follow one interrupt on each path through a run's trace, step by step (scenario 'explain' unless --scenario)" },
  { name: '--quiet', help: 'no progress bar' },
  { name: '--help', help: 'this text' },
];

const DURATION = /^(\d+(?:\.\d*)?|\.\d+)(us|ms|s)?$/;

function duration(flag: string, v: string): number {
  const m = DURATION.exec(v.trim());
  if (m === null) throw new ArgError(flag, `expected a duration such as 5000, 5000us, 5ms or 0.005s, got ${JSON.stringify(v)}`);
  const x = Number(m[1]) * (m[2] === 's' ? 1e6 : m[2] === 'ms' ? 1e3 : 1);
  if (!(x >= 1 && x <= 1e9)) throw new ArgError(flag, `expected from 1 us to 1000 s, got ${JSON.stringify(v)}`);
  return x;
}

function integer(flag: string, v: string, min: number, max: number): number {
  const x = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(x) || x < min || x > max) throw new ArgError(flag, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return x;
}

function oneOf<T extends string>(flag: string, v: string, options: readonly T[]): T {
  if (!options.includes(v as T)) throw new ArgError(flag, `expected one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function rates(flag: string, v: string): number[] {
  const parts = v.split(',').map((p) => p.trim());
  const out = parts.map((p) => (/^(\d+(\.\d*)?|\.\d+)$/.test(p) ? Number(p) : NaN));
  if (out.length === 0 || out.some((x) => !(x > 0 && x <= 1000))) throw new ArgError(flag, `expected comma-separated factors above 0 and at most 1000, such as 0.5,1,2, got ${JSON.stringify(v)}`);
  if (new Set(out).size !== out.length) throw new ArgError(flag, `expected distinct factors, got ${JSON.stringify(v)}`);
  return out;
}

/** Parses `argv` (the arguments after the script). Throws `ArgError` on the first bad one. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const o = {
    scenario: undefined as string | undefined,
    path: 'both' as PathChoice,
    policy: undefined as string | undefined,
    seed: undefined as number | undefined,
    durationUs: undefined as number | undefined,
    costProfile: undefined as string | undefined,
    record: undefined as 'all' | 'counters' | undefined,
    json: false,
    trace: undefined as string | undefined,
    report: undefined as string | undefined,
    sweep: false,
    explain: false,
    help: false,
    rates: undefined as number[] | undefined,
    workers: undefined as number | undefined,
    out: undefined as string | undefined,
    quiet: false,
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ArgError(arg, 'unexpected argument (flags start with --; see --help)');
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const spec = FLAGS.find((f) => f.name === flag);
    if (spec === undefined) throw new ArgError(flag, 'unknown flag (see --help)');
    if (seen.has(flag)) throw new ArgError(flag, 'given twice');
    seen.add(flag);
    let value: string | undefined;
    if (spec.value !== undefined) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        if (value === undefined || value.startsWith('--')) throw new ArgError(flag, `expected a value (${spec.value})`);
        i++;
      }
      if (value.length === 0) throw new ArgError(flag, `expected a value (${spec.value})`);
    } else if (eq >= 0) throw new ArgError(flag, 'takes no value');
    switch (flag) {
      case '--scenario':
        o.scenario = value!;
        break;
      case '--path':
        o.path = oneOf(flag, value!, ['injected', 'direct', 'both'] as const);
        break;
      case '--policy':
        // A shipped policy by name, or a module file (loaded by the CLI before anything runs).
        o.policy = isPolicyFile(value!) ? value! : oneOf(flag, value!, POLICIES.map((p) => p.name));
        break;
      case '--seed':
        o.seed = integer(flag, value!, 0, 2 ** 32 - 1);
        break;
      case '--duration':
        o.durationUs = duration(flag, value!);
        break;
      case '--cost-profile':
        o.costProfile = oneOf(flag, value!, COST_PROFILES.map((p) => p.name));
        break;
      case '--record':
        o.record = oneOf(flag, value!, ['all', 'counters'] as const);
        break;
      case '--json':
        o.json = true;
        break;
      case '--trace':
        o.trace = value!;
        break;
      case '--report':
        o.report = value!;
        break;
      case '--sweep':
        o.sweep = true;
        break;
      case '--rates':
        o.rates = rates(flag, value!);
        break;
      case '--workers':
        o.workers = integer(flag, value!, 1, 256);
        break;
      case '--out':
        o.out = value!;
        break;
      case '--explain':
        o.explain = true;
        break;
      case '--quiet':
        o.quiet = true;
        break;
      case '--help':
        o.help = true;
        break;
    }
  }
  if (o.sweep && o.explain) throw new ArgError('--explain', 'cannot be combined with --sweep');
  if (o.sweep && o.trace !== undefined) throw new ArgError('--trace', 'cannot be combined with --sweep (trace one run instead)');
  if (o.sweep && o.report !== undefined) throw new ArgError('--report', 'cannot be combined with --sweep (report one run instead)');
  for (const f of ['--rates', '--workers', '--out'] as const) if (seen.has(f) && !o.sweep) throw new ArgError(f, 'only applies with --sweep');
  return o;
}

/** The --help text: usage, flags, and one line per scenario, policy and cost profile. */
export function helpText(): string {
  const w = Math.max(...FLAGS.map((f) => f.name.length + (f.value === undefined ? 0 : f.value.length + 1))) + 2;
  const list = (items: readonly { name: string; summary: string }[]): string[] => {
    const n = Math.max(...items.map((x) => x.name.length)) + 2;
    return items.map((x) => `  ${x.name.padEnd(n)}${x.summary}`);
  };
  return [
    'minivisor: GICv4 direct injection vs. the injected path, on a deterministic model of an Arm machine',
    '',
    'usage: npm start -- [--scenario NAME|FILE] [--path injected|direct|both] [--policy NAME] [--seed N]',
    '                    [--duration T] [--cost-profile NAME] [--record all|counters] [--json] [--trace FILE] [--report FILE]',
    '                    [--sweep [--rates F,...] [--workers N] [--out PREFIX]] [--explain] [--quiet] [--help]',
    '',
    'With no flags: the default scenario on both paths, side by side.',
    '',
    'Flags:',
    ...FLAGS.map((f) => `  ${(f.value === undefined ? f.name : `${f.name} ${f.value}`).padEnd(w)}${f.help}`),
    '',
    'Scenarios:',
    ...list(SCENARIOS),
    '',
    'Policies:',
    ...list(POLICIES),
    '',
    'Cost profiles:',
    ...list(COST_PROFILES),
    '',
    'Exit status: 0 on success, 2 for a bad flag, value or scenario file, 1 for anything else.',
  ].join('\n');
}
