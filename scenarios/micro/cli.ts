/**
 * `npm start -- --micro [--cost-profile NAME] [--iterations N] [--samples N] [--seed N]
 * [--markdown] [--json]`: the micro-benchmark table of each machine profile (or of the one
 * named), scenarios/micro/table.ts. Flags are checked before anything runs; a bad one exits
 * with status 2 and names it.
 */
import { COST_PROFILES, MACHINE_PROFILES } from '../../core/costs.js';
import { formatMicro, MICRO_DEFAULTS, microTable, type MicroOptions } from './table.js';

export interface MicroCliOptions extends MicroOptions {
  readonly profiles: readonly string[];
  readonly markdown: boolean;
  readonly json: boolean;
  readonly help: boolean;
}

export class MicroArgError extends Error {}

export const MICRO_HELP = `npm start -- --micro [--cost-profile NAME] [--iterations N] [--samples N] [--seed N] [--markdown] [--json]

The micro-benchmarks per machine cost profile (every machine profile unless --cost-profile names one):
the kvm-unit-tests arm/micro-bench set inside a VM (hvc, mmio_read_vgic, eoi, ipi, lpi, timer_10ms; mean ns
per iteration, whole-loop timing), the interrupt-latency test (bare metal, injected, direct; alone and with
memory interference), and the GICv4 figures (vcpu_load to entry, doorbell wake-up, vPE schedule with and
without VMOVP), each beside the published figure where one exists, with the relative error.

  --cost-profile NAME  one profile: ${COST_PROFILES.map((p) => p.name).join(', ')}
  --iterations N       kvm-unit-tests iterations, 1 to 65536 (default ${MICRO_DEFAULTS.iterations}; timer_10ms runs N/256)
  --samples N          interrupt-latency samples after 10 warm-ups, 1 to 10000 (default ${MICRO_DEFAULTS.samples})
  --seed N             seed (default ${MICRO_DEFAULTS.seed})
  --markdown           Markdown tables (the README's)
  --json               one JSON object: the rows of every profile
`;

function int(flag: string, v: string | undefined, min: number, max: number): number {
  const x = v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(Number.isInteger(x) && x >= min && x <= max)) throw new MicroArgError(`${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v ?? '')}`);
  return x;
}

export function parseMicroArgs(argv: readonly string[]): MicroCliOptions {
  let profiles: string[] = MACHINE_PROFILES.map((p) => p.name);
  let { iterations, samples, seed } = MICRO_DEFAULTS;
  let markdown = false;
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--micro':
        break;
      case '--cost-profile': {
        const v = argv[++i];
        if (v === undefined || !COST_PROFILES.some((p) => p.name === v)) throw new MicroArgError(`--cost-profile: expected one of ${COST_PROFILES.map((p) => p.name).join(', ')}, got ${JSON.stringify(v ?? '')}`);
        profiles = [v];
        break;
      }
      case '--iterations':
        iterations = int(a, argv[++i], 1, 65536);
        break;
      case '--samples':
        samples = int(a, argv[++i], 1, 10000);
        break;
      case '--seed':
        seed = int(a, argv[++i], 0, 4294967295);
        break;
      case '--markdown':
        markdown = true;
        break;
      case '--json':
        json = true;
        break;
      case '--help':
        help = true;
        break;
      default:
        throw new MicroArgError(`${a}: not a flag of --micro (${MICRO_HELP.split('\n')[0]})`);
    }
  }
  return { profiles, iterations, samples, seed, markdown, json, help };
}

export function microMain(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  let o: MicroCliOptions;
  try {
    o = parseMicroArgs(argv);
  } catch (e) {
    if (e instanceof MicroArgError) {
      err(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    out(MICRO_HELP);
    return 0;
  }
  const all: Record<string, unknown> = {};
  o.profiles.forEach((name, i) => {
    const rows = microTable(name, o);
    if (o.json) all[name] = rows;
    else out(`${i > 0 ? '\n' : ''}${formatMicro(name, rows, o.markdown)}`);
  });
  if (o.json) out(`${JSON.stringify({ options: { iterations: o.iterations, samples: o.samples, seed: o.seed }, profiles: all })}\n`);
  return 0;
}
