/**
 * ICH_MISR_EL2, ICH_EISR_EL2, ICH_ELRSR_EL2, EOIcount and the maintenance interrupt (PPI 25)
 * as a level derived from them (IHI 0069: ICH_MISR_EL2, ICH_EISR_EL2, ICH_ELRSR_EL2,
 * ICH_HCR_EL2, ICV_EOIR1_EL1, ICV_DIR_EL1).
 */
import test from 'ava';
import { hvc, mrs, msr, work, type Program } from '../../core/ops.js';
import { LINE_VIRQ } from '../../core/pe.js';
import { ICH_HCR, ICH_MISR, ICH_VMCR, LrState } from '../../gic/ich-registers.js';
import { ICC_AP1R_EL1, ICC_DIR_EL1, ICC_EOIR1_EL1, ICC_IGRPEN1_EL1, ICH_EISR_EL2, ICH_ELRSR_EL2, ICH_HCR_EL2, ICH_LR_EL2, ICH_MISR_EL2, ICH_VMCR_EL2 } from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { ackHandler, enterGuest, lr, vgicRig } from '../helpers/vgic-rig.js';

const VMCR_G1 = ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: 3 });
const VMCR_G1_EOIM = ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: 3, VEOIM: 1 });
const hcr = (f: Parameters<typeof ICH_HCR.encode>[0]): number => ICH_HCR.encode({ En: 1, ...f });

interface Snap {
  misr: number;
  eisr: number;
  elrsr: number;
  ppi25: boolean;
}

test('EOI = 1 with HW = 0: the guest EOI sets the EISR bit and PPI 25 goes high and stays high until EL2 rewrites the LR', (t) => {
  const log: (string | number)[] = [];
  const snaps: Snap[] = [];
  const rig = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 33, priority: 0xa0, eoi: true }));
      yield msr(ICH_LR_EL2[1]!, lr({ vintid: 34, priority: 0xb0 }));
      yield msr(ICH_HCR_EL2, hcr({}));
      yield* enterGuest();
    },
    guestVectors: { curSpx: { irq: ackHandler(log) } },
    guest: function* () {
      yield work(1000);
      yield hvc(1);
      yield work(5000);
      yield hvc(1);
      yield hvc(2); // EL2 reuses LR0
      yield* cpuOff();
    },
    hvc: function* (imm: number): Program {
      if (imm === 2) yield msr(ICH_LR_EL2[0]!, 0n, 3);
      snaps.push({ misr: yield mrs(ICH_MISR_EL2, 3), eisr: yield mrs(ICH_EISR_EL2, 3), elrsr: yield mrs(ICH_ELRSR_EL2, 3), ppi25: rig.phys.level(0, 25) });
    },
  });
  rig.m.run(1e6);
  t.deepEqual(log, [33, 34]);
  const eoiOnly = ICH_MISR.encode({ EOI: 1 });
  // LR0 is Invalid but not reusable (EOI pending); LR1-3 are empty.
  t.deepEqual(snaps[0], { misr: eoiOnly, eisr: 0b0001, elrsr: 0b1110, ppi25: true });
  t.deepEqual(snaps[1], { misr: eoiOnly, eisr: 0b0001, elrsr: 0b1110, ppi25: true }); // still high 5000 cycles later
  t.deepEqual(snaps[2], { misr: 0, eisr: 0, elrsr: 0b1111, ppi25: false });
  t.deepEqual(rig.phys.levels(0, 25), [true, false]); // one rising and one falling edge: a level, not pulses
  const tr = rig.m.trace.of('ich-maintenance');
  t.deepEqual(tr.map((r) => [r.level, r.misr]), [[true, eoiOnly], [false, 0]]);
});

test('ICH_HCR_EL2.En gates the maintenance interrupt and vIRQ; ICH_MISR_EL2 still reports the conditions', (t) => {
  const snaps: { misr: number; ppi25: boolean; virq: boolean }[] = [];
  const rig = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 40, priority: 0xa0 }));
      yield msr(ICH_HCR_EL2, ICH_HCR.encode({ En: 0, UIE: 1 }));
      snaps.push({ misr: yield mrs(ICH_MISR_EL2, 3), ppi25: rig.phys.level(0, 25), virq: (rig.m.pes[0]!.lines & LINE_VIRQ) !== 0 });
      yield msr(ICH_HCR_EL2, ICH_HCR.encode({ En: 1, UIE: 1 }));
      snaps.push({ misr: yield mrs(ICH_MISR_EL2, 3), ppi25: rig.phys.level(0, 25), virq: (rig.m.pes[0]!.lines & LINE_VIRQ) !== 0 });
      yield* cpuOff();
    },
  });
  rig.m.run(1e6);
  const u = ICH_MISR.encode({ U: 1 });
  t.deepEqual(snaps, [
    { misr: u, ppi25: false, virq: false },
    { misr: u, ppi25: true, virq: true },
  ]);
});

