import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import fc from 'fast-check';
import { bits, defineReg, defineReg64, hi32, lo32, toBig, toNum } from '../../core/bits.js';
import { ESR, ISS_DABT, ISS_SYS64, esrOf, EC } from '../../core/esr.js';
import { SPSR, spsrFor, PSR_DAIF } from '../../core/pstate.js';
import { HCR } from '../../core/hcr.js';
import { VTTBR, S2_DESC } from '../../core/stage2.js';
import { encodeMrsMsr, sysreg } from '../../core/sysreg.js';

const LR = defineReg64('ICH_LR-like', { vINTID: [31, 0], pINTID: [41, 32], Priority: [55, 48], Group: [60, 60], HW: [61, 61], State: [63, 62] });

test('a layout decodes what it encodes (property, 53-bit and wide)', (t) => {
  fc.assert(
    fc.property(
      fc.record({ vINTID: fc.nat({ max: 0xffffffff }), pINTID: fc.nat({ max: 1023 }), Priority: fc.nat({ max: 255 }), Group: fc.nat({ max: 1 }), HW: fc.nat({ max: 1 }), State: fc.nat({ max: 3 }) }),
      (f) => {
        const v = LR.encode(f);
        t.deepEqual(LR.decode(v), f);
        // Against an independent bigint computation of the same layout.
        const ref = BigInt(f.vINTID) | (BigInt(f.pINTID) << 32n) | (BigInt(f.Priority) << 48n) | (BigInt(f.Group) << 60n) | (BigInt(f.HW) << 61n) | (BigInt(f.State) << 62n);
        return v === ref;
      },
    ),
  );
});

test('set and get touch one field only', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat({ max: 255 }), (raw, prio) => {
        const v = LR.set(raw, 'Priority', prio);
        return LR.get(v, 'Priority') === prio && (v & ~(0xffn << 48n)) === (raw & ~(0xffn << 48n));
      }),
    ),
  );
});

test('narrow layouts travel as numbers, fields straddling bit 32 work', (t) => {
  const L = defineReg('straddle', { a: [39, 28], b: [3, 0] });
  const v = L.encode({ a: 0xabc, b: 5 });
  t.is(typeof v, 'number');
  t.is(v, 0xabc * 2 ** 28 + 5);
  t.is(bits(v, 39, 28), 0xabc);
  t.deepEqual(L.decode(v), { a: 0xabc, b: 5 });
});

test('declaring a field above bit 52 in a narrow layout, or overlapping fields, is refused', (t) => {
  t.throws(() => defineReg('bad', { x: [63, 62] }));
  t.throws(() => defineReg('bad', { x: [7, 0], y: [8, 7] }));
});

test('ESR: HVC #0x1234 from AArch64 is 0x5A001234; known layouts match Arm ARM DDI 0487 (ESR_EL2)', (t) => {
  t.is(esrOf(EC.HVC64, 0x1234), 0x5a001234);
  t.deepEqual(ESR.decode(0x5a001234), { EC: 0x16, IL: 1, ISS: 0x1234 });
  // Data abort: ISV [24], SAS [23:22], SRT [20:16], SF [15], WnR [6], DFSC [5:0].
  t.is(ISS_DABT.encode({ ISV: 1, SAS: 2, SRT: 3, WnR: 1, DFSC: 0x07 }), (1 << 24) | (2 << 22) | (3 << 16) | (1 << 6) | 7);
  // Sysreg trap ISS: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], Dir [0].
  t.is(ISS_SYS64.encode({ Op0: 3, Op2: 5, Op1: 0, CRn: 12, Rt: 2, CRm: 11, Direction: 0 }), (3 << 20) | (5 << 17) | (12 << 10) | (2 << 5) | (11 << 1));
  t.is(SPSR.get(spsrFor(1, PSR_DAIF), 'M'), 0b0101);
  t.is(HCR.encode({ IMO: 1, FMO: 1, VM: 1, RW: 1, E2H: 0 }), 2 ** 31 + 0x19);
  t.is(VTTBR.encode({ VMID: 5, BADDR: 0x1000 >> 1 }), (5n << 48n) | 0x1000n);
  t.is(S2_DESC.get(toBig(1n << 54n), 'XN'), 2);
});

