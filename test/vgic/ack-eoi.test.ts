/**
 * A guest acknowledging and completing list-register interrupts through ICV_IAR1/ICV_EOIR1
 * (the ICC_* encodings with HCR_EL2.IMO = 1): state transitions of the LRs, priority order,
 * VPMR, preemption, EOImode = 1 and ICV_DIR, LPI vINTIDs, HW = 1 linkage (IHI 0069H chapter 6
 * "Virtual Interrupt Handling and Prioritization"; ICV_IAR1_EL1, ICV_EOIR1_EL1, ICV_DIR_EL1).
 */
import test from 'ava';
import { daifclr, daifset, DAIF_I, hvc, mrs, msr, work, type Program } from '../../core/ops.js';
import { PSR_I } from '../../core/pstate.js';
import { ICH_HCR, ICH_VMCR, LrState } from '../../gic/ich-registers.js';
import { ICC_DIR_EL1, ICC_EOIR1_EL1, ICC_HPPIR1_EL1, ICC_IAR1_EL1, ICC_PMR_EL1, ICC_RPR_EL1, ICH_EISR_EL2, ICH_ELRSR_EL2, ICH_HCR_EL2, ICH_LR_EL2, ICH_VMCR_EL2 } from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { ackHandler, enterGuest, lr, lrState, vgicRig } from '../helpers/vgic-rig.js';

const EN = ICH_HCR.encode({ En: 1 });
/** Group 1 enabled, VPMR = 0xF8 (every implemented priority but the lowest unmasked), minimum BPRs. */
const VMCR_G1 = ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: 3 });

test('the guest acknowledges an LR: IAR1 returns its vINTID, the LR goes Pending -> Active -> Invalid', (t) => {
  const log: (string | number)[] = [];
  const snaps: { lr0: bigint; elrsr: number; rpr?: number }[] = [];
  const { m, icc } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 42, priority: 0xa0 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          body: function* (): Program {
            log.push(`rpr=${(yield mrs(ICC_RPR_EL1, 1)) as number}`);
            yield hvc(1); // EL2 looks at LR0 while the guest handles it
          },
        }),
      },
    },
    guest: function* () {
      yield work(500);
      yield hvc(2);
      yield* cpuOff();
    },
    hvc: function* () {
      const lr0: bigint = yield mrs(ICH_LR_EL2[0]!, 3);
      const elrsr: number = yield mrs(ICH_ELRSR_EL2, 3);
      snaps.push({ lr0, elrsr });
    },
  });
  m.run(1e6);
  t.deepEqual(log, [42, 'rpr=160']); // running priority 0xA0 while active
  t.is(snaps.length, 2);
  t.is(lrState(snaps[0]!.lr0), LrState.Active);
  t.is(snaps[0]!.lr0, lr({ vintid: 42, priority: 0xa0, state: LrState.Active }));
  t.is(snaps[0]!.elrsr & 1, 0);
  t.is(lrState(snaps[1]!.lr0), LrState.Invalid);
  t.is(snaps[1]!.elrsr, 0b1111); // all four LRs empty and reusable
  t.deepEqual(icc[0]!.accesses, []); // nothing reached the physical CPU interface
});