test('UIE: underflow is asserted while at most one LR holds a valid interrupt', (t) => {
  const log: (string | number)[] = [];
  const misrs: number[] = [];
  const rig = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_HCR_EL2, hcr({ UIE: 1 }));
      misrs.push(yield mrs(ICH_MISR_EL2, 3)); // 0 valid LRs
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 40, priority: 0xa0 }));
      misrs.push(yield mrs(ICH_MISR_EL2, 3)); // 1 valid
      yield msr(ICH_LR_EL2[1]!, lr({ vintid: 41, priority: 0xb0 }));
      yield msr(ICH_LR_EL2[2]!, lr({ vintid: 42, priority: 0xc0 }));
      misrs.push(yield mrs(ICH_MISR_EL2, 3)); // 3 valid
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          body: function* (): Program {
            yield hvc(1);
          },
        }),
      },
    },
    guest: function* () {
      yield work(2000);
      yield* cpuOff();
    },
    hvc: function* () {
      misrs.push(yield mrs(ICH_MISR_EL2, 3)); // inside each handler, before its EOI
    },
  });
  rig.m.run(1e6);
  t.deepEqual(log, [40, 41, 42]);
  const U = ICH_MISR.encode({ U: 1 });
  // Valid (State != 00) LRs at each point: 0, 1, 3, then 3 (40 active), 2 (41 active), 1 (42 active).
  t.deepEqual(misrs, [U, U, 0, 0, 0, U]);
  t.deepEqual(rig.phys.levels(0, 25), [true, false, true]);
});

test('NPIE: no-pending is asserted when no LR is in the Pending state (Active+Pending does not count as pending)', (t) => {
  const log: (string | number)[] = [];
  const misrs: number[] = [];
  const rig = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_HCR_EL2, hcr({ NPIE: 1 }));
      yield msr(ICH_LR_EL2[1]!, lr({ vintid: 41, priority: 0x90, state: LrState.PendingActive }));
      misrs.push(yield mrs(ICH_MISR_EL2, 3));
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 40, priority: 0xa0 }));
      misrs.push(yield mrs(ICH_MISR_EL2, 3));
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          body: function* (): Program {
            yield hvc(1);
          },
        }),
      },
    },
    guest: function* () {
      yield work(1000);
      yield* cpuOff();
    },
    hvc: function* () {
      misrs.push(yield mrs(ICH_MISR_EL2, 3));
    },
  });
  rig.m.run(1e6);
  t.deepEqual(log, [40]);
  const NP = ICH_MISR.encode({ NP: 1 });
  t.deepEqual(misrs, [NP, 0, NP]);
  t.true(rig.phys.level(0, 25));
});

test('EOIcount counts unmatched EOIR (EOImode 0) and DIR (EOImode 1) below 8192 only; LRENPIE turns it into a maintenance level', (t) => {
  const counts: { step: string; eoicount: number; misr: number }[] = [];
  let step = '';
  const bit = (prio: number): number => 1 << (prio >> 3); // AP1R0 bit of a group priority (5 preemption bits)
  const rig = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_HCR_EL2, hcr({ LRENPIE: 1 }));
      yield* enterGuest();
    },
    guest: function* () {
      const snap = (s: string): Program => {
        step = s;
        return (function* () {
          yield hvc(1);
        })();
      };
      // The guest restores an active priority (as after a context switch) and completes an
      // interrupt EL2 has already taken out of the LRs.
      yield msr(ICC_AP1R_EL1[0]!, bit(0xa0), 1);
      yield msr(ICC_EOIR1_EL1, 44, 1);
      yield* snap('eoir unmatched');
      yield msr(ICC_AP1R_EL1[0]!, bit(0xa0), 1);
      yield msr(ICC_EOIR1_EL1, 8300, 1);
      yield* snap('eoir unmatched LPI');
      yield msr(ICC_EOIR1_EL1, 45, 1);
      yield* snap('eoir with no active priority');
      yield msr(ICC_DIR_EL1, 46, 1);
      yield* snap('dir with EOImode 0');
      yield hvc(3); // EL2: EOImode = 1
      yield msr(ICC_AP1R_EL1[0]!, bit(0xa0), 1);
      yield msr(ICC_EOIR1_EL1, 47, 1);
      yield* snap('eoir unmatched, EOImode 1');
      yield msr(ICC_DIR_EL1, 47, 1);
      yield* snap('dir unmatched, EOImode 1');
      yield msr(ICC_DIR_EL1, 8301, 1);
      yield* snap('dir of an LPI');
      yield hvc(4); // EL2 clears EOIcount
      yield* snap('after EL2 zeroes EOIcount');
      yield* cpuOff();
    },
    hvc: function* (imm: number): Program {
      if (imm === 3) {
        yield msr(ICH_VMCR_EL2, VMCR_G1_EOIM, 3);
        return;
      }
      if (imm === 4) {
        yield msr(ICH_HCR_EL2, hcr({ LRENPIE: 1, EOIcount: 0 }), 3);
        return;
      }
      const h: number = yield mrs(ICH_HCR_EL2, 3);
      counts.push({ step, eoicount: ICH_HCR.get(h, 'EOIcount'), misr: yield mrs(ICH_MISR_EL2, 3) });
    },
  });
  rig.m.run(1e6);
  const L = ICH_MISR.encode({ LRENP: 1 });
  t.deepEqual(counts, [
    { step: 'eoir unmatched', eoicount: 1, misr: L },
    { step: 'eoir unmatched LPI', eoicount: 1, misr: L },
    { step: 'eoir with no active priority', eoicount: 1, misr: L },
    { step: 'dir with EOImode 0', eoicount: 1, misr: L },
    { step: 'eoir unmatched, EOImode 1', eoicount: 1, misr: L },
    { step: 'dir unmatched, EOImode 1', eoicount: 2, misr: L },
    { step: 'dir of an LPI', eoicount: 2, misr: L },
    { step: 'after EL2 zeroes EOIcount', eoicount: 0, misr: 0 },
  ]);
  t.deepEqual(rig.phys.levels(0, 25), [true, false]);
});

