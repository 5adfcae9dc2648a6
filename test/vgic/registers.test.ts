/**
 * The ICV_* view and the ICH_* registers behind it: ICV_PMR/BPR/CTLR/IGRPEN are ICH_VMCR_EL2
 * fields, ICV_AP*R are ICH_AP*R, list registers keep only their implemented bits, Group 0
 * interrupts are vFIQs (IHI 0069, the ICH_* and ICV_* register descriptions; IHI 0069H chapter 6).
 */
import test from 'ava';
import { daifclr, DAIF_F, DAIF_I, hvc, mrs, msr, work, type Program } from '../../core/ops.js';
import { LINE_VIRQ } from '../../core/pe.js';
import { PSR_F, PSR_I } from '../../core/pstate.js';
import { encodeLr, ICH_HCR, ICH_VMCR, LrState } from '../../gic/ich-registers.js';
import { ICC_CTLR } from '../../gic/gic-registers.js';
import * as S from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { ackHandler, enterGuest, lr, vgicRig } from '../helpers/vgic-rig.js';

const EN = ICH_HCR.encode({ En: 1 });

test('ICV_PMR/BPR0/BPR1/CTLR/IGRPEN0/IGRPEN1 read what EL2 put in ICH_VMCR_EL2', (t) => {
  const seen: Record<string, number> = {};
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG0: 1, VENG1: 1, VPMR: 0xa8, VBPR0: 3, VBPR1: 5, VEOIM: 1 }));
      yield* enterGuest(undefined, PSR_I | PSR_F);
    },
    guest: function* () {
      seen.pmr = yield mrs(S.ICC_PMR_EL1, 1);
      seen.bpr0 = yield mrs(S.ICC_BPR0_EL1, 1);
      seen.bpr1 = yield mrs(S.ICC_BPR1_EL1, 1);
      seen.ctlr = yield mrs(S.ICC_CTLR_EL1, 1);
      seen.igrpen0 = yield mrs(S.ICC_IGRPEN0_EL1, 1);
      seen.igrpen1 = yield mrs(S.ICC_IGRPEN1_EL1, 1);
      yield* cpuOff();
    },
  });
  rig.m.run(1e6);
  t.deepEqual(seen, {
    pmr: 0xa8,
    bpr0: 3,
    bpr1: 5,
    // EOImode from VEOIM; PRIbits = 5 - 1, IDbits = 0 (16 bits), A3V = 1, as ICH_VTR_EL2 says.
    ctlr: ICC_CTLR.encode({ EOImode: 1, PRIbits: 4, IDbits: 0, A3V: 1 }),
    igrpen0: 1,
    igrpen1: 1,
  });
  t.is(seen.ctlr, 0x8402);
});

test('guest ICV writes land in ICH_VMCR_EL2: unimplemented PMR bits RAZ/WI, BPRs clamped to their minimum, RO CTLR fields ignored', (t) => {
  const vmcrs: number[] = [];
  const seen: Record<string, number> = {};
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG0: 1, VENG1: 1, VPMR: 0xf8, VBPR0: 4, VBPR1: 4, VEOIM: 1 }));
      yield* enterGuest(undefined, PSR_I | PSR_F);
    },
    guest: function* () {
      yield msr(S.ICC_PMR_EL1, 0x57, 1);
      yield msr(S.ICC_BPR0_EL1, 0, 1);
      yield msr(S.ICC_BPR1_EL1, 0, 1);
      yield msr(S.ICC_CTLR_EL1, 0xffff_fffd, 1); // CBPR = 1, EOImode = 0, every RO/RES0 bit set
      yield msr(S.ICC_IGRPEN0_EL1, 0, 1);
      yield hvc(1);
      // With CBPR = 1, ICV_BPR1 reads VBPR0 + 1 and ignores writes.
      yield msr(S.ICC_BPR1_EL1, 6, 1);
      seen.bpr1 = yield mrs(S.ICC_BPR1_EL1, 1);
      seen.ctlr = yield mrs(S.ICC_CTLR_EL1, 1);
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      vmcrs.push(yield mrs(S.ICH_VMCR_EL2, 3));
    },
  });
  rig.m.run(1e6);
  // 5 priority bits: 0x57 -> 0x50; minimum VBPR0 = 7 - 5 = 2, VBPR1 = 3; VFIQEn reads as one.
  const want = ICH_VMCR.encode({ VENG0: 0, VENG1: 1, VFIQEn: 1, VCBPR: 1, VEOIM: 0, VPMR: 0x50, VBPR0: 2, VBPR1: 3 });
  t.deepEqual(vmcrs, [want, want]);
  t.deepEqual(seen, { bpr1: 3, ctlr: ICC_CTLR.encode({ CBPR: 1, PRIbits: 4, A3V: 1 }) });
});

