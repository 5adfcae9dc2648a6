/**
 * The micro-benchmarks at a small iteration count: the table is the same for the same seed, and
 * its figures stand in the relations the architecture and the hypervisor's paths imply (an
 * untrapped EOI far below a trapped HVC; the direct path below the injected one; memory
 * interference slowing the trapped path more than bare metal on the shared-L2 machine; a
 * VMOVP adding to a residency change; KVM's per-exit bookkeeping showing in every exit).
 */
import test from 'ava';
import { costProfile } from '../../core/costs.js';
import { parseMicroArgs, MicroArgError } from '../../scenarios/micro/cli.js';
import { irqLatency } from '../../scenarios/micro/irq-latency.js';
import { runKut } from '../../scenarios/micro/kvm-unit-tests.js';
import { microTable, formatMicro } from '../../scenarios/micro/table.js';
import { main } from '../../scenarios/cli.js';

const SMALL = { iterations: 16, samples: 3, seed: 3 };

test('the micro-benchmark table is deterministic for a seed and holds the expected relations (a53-thin)', (t) => {
  const a = microTable('a53-thin', SMALL);
  const b = microTable('a53-thin', SMALL);
  t.deepEqual(a, b);
  const ns = (f: string): number => a.find((r) => r.figure === f)!.ns;
  for (const r of a) t.true(Number.isFinite(r.ns) && r.ns > 0, r.figure);
  t.true(ns('eoi') * 4 < ns('hvc'), 'an untrapped EOI is far below a trapped HVC');
  t.true(ns('hvc') < ns('mmio_read_vgic'), 'an emulated MMIO read costs a decode on top of the trap');
  t.true(ns('ipi') > ns('hvc'), 'an IPI is a trap plus the receiver being kicked');
  t.true(ns('irqlat_direct') < ns('irqlat_injected'), 'direct injection skips the EL2 round trip');
  t.true(ns('irqlat_bare') < ns('irqlat_injected'));
  // Interference reaches the trapped path through its EL2 refills: it adds more to it than to bare metal.
  t.true(ns('irqlat_injected+interf') - ns('irqlat_injected') > ns('irqlat_bare+interf') - ns('irqlat_bare'));
  t.true(ns('vpe_schedule_vmovp') > ns('vpe_schedule'), 'a VMOVP adds to a residency change');
  t.true(ns('doorbell_wakeup') > ns('irqlat_direct'), 'waking a blocked vCPU costs more than a resident vPE');
  const text = formatMicro('a53-thin', a);
  t.regex(text, /^hvc\s+\d/m);
});

test('the published figures sit beside the model figures, with the source and relative error; a cost-setting figure is not compared', (t) => {
  const rows = microTable('kunpeng920-kvm', SMALL);
  const text = formatMicro('kunpeng920-kvm', rows);
  const hvc = rows.find((r) => r.figure === 'hvc')!;
  t.is(hvc.published[0]!.ns, 407);
  const err = Math.round(((hvc.ns - 407) / 407) * 100);
  t.regex(text, new RegExp(`^hvc\\s+\\d+\\s+407 \\[1\\]\\s+${err >= 0 ? '\\+' : '-'}${Math.abs(err)}%`, 'm'));
  t.regex(text, /^eoi .*set a cost/m);
  t.regex(text, /^vcpu_load_to_entry\s+[\d,]+\s+2,550 \[\d\]/m);
  t.regex(text, /heqiong, kvm list/);
});

test("KVM's per-exit bookkeeping shows in each trapped figure, and only there", (t) => {
  const p = costProfile('n1-altra-kvm')!;
  const clock = p.machine!.clockMHz * 1e6;
  const kvm = runKut('n1-altra-kvm', { iterations: 16, timerIterations: 1, tests: ['hvc', 'eoi'] });
  const thin = runKut('n1-altra-kvm', { iterations: 16, timerIterations: 1, tests: ['hvc', 'eoi'], bookkeeping: { ...p.bookkeeping!, exit: 0 } });
  const d = (f: string): number => kvm.find((x) => x.test === f)!.ns - thin.find((x) => x.test === f)!.ns;
  // One exit per HVC: the difference is the exit bookkeeping, to within a counter tick per iteration.
  t.true(Math.abs(d('hvc') - (p.bookkeeping!.exit / clock) * 1e9) < 2, `hvc differs by ${d('hvc')} ns`);
  t.true(Math.abs(d('eoi')) < 1, 'the EOI does not exit');
});

test('the direct path has the lower interrupt latency on every machine profile', (t) => {
  for (const p of ['a53-thin', 'n1-altra-kvm', 'kunpeng920-kvm']) {
    t.true(irqLatency(p, 'direct', false, { samples: 3 }) < irqLatency(p, 'injected', false, { samples: 3 }), p);
  }
});

test('--micro flags are checked: a bad one is named', (t) => {
  t.deepEqual(parseMicroArgs(['--micro', '--cost-profile', 'a53-thin', '--iterations', '64']).profiles, ['a53-thin']);
  t.is(parseMicroArgs(['--micro']).profiles.length, 3);
  t.throws(() => parseMicroArgs(['--micro', '--iterations', '0']), { instanceOf: MicroArgError, message: /--iterations/ });
  t.throws(() => parseMicroArgs(['--micro', '--cost-profile', 'x']), { instanceOf: MicroArgError, message: /--cost-profile/ });
  t.throws(() => parseMicroArgs(['--micro', '--frobnicate']), { instanceOf: MicroArgError, message: /--frobnicate/ });
});

test('npm start -- --micro: exit status 2 naming a bad flag; a run prints the table of the profile asked for', async (t) => {
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
    return { code, out: out.join(''), err: err.join('') };
  };
  const bad = await run(['--micro', '--iterations', 'many']);
  t.is(bad.code, 2);
  t.regex(bad.err, /--iterations/);
  const unknown = await run(['--micro', '--cost-profile', 'z80']);
  t.is(unknown.code, 2);
  t.regex(unknown.err, /--cost-profile/);
  const ok = await run(['--micro', '--cost-profile', 'n1-altra-kvm', '--iterations', '16', '--samples', '2', '--markdown']);
  t.is(ok.code, 0);
  t.regex(ok.out, /^\| hvc \| \d+(\.\d)? \| 306 \[1\] \| [+-]\d+% \|/m);
  t.notRegex(ok.out, /a53-thin/);
});

test('timer_10ms measures expiry to handler: the hypervisor ticks during the 10 ms wait do not add to it', (t) => {
  const p = costProfile('n1-altra-kvm')!;
  const fig = (schedule: number): number =>
    runKut('n1-altra-kvm', { iterations: 1, timerIterations: 2, tests: ['timer_10ms'], bookkeeping: { ...p.bookkeeping!, schedule } })[0]!.ns;
  // Ten slice-end exits per 10 ms: each costs 33 us more at EL2 with the second figure.
  const cheap = fig(p.bookkeeping!.schedule);
  const dear = fig(100_000);
  t.true(Math.abs(dear - cheap) < 50, `${cheap} vs ${dear} ns`);
  t.true(cheap < 2000, `${cheap} ns`);
});