test('VGrp0E/VGrp0D/VGrp1E/VGrp1D follow the guest group enables', (t) => {
  const misrs: number[] = [];
  const rig = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8 }));
      yield msr(ICH_HCR_EL2, hcr({ VGrp0EIE: 1, VGrp0DIE: 1, VGrp1EIE: 1, VGrp1DIE: 1 }));
      misrs.push(yield mrs(ICH_MISR_EL2, 3));
      yield* enterGuest();
    },
    guest: function* () {
      yield msr(ICC_IGRPEN1_EL1, 0, 1); // the guest disables Group 1
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      misrs.push(yield mrs(ICH_MISR_EL2, 3));
    },
  });
  rig.m.run(1e6);
  t.deepEqual(misrs, [ICH_MISR.encode({ VGrp0D: 1, VGrp1E: 1 }), ICH_MISR.encode({ VGrp0D: 1, VGrp1D: 1 })]);
  t.deepEqual(rig.phys.levels(0, 25), [true]);
});

test('ELRSR and EISR follow the Arm rules for every combination of State, HW and EOI', (t) => {
  // LR n holds combination n: (State, HW, EOI) over State 00/01/10/11, HW 0/1, EOI 0/1 (EOI only meaningful with HW = 0).
  const combos: { state: number; hw: boolean; eoi: boolean }[] = [];
  for (const state of [0, 1, 2, 3]) for (const hw of [false, true]) for (const eoi of hw ? [false] : [false, true]) combos.push({ state, hw, eoi });
  let elrsr = -1;
  let eisr = -1;
  const rig = vgicRig({
    gic: { listRegs: 16 },
    el2: function* () {
      for (let n = 0; n < combos.length; n++) {
        const c = combos[n]!;
        yield msr(ICH_LR_EL2[n]!, lr({ vintid: 100 + n, priority: 0xa0, state: c.state, hw: c.hw, pintid: c.hw ? 50 : 0, eoi: c.eoi }));
      }
      elrsr = yield mrs(ICH_ELRSR_EL2, 3);
      eisr = yield mrs(ICH_EISR_EL2, 3);
      yield* cpuOff();
    },
  });
  rig.m.run(1e6);
  let wantElrsr = 0;
  let wantEisr = 0;
  combos.forEach((c, n) => {
    if (c.state === 0 && (c.hw || !c.eoi)) wantElrsr |= 1 << n;
    if (c.state === 0 && !c.hw && c.eoi) wantEisr |= 1 << n;
  });
  // LRs beyond the combinations are empty: reusable.
  for (let n = combos.length; n < 16; n++) wantElrsr |= 1 << n;
  t.is(elrsr, wantElrsr);
  t.is(eisr, wantEisr);
  t.is(eisr, 0b10); // only (State 00, HW 0, EOI 1)
});

test('out of reset, before EL2 writes any ICH register, ELRSR says every LR is empty and EISR/MISR are clear', (t) => {
  // The LRs reset to 0 (State 00, HW 0, EOI 0), so ELRSR (State 00 and (HW 1 or EOI 0)) must have
  // a bit per implemented LR, as it does after EL2 writes them. GICv3 and GICv4 configurations alike.
  for (const version of [3, 4] as const) {
    const seen: number[] = [];
    const rig = vgicRig({
      gic: { version },
      el2: function* () {
        seen.push(yield mrs(ICH_ELRSR_EL2, 1), yield mrs(ICH_EISR_EL2, 1), yield mrs(ICH_MISR_EL2, 1));
        seen.push(Number(yield mrs(ICH_LR_EL2[0]!, 1)));
        yield* cpuOff();
      },
    });
    rig.m.run(1e6);
    t.deepEqual(seen, [0b1111, 0, 0, 0], `GICv${version}`);
  }
});
