/**
 * GICv4 hook: the resident vPE's best vLPI (from the redistributor, here a fake VlpiSource)
 * competes with the list registers (IHI 0069H chapter 6 and §7.1; ICV_IAR1_EL1, ICH_AP1R<n>_EL2).
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { hvc, mrs, msr, wfi, work, type Program } from '../../core/ops.js';
import { ICH_HCR, ICH_VMCR, LrState } from '../../gic/ich-registers.js';
import { CpuReg, IchReg } from '../../gic/ports.js';
import * as S from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { ackHandler, enterGuest, FakeVlpiSource, lr, lrState, vgicRig } from '../helpers/vgic-rig.js';

const EN = ICH_HCR.encode({ En: 1 });
const VMCR_G1 = ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: 3 });

/** LR0 = vINTID 40 at 0xA0; the resident vPE has vLPI 8197 pending at `vlpiPrio`. */
function race(vlpiPrio: number): { log: (string | number)[]; acked: number[]; lr0States: number[]; eoicount: number; acks: unknown[] } {
  const log: (string | number)[] = [];
  const lr0States: number[] = [];
  let eoicount = -1;
  let vlpi: FakeVlpiSource | undefined;
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, VMCR_G1);
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 40, priority: 0xa0 }));
      yield msr(S.ICH_HCR_EL2, EN);
      vlpi!.set(vlpiPrio, 8197); // the ITS delivered a vLPI to the resident vPE
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        irq: ackHandler(log, {
          body: function* (): Program {
            log.push(`ap1r0=${((yield mrs(S.ICC_AP1R_EL1[0]!, 1)) as number).toString(16)}`);
            yield hvc(1);
          },
        }),
      },
    },
    guest: function* () {
      yield work(2000);
      yield hvc(2);
      yield* cpuOff();
    },
    hvc: function* (imm: number): Program {
      if (imm === 1) lr0States.push(lrState(yield mrs(S.ICH_LR_EL2[0]!, 3)));
      else eoicount = ICH_HCR.get(yield mrs(S.ICH_HCR_EL2, 3), 'EOIcount');
    },
  });
  vlpi = new FakeVlpiSource(rig.virt[0]!);
  rig.virt[0]!.vlpiSource = vlpi;
  rig.m.run(1e6);
  const acks = rig.m.trace.of('icv-ack').map((r) => [r.source, r.vintid, r.lr]);
  return { log, acked: vlpi.acknowledged, lr0States, eoicount, acks };
}

test('a vLPI strictly better than every LR wins: IAR1 returns it, sets its AP1R bit, acknowledges it, leaves the LR pending', (t) => {
  const r = race(0x90);
  // 0x90 -> AP1R0 bit 18; then LR0 (0xA0) -> bit 20.
  t.deepEqual(r.log, [8197, 'ap1r0=40000', 40, 'ap1r0=100000']);
  t.deepEqual(r.acked, [8197]);
  t.deepEqual(r.lr0States, [LrState.Pending, LrState.Active]);
  t.is(r.eoicount, 0); // the EOIR of the vLPI was a priority drop only
  t.deepEqual(r.acks, [['vlpi', 8197, null], ['lr', 40, 0]]);
});

test('a vLPI at the same priority as the best LR does not win: the LR goes first', (t) => {
  const r = race(0xa0);
  t.deepEqual(r.log, [40, 'ap1r0=100000', 8197, 'ap1r0=100000']);
  t.deepEqual(r.acked, [8197]);
  t.deepEqual(r.lr0States, [LrState.Active, LrState.Invalid]);
  t.is(r.eoicount, 0);
  t.deepEqual(r.acks, [['lr', 40, 0], ['vlpi', 8197, null]]);
});

test('a vLPI arriving while the guest sleeps in WFI raises vIRQ through vlpiChanged() and wakes it', (t) => {
  const log: (string | number)[] = [];
  let vlpi: FakeVlpiSource | undefined;
  let woke = -1;
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, VMCR_G1);
      yield msr(S.ICH_HCR_EL2, EN);
      yield* enterGuest();
    },
    guestVectors: { curSpx: { irq: ackHandler(log) } },
    guest: function* () {
      yield wfi();
      woke = rig.m.now;
      yield* cpuOff();
    },
  });
  vlpi = new FakeVlpiSource(rig.virt[0]!);
  rig.virt[0]!.vlpiSource = vlpi;
  rig.m.events.schedule(new SimEvent('vlpi', 0, () => vlpi!.set(0x40, 8300)), 5000);
  rig.m.run(1e6);
  t.deepEqual(log, [8300]);
  t.deepEqual(vlpi.acknowledged, [8300]);
  t.true(woke >= 5000);
});

test('a vLPI is Group 1: it needs VENG1, and ICV_HPPIR1 reports it', (t) => {
  const seen: number[] = [];
  let vlpi: FakeVlpiSource | undefined;
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG0: 1, VPMR: 0xf8 }));
      yield msr(S.ICH_HCR_EL2, EN);
      vlpi!.set(0x40, 9000);
      yield* enterGuest(undefined, 0x80);
    },
    guest: function* () {
      seen.push(yield mrs(S.ICC_HPPIR1_EL1, 1));
      yield msr(S.ICC_IGRPEN1_EL1, 1, 1);
      seen.push(yield mrs(S.ICC_HPPIR1_EL1, 1));
      seen.push(yield mrs(S.ICC_HPPIR0_EL1, 1));
      seen.push(yield mrs(S.ICC_IAR1_EL1, 1));
      yield* cpuOff();
    },
  });
  vlpi = new FakeVlpiSource(rig.virt[0]!);
  rig.virt[0]!.vlpiSource = vlpi;
  rig.m.run(1e6);
  t.deepEqual(seen, [1023, 9000, 1023, 9000]);
  t.deepEqual(vlpi.acknowledged, [9000]);
});

test('the typed HPPVI result names the list register or the vLPI', (t) => {
  const rig = vgicRig({ el2: function* () {} });
  const v = rig.virt[0]!;
  const vlpi = new FakeVlpiSource(v);
  t.deepEqual(v.highestPending(), { kind: 'none' });
  v.writeIch(IchReg.LR, 2, rig.m.pes[0]!, lr({ vintid: 33, priority: 0x60 }));
  v.write(CpuReg.IGRPEN1, rig.m.pes[0]!, 1);
  t.deepEqual(v.highestPending(), { kind: 'lr', index: 2 });
  v.vlpiSource = vlpi;
  vlpi.set(0x58, 8192);
  t.deepEqual(v.highestPending(), { kind: 'vlpi', intid: 8192 });
  v.vlpiSource = null;
  t.deepEqual(v.highestPending(), { kind: 'lr', index: 2 });
});