test('pending LRs are taken in priority order, equal priorities by lowest LR index', (t) => {
  const log: (string | number)[] = [];
  const { m } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 40, priority: 0xa0 }));
      yield msr(ICH_LR_EL2[1]!, lr({ vintid: 41, priority: 0x80 }));
      yield msr(ICH_LR_EL2[2]!, lr({ vintid: 42, priority: 0x80 }));
      yield msr(ICH_LR_EL2[3]!, lr({ vintid: 43, priority: 0xc0 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest(undefined, PSR_I); // masked until all four are written and the guest unmasks
    },
    guestVectors: { curSpx: { irq: ackHandler(log) } },
    guest: function* () {
      yield daifclr(DAIF_I);
      yield work(2000);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.deepEqual(log, [41, 42, 40, 43]);
});

test('an Active+Pending LR is not a candidate: the Pending one behind it is taken, it stays 11', (t) => {
  const log: (string | number)[] = [];
  let lr0 = 0n;
  let hppir = -1;
  const { m } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 50, priority: 0x80, state: LrState.PendingActive }));
      yield msr(ICH_LR_EL2[1]!, lr({ vintid: 51, priority: 0xa0 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: { curSpx: { irq: ackHandler(log) } },
    guest: function* () {
      yield work(500);
      hppir = yield mrs(ICC_HPPIR1_EL1, 1); // only the 11 LR is left: no candidate
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      lr0 = yield mrs(ICH_LR_EL2[0]!, 3);
    },
  });
  m.run(1e6);
  t.deepEqual(log, [51]);
  t.is(hppir, 1023);
  t.is(lrState(lr0), LrState.PendingActive);
});

test('VPMR masks strictly: priority == VPMR is not signalled, lowering the mask by one level lets it in', (t) => {
  const log: (string | number)[] = [];
  const seen: Record<string, number> = {};
  let vmcr = 0;
  const { m } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xa0 }));
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 42, priority: 0xa0 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: { curSpx: { irq: ackHandler(log) } },
    guest: function* () {
      yield work(300);
      seen.hppir = yield mrs(ICC_HPPIR1_EL1, 1); // HPPIR ignores the mask
      seen.iar = yield mrs(ICC_IAR1_EL1, 1); // IAR honours it: spurious
      seen.pmr = yield mrs(ICC_PMR_EL1, 1);
      log.push('unmask');
      yield msr(ICC_PMR_EL1, 0xa8, 1); // ICV_PMR_EL1 -> ICH_VMCR_EL2.VPMR
      yield work(300);
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      vmcr = yield mrs(ICH_VMCR_EL2, 3);
    },
  });
  m.run(1e6);
  t.deepEqual(seen, { hppir: 42, iar: 1023, pmr: 0xa0 });
  t.deepEqual(log, ['unmask', 42]);
  t.is(ICH_VMCR.get(vmcr, 'VPMR'), 0xa8);
});

/**
 * LR0 (priority 0x88) is being handled when EL2 injects LR1 (priority 0x80) and the guest
 * unmasks: 0x80 preempts only if its group priority is strictly higher than the running one.
 */
function preemption(vbpr1: number): (string | number)[] {
  const log: (string | number)[] = [];
  const { m } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: vbpr1 }));
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 70, priority: 0x88 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          body: function* (intid: number): Program {
            if (intid === 70) yield hvc(1); // EL2 injects 71 while 70 is active
            yield daifclr(DAIF_I);
            yield work(300);
            yield daifset(DAIF_I);
            log.push(`eoi ${intid}`);
          },
        }),
      },
    },
    guest: function* () {
      yield work(200);
      yield work(2000);
      yield* cpuOff();
    },
    hvc: function* () {
      yield msr(ICH_LR_EL2[1]!, lr({ vintid: 71, priority: 0x80 }), 3);
    },
  });
  m.run(1e6);
  return log;
}

test('preemption compares group priorities only: VBPR1 = 3 lets 0x80 preempt 0x88, VBPR1 = 4 does not', (t) => {
  // VBPR1 = 3 (minimum with 5 preemption bits): mask 0xF8, 0x80 < 0x88 -> nested.
  t.deepEqual(preemption(3), [70, 71, 'eoi 71', 'eoi 70']);
  // VBPR1 = 4: mask 0xF0, both have group priority 0x80 -> waits for the EOI of 70.
  t.deepEqual(preemption(4), [70, 'eoi 70', 71, 'eoi 71']);
});

