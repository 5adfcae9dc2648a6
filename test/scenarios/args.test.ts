/** CLI arguments: parsed into typed options; bad flags and values name the flag. */
import test from 'ava';
import { COST_PROFILES } from '../../core/costs.js';
import { POLICIES } from '../../hypervisor/sched/policies.js';
import { ArgError, helpText, parseArgs } from '../../scenarios/args.js';
import { SCENARIOS } from '../../scenarios/named.js';

test('no arguments: the default comparison on both paths', (t) => {
  const o = parseArgs([]);
  t.is(o.scenario, undefined);
  t.is(o.path, 'both');
  t.false(o.json || o.sweep || o.explain || o.help);
});

test('every flag, with separate and = values', (t) => {
  const o = parseArgs(['--scenario', 'idle-heavy', '--path=direct', '--policy', 'pinned', '--seed', '7', '--duration', '2ms', '--cost-profile', 'cheap-traps', '--json', '--trace', 't.json', '--report=r.html']);
  t.like(o, { scenario: 'idle-heavy', path: 'direct', policy: 'pinned', seed: 7, durationUs: 2000, costProfile: 'cheap-traps', json: true, trace: 't.json', report: 'r.html' });
  t.like(parseArgs(['--sweep', '--rates', '0.5,1,4', '--workers', '3', '--out', 'x']), { sweep: true, rates: [0.5, 1, 4], workers: 3, out: 'x' });
  t.is(parseArgs(['--duration', '250']).durationUs, 250);
  t.is(parseArgs(['--duration', '0.01s']).durationUs, 10_000);
  t.is(parseArgs(['--duration', '40us']).durationUs, 40);
  t.true(parseArgs(['--explain']).explain);
  t.is(parseArgs(['--record', 'counters']).record, 'counters');
  t.is(parseArgs([]).record, undefined);
});

const bad: [string[], string, RegExp][] = [
  [['--colour', 'blue'], '--colour', /unknown flag/],
  [['--path', 'sideways'], '--path', /expected one of injected, direct, direct-v41, mixed, both, got "sideways"/],
  [['--policy', 'lottery'], '--policy', /expected one of round-robin/],
  [['--seed', '-1'], '--seed', /expected an integer from 0 to 4294967295/],
  [['--seed', '1.5'], '--seed', /expected an integer/],
  [['--seed'], '--seed', /expected a value/],
  [['--seed', '--json'], '--seed', /expected a value/],
  [['--duration', 'long'], '--duration', /expected a duration/],
  [['--duration', '0'], '--duration', /from 1 us/],
  [['--cost-profile', 'free'], '--cost-profile', /expected one of default/],
  [['--record', 'some'], '--record', /expected one of all, counters, got "some"/],
  [['--json=yes'], '--json', /takes no value/],
  [['--json', '--json'], '--json', /given twice/],
  [['default'], 'default', /unexpected argument/],
  [['--rates', '1,x'], '--rates', /comma-separated factors/],
  [['--rates', '1'], '--rates', /only applies with --sweep/],
  [['--sweep', '--workers', '0'], '--workers', /expected an integer from 1/],
  [['--sweep', '--trace', 't.json'], '--trace', /cannot be combined with --sweep/],
  [['--sweep', '--explain'], '--explain', /cannot be combined with --sweep/],
];

for (const [argv, flag, message] of bad) {
  test(`bad: ${argv.join(' ')} names ${flag}`, (t) => {
    const e = t.throws(() => parseArgs(argv), { instanceOf: ArgError });
    t.is(e!.flag, flag);
    t.true(e!.message.startsWith(`${flag}: `), e!.message);
    t.regex(e!.message, message);
  });
}

test('--help lists every scenario, policy and cost profile, one line each', (t) => {
  const lines = helpText().split('\n');
  const section = (title: string): string[] => {
    const i = lines.indexOf(title);
    t.true(i >= 0, title);
    const out: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j] !== ''; j++) out.push(lines[j]!);
    return out;
  };
  const check = (title: string, items: readonly { name: string; summary: string }[]): void => {
    const got = section(title);
    t.is(got.length, items.length, title);
    items.forEach((x, i) => t.regex(got[i]!, new RegExp(`^  ${x.name} +${x.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)));
  };
  check('Scenarios:', SCENARIOS);
  check('Policies:', POLICIES);
  check('Cost profiles:', COST_PROFILES);
  for (const f of ['--scenario', '--path', '--policy', '--seed', '--duration', '--json', '--trace', '--report', '--sweep', '--explain', '--help']) t.true(lines.some((l) => l.startsWith(`  ${f}`)), f);
});
