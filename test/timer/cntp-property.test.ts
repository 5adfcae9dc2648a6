/**
 * Property: whatever sequence of CNTP_CTL_EL0, CNTP_CVAL_EL0 and CNTP_TVAL_EL0 writes a guest
 * makes (any 64-bit values: reserved CTL bits, TVAL's ignored upper half, CVALs past, ahead and
 * beyond the model's 53 bits), what it reads back from the emulated timer in a VM is what the
 * same code reads from the hardware timer on bare metal, and both are what the Arm ARM (DDI 0487)
 * says: CTL holds ENABLE and IMASK, ISTATUS = ENABLE && CNTPCT >= CVAL, CVAL as written (a TVAL
 * write: the counter at the write plus SignExtend(TVAL[31:0])), TVAL = (CVAL - CNTPCT)[31:0]; and
 * at the end, with IRQs masked all along, PPI 30 is pending (ICC_HPPIR1_EL1 names it) exactly
 * when the timer's output is high. The CVALs stay far from the counter, so timing does not matter.
 */
import test from 'ava';
import fc from 'fast-check';
import { lo32, toNum } from '../../core/bits.js';
import { daifset, DAIF_I, mrs, msr, work, type Program } from '../../core/ops.js';
import { CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTP_TVAL_EL0, CNTPCT_EL0, cvalFromTval, CTL_ENABLE, CTL_IMASK, CTL_ISTATUS } from '../../core/timer.js';
import { ICC_HPPIR1_EL1 } from '../../gic/sysregs.js';
import { Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { bootGuests, buildPlatform } from '../../scenarios/platform.js';
import { bareMetal } from './timer-rig.js';

type Op =
  | { readonly kind: 'ctl'; readonly value: bigint }
  | { readonly kind: 'cval-past'; readonly at: number }
  | { readonly kind: 'cval-ahead'; readonly by: number }
  | { readonly kind: 'cval-huge'; readonly value: bigint }
  | { readonly kind: 'tval'; readonly value: bigint };

/** What the guest read after one write, and the counter around the write and the reads. */
interface Seen {
  readonly wb: number;
  readonly wa: number;
  readonly written: number;
  readonly tb: number;
  readonly ta: number;
  readonly ctl: number;
  readonly cval: number;
  readonly tval: number;
}

const START = 20_000; // counter ticks; 'cval-past' values lie below it

class RegsKernel extends Kernel {
  readonly seen: Seen[] = [];
  hppir = -1;
  done = false;
}

function regsKernel(cfg: KernelConfig, ops: readonly Op[]): RegsKernel {
  const k = new RegsKernel({ ...cfg, ppis: [30] });
  k.main = function* (cpu: KernelCpu): Program {
    if (cpu.index !== 0) return;
    yield daifset(DAIF_I);
    while (((yield mrs(CNTPCT_EL0, 1)) as number) < START) yield work(1_000);
    for (const op of ops) {
      const wb: number = yield mrs(CNTPCT_EL0, 1);
      let written = 0;
      switch (op.kind) {
        case 'ctl':
          yield msr(CNTP_CTL_EL0, op.value, 2);
          break;
        case 'cval-past':
          written = op.at;
          yield msr(CNTP_CVAL_EL0, written, 2);
          break;
        case 'cval-ahead':
          written = wb + op.by;
          yield msr(CNTP_CVAL_EL0, written, 2);
          break;
        case 'cval-huge':
          yield msr(CNTP_CVAL_EL0, op.value, 2);
          break;
        case 'tval':
          yield msr(CNTP_TVAL_EL0, op.value, 2);
          break;
      }
      const wa: number = yield mrs(CNTPCT_EL0, 1);
      const ctl: number = yield mrs(CNTP_CTL_EL0, 3);
      const cval: number = yield mrs(CNTP_CVAL_EL0, 4);
      const tval: number = yield mrs(CNTP_TVAL_EL0, 5);
      const ta: number = yield mrs(CNTPCT_EL0, 1);
      k.seen.push({ wb, wa, written, tb: wa, ta, ctl, cval, tval });
    }
    // Let a level reach the CPU interface, then ask it what is pending (IRQs still masked).
    yield work(4_000);
    k.hppir = (yield mrs(ICC_HPPIR1_EL1, 6)) as number;
    k.done = true;
  };
  return k;
}

/** Checks one run against the architecture; returns what is wrong (empty: nothing). */
function check(ops: readonly Op[], k: RegsKernel): string[] {
  const bad: string[] = [];
  if (!k.done || k.seen.length !== ops.length) return [`ran ${k.seen.length} of ${ops.length} writes`];
  let ctl = 0;
  let cval = 0;
  ops.forEach((op, i) => {
    const s = k.seen[i]!;
    const where = `write ${i} (${op.kind})`;
    switch (op.kind) {
      case 'ctl':
        ctl = lo32(op.value) & (CTL_ENABLE | CTL_IMASK);
        break;
      case 'cval-past':
      case 'cval-ahead':
        cval = s.written;
        break;
      case 'cval-huge':
        cval = toNum(op.value);
        break;
      case 'tval': {
        const lo = cvalFromTval(s.wb, lo32(op.value));
        const hi = cvalFromTval(s.wa, lo32(op.value));
        if (s.cval < Math.min(lo, hi) || s.cval > Math.max(lo, hi)) bad.push(`${where}: CVAL reads ${s.cval}, not the counter at the write plus TVAL (${lo}..${hi})`);
        cval = s.cval;
        break;
      }
    }
    if (s.cval !== cval) bad.push(`${where}: CVAL reads ${s.cval}, ${cval} was written`);
    if ((s.ctl & ~(CTL_ENABLE | CTL_IMASK | CTL_ISTATUS)) !== 0 || (s.ctl & (CTL_ENABLE | CTL_IMASK)) !== ctl) bad.push(`${where}: CTL reads ${s.ctl}, ENABLE|IMASK ${ctl} written`);
    const istatus = (ctl & CTL_ENABLE) !== 0 && s.tb >= cval;
    if (((s.ctl & CTL_ISTATUS) !== 0) !== istatus) bad.push(`${where}: ISTATUS ${s.ctl & CTL_ISTATUS} with CVAL ${cval} and the counter at ${s.tb}`);
    // (CVAL - CNTPCT)[31:0] for a counter value read between tb and ta (UNKNOWN while disabled).
    if ((ctl & CTL_ENABLE) !== 0) {
      const at = (((cval - s.tval - s.tb) % 2 ** 32) + 2 ** 32) % 2 ** 32;
      if (s.tval < 0 || s.tval >= 2 ** 32 || at > s.ta - s.tb) bad.push(`${where}: TVAL reads ${s.tval} with CVAL ${cval}, counter ${s.tb}..${s.ta}`);
    }
  });
  const last = k.seen[k.seen.length - 1]!;
  const line = (ctl & (CTL_ENABLE | CTL_IMASK)) === CTL_ENABLE && last.ta >= cval;
  if (((k.hppir & 0xffffff) === 30) !== line) bad.push(`ICC_HPPIR1_EL1 reads ${k.hppir & 0xffffff} with the output ${line ? 'high' : 'low'}`);
  return bad;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('ctl' as const), value: fc.oneof(fc.bigInt({ min: 0n, max: 3n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })) }),
  fc.record({ kind: fc.constant('cval-past' as const), at: fc.integer({ min: 0, max: START / 2 }) }),
  fc.record({ kind: fc.constant('cval-ahead' as const), by: fc.integer({ min: 1_000_000, max: 2 ** 40 }) }),
  fc.record({ kind: fc.constant('cval-huge' as const), value: fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }) }),
  fc.record({
    kind: fc.constant('tval' as const),
    value: fc
      .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.oneof(fc.integer({ min: 1_000_000, max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: -1_000_000 })))
      .map(([hi, tv]) => (BigInt(hi) << 32n) | BigInt(tv >>> 0)),
  }),
);

