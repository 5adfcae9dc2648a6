/**
 * Command-line arguments of `npm start -- ...` (scenarios/cli.ts): parsed and checked here,
 * before anything runs, into a typed `CliOptions`; a bad flag or value throws an `ArgError`
 * naming the flag and what it expects (the CLI prints it and exits with status 2). Pure: no
 * file system, no process, so tests call it directly.
 */
import { COST_PROFILES } from '../core/costs.js';
import { POLICIES } from '../hypervisor/sched/policies.js';
import { SCENARIOS } from './named.js';
import { GridError, parseGridSpec, type GridDim } from './grid.js';
import { isPolicyFile } from './policy-modules.js';

export type PathChoice = 'injected' | 'direct' | 'direct-v41' | 'mixed' | 'both';

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
  /** --per-vm: the per-VM tables for every VM, with a row per vCPU. */
  readonly perVm: boolean;
  /** --grid: the keys in the order given, each with its values (empty without --grid; a grid implies --sweep). */
  readonly grid: readonly GridDim[];
  /** --shard i/n: run the i-th (1-based) of n slices of the sweep's runs (those whose index mod n is i - 1). */
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  /** --merge: shard files to combine into the sweep's output. */
  readonly merge: readonly string[] | undefined;
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
  { name: '--path', value: 'injected|direct|direct-v41|mixed|both', help: 'delivery path of every VM (direct-v41 needs gicVersion 4.1), or mixed: each VM its own (the scenario as written); both (default): the scenario as written when its VMs take different paths, then every path of the machine (a GICv3 scenario runs injected only; GICv4.1 adds direct-v41)' },
  { name: '--policy', value: 'NAME|FILE', help: "scheduling policy, overriding the scenario's: a shipped one (listed below) or a module file exporting a Policy (./my-policy.ts)" },
  { name: '--seed', value: 'N', help: 'seed of every random source (integer, 0 to 4294967295)' },
  { name: '--duration', value: 'T', help: 'simulated time with devices running: 5000, 5000us, 5ms or 0.005s (a bare number is microseconds)' },
  { name: '--cost-profile', value: 'NAME', help: "cost table, overriding the scenario's (listed below)" },
  { name: '--record', value: 'all|counters', help: "keep every MSI and delivery record (all) or only counts and streamed latencies (counters: flat memory for long runs; no --trace/--report)" },
  { name: '--json', help: 'print one machine-readable JSON result (every figure of the table) instead of the table' },
  { name: '--trace', value: 'FILE', help: 'write a Chrome trace-event JSON file (open it in ui.perfetto.dev)' },
  { name: '--report', value: 'FILE', help: 'write a self-contained HTML report (table, latency CDF, timeline per core, scenario); with --sweep, --grid or --merge: the sweep report (a plot per swept dimension)' },
  { name: '--sweep', help: 'run policies x paths x traffic rates in parallel on worker threads; one CSV row per run (JSON lines with --json)' },
  {
    name: '--grid',
    value: 'KEY=V,V,...',
    help:
      'sweep scenario fields (cores, sliceUs, vms[0].vcpus, devices[1].traffic.periodUs, ...) and policy, path, rate: several KEY=V,... may follow one --grid, and --grid may be repeated; ' +
      'implies --sweep (crossed with --policy, else the scenario\'s policy; --path; --rates, else 1); rows: first key outermost, values in the order given; a column per key',
  },
  { name: '--rates', value: 'F,F,...', help: '--sweep: traffic rate factors applied to every device (default 0.5,1,2; with --grid: 1)' },
  { name: '--workers', value: 'N', help: '--sweep: worker threads (default: available parallelism)' },
  { name: '--out', value: 'PREFIX', help: '--sweep, --merge: also write PREFIX.csv and PREFIX.jsonl (--shard: write the shard to PREFIX.shard, not stdout)' },
  { name: '--shard', value: 'I/N', help: '--sweep: run only the runs whose index mod N is I-1 and print them as a shard (for --merge)' },
  { name: '--merge', value: 'FILE...', help: 'combine the shard files of one sweep into its CSV (JSON lines with --json; --out, --report as a sweep)' },
  { name: '--explain', help: "follow one interrupt on each path through a run's trace, step by step (scenario 'explain' unless --scenario)" },
  { name: '--per-vm', help: 'every figure per VM and per vCPU, for every VM (without it: per VM for up to 8 VMs); --json always has them' },
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
    perVm: false,
    grid: [] as GridDim[],
    shard: undefined as { index: number; count: number } | undefined,
    merge: undefined as string[] | undefined,
  };
  /** The values that follow a multi-valued flag (--grid, --merge): the arguments up to the next flag. */
  const more = (i: number): string[] => {
    const out: string[] = [];
    for (let j = i + 1; j < argv.length && !argv[j]!.startsWith('--'); j++) out.push(argv[j]!);
    return out;
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ArgError(arg, 'unexpected argument (flags start with --; see --help)');
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const spec = FLAGS.find((f) => f.name === flag);
    if (spec === undefined) throw new ArgError(flag, 'unknown flag (see --help)');
    if (seen.has(flag) && flag !== '--grid') throw new ArgError(flag, 'given twice');
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
        o.path = oneOf(flag, value!, ['injected', 'direct', 'direct-v41', 'mixed', 'both'] as const);
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
      case '--grid': {
        const specs = [value!, ...more(i)];
        i += specs.length - 1;
        for (const spec of specs) {
          let d: GridDim;
          try {
            d = parseGridSpec(spec);
          } catch (e) {
            if (e instanceof GridError) throw new ArgError(e.flag, e.detail);
            throw e;
          }
          if (o.grid.some((x) => x.key === d.key)) throw new ArgError(flag, `${d.key}: key given twice`);
          o.grid.push(d);
        }
        break;
      }
      case '--shard': {
        const m = /^(\d+)\/(\d+)$/.exec(value!);
        const [k, n] = m === null ? [NaN, NaN] : [Number(m[1]), Number(m[2])];
        if (!(n >= 1 && n <= 100_000 && k >= 1 && k <= n)) throw new ArgError(flag, `expected I/N with 1 <= I <= N <= 100000 (e.g. 2/8), got ${JSON.stringify(value)}`);
        o.shard = { index: k, count: n };
        break;
      }
      case '--merge': {
        const files = [value!, ...more(i)];
        i += files.length - 1;
        o.merge = files;
        break;
      }
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
      case '--per-vm':
        o.perVm = true;
        break;
      case '--help':
        o.help = true;
        break;
    }
  }
  if (o.merge !== undefined) {
    // The shards say what was run: only what shapes the output goes with --merge.
    for (const f of seen) if (!['--merge', '--json', '--out', '--report', '--quiet', '--help'].includes(f)) throw new ArgError(f, 'cannot be combined with --merge (the shards say what was run)');
    return o;
  }
  if (o.grid.length > 0) {
    o.sweep = true;
    // A dimension is set by the grid or by its flag, not both.
    const flagOf: Record<string, string> = { policy: '--policy', path: '--path', rate: '--rates', seed: '--seed', durationUs: '--duration', costProfile: '--cost-profile', record: '--record' };
    for (const d of o.grid) {
      const f = flagOf[d.key];
      if (f !== undefined && seen.has(f)) throw new ArgError('--grid', `${d.key}: also set by ${f} (give one)`);
    }
  }
  if (o.sweep && o.explain) throw new ArgError('--explain', 'cannot be combined with --sweep');
  if (o.sweep && o.trace !== undefined) throw new ArgError('--trace', 'cannot be combined with --sweep (trace one run instead)');
  for (const f of ['--rates', '--workers', '--out', '--shard'] as const) if (seen.has(f) && !o.sweep) throw new ArgError(f, 'only applies with --sweep (or --grid)');
  if (o.shard !== undefined && o.report !== undefined) throw new ArgError('--report', 'cannot be combined with --shard (--merge the shards with --report)');
  if (o.shard !== undefined && o.json) throw new ArgError('--json', 'cannot be combined with --shard (a shard is JSON lines already; --merge --json gives the sweep\'s)');
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
    'usage: npm start -- [--scenario NAME|FILE] [--path injected|direct|direct-v41|mixed|both] [--policy NAME] [--seed N]',
    '                    [--duration T] [--cost-profile NAME] [--record all|counters] [--json] [--trace FILE] [--report FILE]',
    '                    [--sweep [--rates F,...] [--workers N] [--out PREFIX]] [--explain] [--per-vm] [--quiet] [--help]',
    '       npm start -- [--sweep] --grid KEY=V,V,... [KEY=V,V,...] [--shard I/N] [sweep flags]',
    '       npm start -- --merge FILE... [--json] [--out PREFIX] [--report FILE]',
    '       npm start -- --micro [--cost-profile NAME] [--iterations N] [--samples N] [--seed N] [--markdown] [--json]',
    '                    (the micro-benchmarks per machine cost profile: npm start -- --micro --help, docs/micro.md)',
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