test('ICV_AP1R0 and ICH_AP1R0_EL2 are one register; ICV_RPR is the running priority from the APRs', (t) => {
  const log: (string | number)[] = [];
  const el2: number[] = [];
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: 3 }));
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 42, priority: 0xa0 }));
      yield msr(S.ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          body: function* (): Program {
            log.push(`ap1r0=${((yield mrs(S.ICC_AP1R_EL1[0]!, 1)) as number).toString(16)}`);
            yield hvc(1); // EL2 reads ICH_AP1R0_EL2, then discards it (as a context switch would)
            log.push(`rpr=${((yield mrs(S.ICC_RPR_EL1, 1)) as number).toString(16)}`);
            yield msr(S.ICC_AP0R_EL1[0]!, 1 << 4, 1); // an active Group 0 priority 0x20
            log.push(`rpr=${((yield mrs(S.ICC_RPR_EL1, 1)) as number).toString(16)}`);
            yield hvc(2);
          },
        }),
      },
    },
    guest: function* () {
      yield work(1000);
      yield* cpuOff();
    },
    hvc: function* (imm: number): Program {
      if (imm === 1) {
        el2.push(yield mrs(S.ICH_AP1R_EL2[0]!, 3));
        yield msr(S.ICH_AP1R_EL2[0]!, 0, 3);
      } else {
        el2.push(yield mrs(S.ICH_AP0R_EL2[0]!, 3));
      }
    },
  });
  rig.m.run(1e6);
  // Priority 0xA0 with 5 preemption bits is AP1R0 bit 0xA0 >> 3 = 20.
  t.deepEqual(log, [42, 'ap1r0=100000', 'rpr=ff', 'rpr=20']);
  t.deepEqual(el2, [1 << 20, 1 << 4]);
});

test('ICH_LR<n>_EL2 keeps only implemented bits: 16-bit vINTID, priority bits per PRIbits, pINTID with HW = 1, EOI with HW = 0', (t) => {
  const back: bigint[] = [];
  const all = (1n << 64n) - 1n;
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_LR_EL2[0]!, all);
      back.push(yield mrs(S.ICH_LR_EL2[0]!, 1));
      yield msr(S.ICH_LR_EL2[1]!, all & ~(1n << 61n)); // HW = 0
      back.push(yield mrs(S.ICH_LR_EL2[1]!, 1));
      yield* cpuOff();
    },
  });
  rig.m.run(1e6);
  t.is(back[0], encodeLr({ vINTID: 0xffff, pINTID: 0x3ff, Priority: 0xf8, Group: 1, HW: 1, State: LrState.PendingActive }));
  t.is(back[0], 0xf0f8_03ff_0000_ffffn);
  t.is(back[1], encodeLr({ vINTID: 0xffff, EOI: 1, Priority: 0xf8, Group: 1, HW: 0, State: LrState.PendingActive }));
  t.is(back[1], 0xd0f8_0200_0000_ffffn);
});

test('an LR at priority 0xFF is never selected (8 priority bits implemented)', (t) => {
  const seen: number[] = [];
  const rig = vgicRig({
    gic: { priorityBits: 8, preemptionBits: 7 },
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xff, VBPR1: 1 }));
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 42, priority: 0xff }));
      yield msr(S.ICH_HCR_EL2, EN);
      yield* enterGuest(undefined, PSR_I);
    },
    guest: function* () {
      seen.push(yield mrs(S.ICC_HPPIR1_EL1, 1));
      yield msr(S.ICC_PMR_EL1, 0xff, 1);
      seen.push(yield mrs(S.ICC_IAR1_EL1, 1));
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      yield msr(S.ICH_LR_EL2[1]!, lr({ vintid: 43, priority: 0xfe }), 3);
      seen.push(Number(((yield mrs(S.ICH_LR_EL2[1]!, 3)) as bigint) >> 48n) & 0xff);
    },
  });
  rig.m.run(1e6);
  t.deepEqual(seen, [1023, 1023, 0xfe]);
  t.true((rig.m.pes[0]!.lines & LINE_VIRQ) !== 0); // 0xFE < VPMR 0xFF: LR1 now signals vIRQ
});

test('Group 0 LRs are vFIQs acknowledged through ICV_IAR0; ICV_HPPIR0/1 and IAR1 see only their own group', (t) => {
  const log: (string | number)[] = [];
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG0: 1, VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: 3 }));
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 60, priority: 0x80, group: 0 }));
      yield msr(S.ICH_LR_EL2[1]!, lr({ vintid: 61, priority: 0x90, group: 1 }));
      yield msr(S.ICH_HCR_EL2, EN);
      yield* enterGuest(undefined, PSR_I | PSR_F);
    },
    guestVectors: { curSpx: { irq: ackHandler(log), fiq: ackHandler(log, { group: 0 }) } },
    guest: function* () {
      log.push(`hppir1=${(yield mrs(S.ICC_HPPIR1_EL1, 1)) as number}`);
      log.push(`hppir0=${(yield mrs(S.ICC_HPPIR0_EL1, 1)) as number}`);
      log.push(`iar1=${(yield mrs(S.ICC_IAR1_EL1, 1)) as number}`);
      yield daifclr(DAIF_I | DAIF_F);
      yield work(1000);
      yield* cpuOff();
    },
  });
  rig.m.run(1e6);
  t.deepEqual(log, ['hppir1=1023', 'hppir0=60', 'iar1=1023', 60, 61]);
  t.deepEqual(rig.m.trace.of('exception').filter((e) => e.target === 1).map((e) => e.type), ['fiq', 'irq']);
});