test('MRS X0, ICC_IAR1_EL1 encodes as 0xD538CC00 (Arm ARM DDI 0487, MRS; IHI 0069, ICC_IAR1_EL1)', (t) => {
  t.is(encodeMrsMsr(sysreg('ICC_IAR1_EL1', 3, 0, 12, 12, 0), 0, true), 0xd538cc00);
});

test('word halves and conversions agree with bigint arithmetic modulo 2^64 (negative and over-wide values wrap)', (t) => {
  const words = fc.oneof(fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
  fc.assert(
    fc.property(words, (v) => {
      const u = BigInt.asUintN(64, v);
      t.is(hi32(v), Number(u >> 32n));
      t.is(lo32(v), Number(u & 0xffff_ffffn));
      t.is(toBig(v), u);
      t.is(toNum(v), Number(u & 0x1f_ffff_ffff_ffffn));
    }),
  );
  // Numbers: the same, for the values a 53-bit register holds.
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => {
      t.is(hi32(n), Number(BigInt(n) >> 32n));
      t.is(lo32(n), Number(BigInt(n) & 0xffff_ffffn));
      t.is(toBig(n), BigInt(n));
    }),
  );
});

test('encode is the sum of each field truncated to its width at its position, any values (property, against bigint arithmetic)', (t) => {
  // Fields at every kind of position: low half, straddling bit 32, high half, up to 53 bits wide, and a wide layout.
  const NARROW = defineReg('T', { A: [3, 0], B: [31, 4], C: [40, 32], D: [52, 41] });
  const STRADDLE = defineReg('S', { W: [52, 0] });
  const WIDE = defineReg64('U', { A: [7, 0], B: [45, 20], C: [63, 62] });
  const ref = (fields: readonly { name: string; lsb: number; width: number }[], vals: Record<string, number | undefined>): bigint => {
    let r = 0n;
    for (const f of fields) {
      const x = vals[f.name];
      if (x === undefined) continue;
      const v = x < 0 ? 0n : BigInt(Math.floor(x)) % (1n << BigInt(f.width));
      r |= v << BigInt(f.lsb);
    }
    return r;
  };
  const val = fc.oneof(fc.constant(undefined), fc.integer({ min: -5, max: 0xffffffff }), fc.maxSafeNat(), fc.double({ min: 0, max: 2 ** 40, noNaN: true }));
  const run = fc.check(
    fc.property(fc.record({ A: val, B: val, C: val, D: val, W: val }), (v) => {
      for (const l of [NARROW, STRADDLE, WIDE] as const) {
        const got = l.encode(v as never);
        if (BigInt(got) !== ref(l.fields, v)) return false;
        if (l.wide !== (typeof got === 'bigint')) return false;
      }
      return true;
    }),
  );
  t.false(run.failed, fc.defaultReportMessage(run) ?? 'property failed');
  t.true(run.numRuns > 0, `${run.numRuns} cases`);
});

test('where code generation from strings is forbidden, layouts encode and decode the same values (generic codecs)', (t) => {
  // The codecs are generated per layout with `new Function`; a host that forbids it gets the loops.
  const script = [
    "import { defineReg64 } from './core/bits.ts';",
    "const LR = defineReg64('ICH_LR-like', { vINTID: [31, 0], pINTID: [41, 32], Priority: [55, 48], Group: [60, 60], HW: [61, 61], State: [63, 62] });",
    'const v = LR.encode({ vINTID: 8224, pINTID: 27, Priority: 0xa0, Group: 1, HW: 1, State: 3 });',
    'console.log(JSON.stringify({ v: v.toString(16), d: LR.decode(v) }));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '--import=tsx', '--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
  const r = JSON.parse(out) as { v: string; d: Record<string, number> };
  const here = LR.encode({ vINTID: 8224, pINTID: 27, Priority: 0xa0, Group: 1, HW: 1, State: 3 });
  t.is(r.v, here.toString(16));
  t.deepEqual(r.d, LR.decode(here));
});