test('CNTP_* in a VM (emulated) read as on bare metal (the hardware timer) and as the Arm ARM says, for any sequence of writes', (t) => {
  const run = fc.check(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 10 }), fc.constantFrom('list-register' as const, 'direct' as const), (ops, injection) => {
      const bare = bareMetal(1, (c) => regsKernel(c, ops));
      bare.m.runFor(1_000_000);
      const p = buildPlatform({ cores: 1, vms: [{ name: 'vm', vcpus: 1, injection, kernel: (c) => regsKernel(c, ops) }] });
      bootGuests(p);
      p.m.runFor(1_000_000);
      const vm = p.kernels[0] as RegsKernel;
      const wrong = [...check(ops, bare.k).map((x) => `bare metal: ${x}`), ...check(ops, vm).map((x) => `${injection}: ${x}`)];
      // The parts that do not depend on timing are the same bit for bit.
      const project = (k: RegsKernel) => k.seen.map((s, i) => [s.ctl, ops[i]!.kind === 'cval-past' || ops[i]!.kind === 'cval-huge' ? s.cval : 0]);
      if (JSON.stringify(project(bare.k)) !== JSON.stringify(project(vm))) wrong.push('CTL or CVAL differ between bare metal and the VM');
      if (wrong.length > 0) throw new Error(wrong.join('\n'));
    }),
    { numRuns: 40, seed: 13, includeErrorInReport: true },
  );
  // Every generated case held (fc.check reports the shrunk counterexample otherwise).
  t.false(run.failed, fc.defaultReportMessage(run) ?? 'property failed');
  t.true(run.numRuns > 0, `${run.numRuns} cases`);
});
