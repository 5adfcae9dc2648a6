/**
 * The ICH_* codecs round-trip and match values computed by hand from the IHI 0069 ICH_*_EL2
 * register descriptions.
 */
import test from 'ava';
import fc from 'fast-check';
import { IchReg } from '../../gic/ports.js';
import { vgicRig } from '../helpers/vgic-rig.js';
import { decodeLr, encodeLr, ICH_HCR, ICH_LR_HW, ICH_LR_SW, ICH_MISR, ICH_VMCR, ICH_VTR, LrState } from '../../gic/ich-registers.js';
import { ICC_CTLR } from '../../gic/gic-registers.js';

const bitsOf = (width: number): fc.Arbitrary<number> => fc.nat({ max: 2 ** width - 1 });

test('every 32-bit ICH layout decodes what it encodes (property)', (t) => {
  for (const layout of [ICH_HCR, ICH_VTR, ICH_VMCR, ICH_MISR, ICC_CTLR]) {
    const rec: Record<string, fc.Arbitrary<number>> = {};
    for (const f of layout.fields) rec[f.name] = bitsOf(f.width);
    t.notThrows(() =>
      fc.assert(
        fc.property(fc.record(rec), (f) => {
          const v = layout.encode(f);
          const d: Record<string, number> = layout.decode(v);
          return typeof v === 'number' && v >= 0 && v < 2 ** 32 && Object.entries(f).every(([k, x]) => d[k] === x) && layout.encode(d) === v;
        }),
      ),
      layout.name,
    );
  }
});

test('ICH_LR<n>_EL2: encodeLr/decodeLr round-trip for both HW forms and agree with an independent bigint layout (property)', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.record({ vINTID: fc.nat({ max: 0xffffffff }), pINTID: bitsOf(10), EOI: bitsOf(1), Priority: bitsOf(8), Group: bitsOf(1), HW: bitsOf(1), State: bitsOf(2) }),
        (f) => {
          const v = encodeLr(f);
          const want = { ...f, pINTID: f.HW === 1 ? f.pINTID : 0, EOI: f.HW === 1 ? 0 : f.EOI };
          const ref =
            BigInt(f.vINTID) |
            (f.HW === 1 ? BigInt(f.pINTID) << 32n : BigInt(f.EOI) << 41n) |
            (BigInt(f.Priority) << 48n) |
            (BigInt(f.Group) << 60n) |
            (BigInt(f.HW) << 61n) |
            (BigInt(f.State) << 62n);
          const d = decodeLr(v);
          return v === ref && (Object.keys(want) as (keyof typeof want)[]).every((k) => d[k] === want[k]) && encodeLr(d) === v;
        },
      ),
    ),
  );
});

test('ICH_LR<n>_EL2 known values (IHI 0069: State [63:62], HW [61], Group [60], Priority [55:48], pINTID [41:32] of [44:32] / EOI [41], vINTID [31:0])', (t) => {
  // Pending, Group 1, priority 0xA0, vINTID 27: the shape KVM writes for an edge interrupt.
  t.is(encodeLr({ vINTID: 27, Priority: 0xa0, Group: 1, State: LrState.Pending }), 0x50a0_0000_0000_001bn);
  // The same, HW-linked to physical PPI 27 (the virtual timer).
  t.is(encodeLr({ vINTID: 27, pINTID: 27, HW: 1, Priority: 0xa0, Group: 1, State: LrState.Pending }), 0x70a0_001b_0000_001bn);
  // HW = 0 with an EOI maintenance request: bit 41.
  t.is(encodeLr({ vINTID: 33, EOI: 1, Priority: 0x80, Group: 1, State: LrState.Pending }), 0x5080_0200_0000_0021n);
  // Active, Group 0.
  t.is(encodeLr({ vINTID: 8192, Priority: 0, Group: 0, State: LrState.Active }), 0x8000_0000_0000_2000n);
  t.deepEqual(decodeLr(0xf0f8_03ff_0000_ffffn), { vINTID: 0xffff, pINTID: 0x3ff, EOI: 0, Priority: 0xf8, Group: 1, HW: 1, State: 3 });
  t.deepEqual(decodeLr(0xd0f8_0200_0000_ffffn), { vINTID: 0xffff, pINTID: 0, EOI: 1, Priority: 0xf8, Group: 1, HW: 0, State: 3 });
  t.is(ICH_LR_HW.field('pINTID').lsb, 32);
  t.is(ICH_LR_SW.field('EOI').lsb, 41);
});