test('EOImode = 1 (VEOIM): EOIR only drops the priority, the LR stays Active until ICV_DIR', (t) => {
  const log: (string | number)[] = [];
  const states: number[] = [];
  const { m } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VEOIM: 1, VBPR0: 2, VBPR1: 3 }));
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 42, priority: 0xa0 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          eoi: false,
          body: function* (intid: number): Program {
            yield msr(ICC_EOIR1_EL1, intid, 0);
            log.push(`rpr=${(yield mrs(ICC_RPR_EL1, 1)) as number}`); // priority dropped: idle
            yield hvc(1);
            yield msr(ICC_DIR_EL1, intid, 0);
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
      states.push(lrState((yield mrs(ICH_LR_EL2[0]!, 3)) as bigint));
    },
  });
  m.run(1e6);
  t.deepEqual(log, [42, 'rpr=255']);
  t.deepEqual(states, [LrState.Active, LrState.Invalid]);
});

test('an LPI vINTID in an LR is deactivated by EOIR even with EOImode = 1; DIR of it does nothing', (t) => {
  const log: (string | number)[] = [];
  const snaps: { state: number; eoicount: number }[] = [];
  const { m } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VEOIM: 1, VBPR0: 2, VBPR1: 3 }));
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 8200, priority: 0xa0 }));
      yield msr(ICH_HCR_EL2, EN);
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
      yield work(500);
      yield hvc(1);
      yield msr(ICC_DIR_EL1, 8200, 1);
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      const v: bigint = yield mrs(ICH_LR_EL2[0]!, 3);
      const hcr: number = yield mrs(ICH_HCR_EL2, 3);
      snaps.push({ state: lrState(v), eoicount: ICH_HCR.get(hcr, 'EOIcount') });
    },
  });
  m.run(1e6);
  t.deepEqual(log, [8200]);
  t.deepEqual(snaps, [
    { state: LrState.Active, eoicount: 0 },
    { state: LrState.Invalid, eoicount: 0 },
    { state: LrState.Invalid, eoicount: 0 },
  ]);
});

test('HW = 1: the guest EOIR deactivates the physical pINTID, raises no maintenance interrupt, frees the LR', (t) => {
  const log: (string | number)[] = [];
  let elrsr = -1;
  let eisr = -1;
  const { m, phys } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, VMCR_G1);
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 27, priority: 0xa0, hw: true, pintid: 27 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: { curSpx: { irq: ackHandler(log) } },
    guest: function* () {
      yield work(500);
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      elrsr = yield mrs(ICH_ELRSR_EL2, 3);
      eisr = yield mrs(ICH_EISR_EL2, 3);
    },
  });
  m.run(1e6);
  t.deepEqual(log, [27]);
  t.deepEqual(phys.deactivated, [{ pe: 0, intid: 27 }]);
  t.deepEqual(phys.levels(0, 25), []); // the maintenance PPI was never raised
  t.is(elrsr & 1, 1);
  t.is(eisr, 0); // HW = 1 has no EOI bit: no EOI maintenance event
});

test('HW = 1 with EOImode = 1: the physical INTID is deactivated by DIR, not by EOIR; pINTID >= 1020 is never forwarded', (t) => {
  const log: (string | number)[] = [];
  const deactAfterEoir: number[] = [];
  const { m, phys } = vgicRig({
    el2: function* () {
      yield msr(ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VEOIM: 1, VBPR0: 2, VBPR1: 3 }));
      yield msr(ICH_LR_EL2[0]!, lr({ vintid: 30, priority: 0x90, hw: true, pintid: 30 }));
      yield msr(ICH_LR_EL2[1]!, lr({ vintid: 31, priority: 0xa0, hw: true, pintid: 1021 }));
      yield msr(ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          eoi: false,
          body: function* (intid: number): Program {
            yield msr(ICC_EOIR1_EL1, intid, 0);
            deactAfterEoir.push(phys.deactivated.length);
            yield msr(ICC_DIR_EL1, intid, 0);
          },
        }),
      },
    },
    guest: function* () {
      yield work(1000);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.deepEqual(log, [30, 31]);
  t.deepEqual(deactAfterEoir, [0, 1]);
  t.deepEqual(phys.deactivated, [{ pe: 0, intid: 30 }]);
});