test('ICH_HCR/VTR/VMCR/MISR known values (IHI 0069)', (t) => {
  t.is(ICH_HCR.encode({ En: 1, UIE: 1, LRENPIE: 1, NPIE: 1 }), 0xf);
  t.is(ICH_HCR.encode({ TC: 1, TALL0: 1, TALL1: 1, TDIR: 1 }), (1 << 10) | (1 << 11) | (1 << 12) | (1 << 14));
  t.is(ICH_HCR.encode({ EOIcount: 31 }), 0xf800_0000);
  t.is(ICH_HCR.encode({ VGrp0EIE: 1, VGrp0DIE: 1, VGrp1EIE: 1, VGrp1DIE: 1 }), 0xf0);
  // Cortex-A76 TRM ICH_VTR_EL2: PRIbits 4, PREbits 4, IDbits 0, SEIS 0, A3V 1, nV4 0, TDS 1, ListRegs 3.
  t.is(ICH_VTR.encode({ PRIbits: 4, PREbits: 4, IDbits: 0, A3V: 1, TDS: 1, ListRegs: 3 }), 0x9028_0003);
  t.is(ICH_VTR.encode({ nV4: 1 }), 1 << 20);
  // VMCR: VPMR [31:24], VBPR0 [23:21], VBPR1 [20:18], VEOIM [9], VCBPR [4], VFIQEn [3], VENG1 [1], VENG0 [0].
  t.is(ICH_VMCR.encode({ VPMR: 0xf0, VBPR0: 2, VBPR1: 3, VEOIM: 1, VCBPR: 1, VFIQEn: 1, VENG1: 1, VENG0: 1 }), 0xf000_0000 + (2 << 21) + (3 << 18) + 0x200 + 0x10 + 0x8 + 0x3);
  t.is(ICH_MISR.encode({ EOI: 1, U: 1, LRENP: 1, NP: 1, VGrp0E: 1, VGrp0D: 1, VGrp1E: 1, VGrp1D: 1 }), 0xff);
  t.is(ICH_MISR.encode({ NP: 1 }), 8);
  // ICV_CTLR_EL1: CBPR [0], EOImode [1], PRIbits [10:8], IDbits [13:11], SEIS [14], A3V [15].
  t.is(ICC_CTLR.encode({ CBPR: 1, EOImode: 1, PRIbits: 4, IDbits: 1, A3V: 1 }), 0x3 + 0x400 + 0x800 + 0x8000);
});

test('an ICH_LR<n>_EL2 write reads back with exactly the RES0 bits cleared (property, through the virtual CPU interface)', (t) => {
  const rig = vgicRig({ el2: function* () {} });
  const v = rig.virt[0]!;
  const pe = rig.m.pes[0]!;
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat({ max: 3 }), (raw, n) => {
        v.writeIch(IchReg.LR, n, pe, raw);
        const hw = (raw >> 61n) & 1n;
        // Kept: State, HW, Group, Priority [55:51] (5 bits), pINTID [41:32] or EOI [41], vINTID [15:0].
        const keep = (3n << 62n) | (1n << 61n) | (1n << 60n) | (0xf8n << 48n) | (hw === 1n ? 0x3ffn << 32n : 1n << 41n) | 0xffffn;
        return v.readIch(IchReg.LR, n, pe) === (raw & keep);
      }),
    ),
  );
});
