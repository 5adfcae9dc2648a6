/**
 * GICv4.1 virtual SGIs in the architecture's terms (IHI 0069: the ITS command VSGI, GITS_SGIR,
 * GICR_VSGIR/GICR_VSGIPENDR, GICR_VPENDBASER.PendingLast and DB, ICH_HCR_EL2.vSGIEOICount):
 * bare-metal programs at EL2 on a `createBoard` machine with `gic.v41`, using the driver library
 * (drivers/its.ts, drivers/residency-v41.ts, drivers/vsgi.ts), and an EL1 guest that takes its
 * interrupts with ICV_IAR1_EL1.
 *
 * What is checked: a vSGI to a resident vPE reaches the guest with no EL2 entry and no list
 * register; a disabled one waits and comes when VSGI enables it; a vSGI for a non-resident
 * vPE stays pending (GICR_VSGIPENDR shows it) and rings the default doorbell once, not when
 * disabled or not requested; PendingLast counts an enabled pending vSGI; VSGI Clear; the
 * guest's EOI of a vSGI counts in EOIcount unless vSGIEOICount = 1; the command's errors.
 */
import test from 'ava';
import { hvc, mrs, msr, wfi, work, type Program } from '../../core/ops.js';
import { findRedistributor, initCpuInterface, initDistributor, initPrivateInterrupts, wakeRedistributor } from '../../drivers/gic-init.js';
import { PhysHeap } from '../../drivers/heap.js';
import { ItsDriver, type ItsInitOptions } from '../../drivers/its.js';
import { eoiCount, readElrsr, readHcr, writeHcr } from '../../drivers/list-registers.js';
import { enableVirtualInterface } from '../../drivers/list-registers.js';
import { configureLpi, enableLpis } from '../../drivers/lpi.js';
import { inheritVpeTable, makeNonResidentV41, makeResidentV41 } from '../../drivers/residency-v41.js';
import { queryVsgi, sendVsgi, vsgiClear, vsgiConfig } from '../../drivers/vsgi.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { ICH_HCR } from '../../gic/ich-registers.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../../gic/sysregs.js';
import { GICR_VPENDBASER_V41 } from '../../gic/vlpi-registers.js';
import { ackHandler } from '../helpers/vgic-rig.js';
import { HOST_PROP, VPROP, VPT_A, VPT_B, enterGuest, hostPend, startPe, vlpiBase, vlpiRig, type VlpiRig } from './vlpi-rig.js';

const ITS_LAYOUT: ItsInitOptions = { tables: { devices: { base: 0x4d10_0000 }, collections: { base: 0x4d20_0000 }, vpes: { base: 0x4d30_0000 } }, queue: 0x4d00_0000, queueBytes: 0x1000 };
const HOST_TABLES = { prop: HOST_PROP, idBits: 16 };
const HEAP = 0x5000_0000;
const DB0 = 8300;
const VPE0 = 0;

/** Host bring-up at EL2 on PE 0, the ITS, the vPE table shared, vPEs 0 and 1 mapped with their default doorbells. */
function* init(r: VlpiRig, drv: ItsDriver): Program {
  yield* initDistributor(r.cfg.gicdBase);
  const rd: number = yield* findRedistributor(r.cfg.gicrBase);
  yield* wakeRedistributor(rd);
  yield* initPrivateInterrupts(rd, []);
  yield* initCpuInterface();
  yield* configureLpi(HOST_TABLES, DB0, 0xa0, true);
  yield* enableLpis(rd, HOST_TABLES, hostPend(0));
  yield* drv.init(ITS_LAYOUT);
  yield* inheritVpeTable(r.cfg.itsBase, vlpiBase(r, 0));
  yield* drv.send(0, [
    ItsCmd.VMAPP({ vPEID: VPE0, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_A, Alloc: 1, VConf_addr: VPROP, Default_Doorbell: DB0 }),
    ItsCmd.VMAPP({ vPEID: 1, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_B, Alloc: 1, VConf_addr: VPROP, Default_Doorbell: DB0 + 1 }),
    // vSGI 3 enabled at priority 0x80, vSGI 5 at 0x40 but disabled, vSGI 6 enabled but Group 0.
    vsgiConfig(VPE0, 3, 0x80, 1, true),
    vsgiConfig(VPE0, 5, 0x40, 1, false),
    vsgiConfig(VPE0, 6, 0x40, 0, true),
    ItsCmd.VSYNC({ vPEID: VPE0 }),
  ]);
}

/** Physical interrupts pending at EL2 (ICC_IAR1_EL1 polled at EL2, each EOIed) after the GIC settles. */
function* takePhysical(out: number[]): Program {
  yield work(5000);
  for (;;) {
    const id: number = yield mrs(ICC_IAR1_EL1, 9);
    if (id === 1023) return;
    out.push(id);
    yield msr(ICC_EOIR1_EL1, id, 9);
  }
}

for (const countVsgiEois of [true, false]) {
  test(`a vSGI to the resident vPE reaches the guest with no EL2 entry and no list register; a disabled one waits for VSGI Enable; vSGIEOICount = ${countVsgiEois ? 0 : 1}: EOIs ${countVsgiEois ? '' : 'not '}counted`, (t) => {
    const r = vlpiRig({ gic: { v41: true } });
    const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
    const guest: (string | number)[] = [];
    const el2Irqs: number[] = [];
    const seen: number[] = [];
    startPe(r, 0, {
      el2: function* () {
        yield* init(r, drv);
        yield* makeResidentV41(vlpiBase(r, 0), VPE0, true);
        yield* enableVirtualInterface({ hcr: ICH_HCR.encode({ vSGIEOICount: countVsgiEois ? 0 : 1 }) });
        yield* enterGuest(0);
      },
      guest: function* (): Program {
        // The guest writes GITS_SGIR itself here (no stage 2 in this rig): vSGIs 5 (disabled), 6 (Group 0), 3.
        yield sendVsgi(r.cfg.itsBase, VPE0, 5);
        yield sendVsgi(r.cfg.itsBase, VPE0, 6);
        yield sendVsgi(r.cfg.itsBase, VPE0, 3);
        while (guest.length < 1) yield wfi();
        yield hvc(1);
        while (guest.length < 2) yield wfi();
        yield hvc(2);
        for (;;) yield wfi();
      },
      guestVectors: { curSpx: { irq: ackHandler(guest) } },
      hvc: function* (imm: number): Program {
        const hcr: number = yield readHcr();
        seen.push(eoiCount(hcr));
        if (imm === 1) {
          seen.push(yield* queryVsgi(vlpiBase(r, 0), VPE0));
          seen.push((yield readElrsr()) as number);
          yield writeHcr(ICH_HCR.set(hcr, 'EOIcount', 0));
          yield* drv.send(0, [vsgiConfig(VPE0, 5, 0x40, 1, true), ItsCmd.VSYNC({ vPEID: VPE0 })]);
        }
      },
      el2Irq: function* (): Program {
        const id: number = yield mrs(ICC_IAR1_EL1, 9);
        el2Irqs.push(id);
        yield msr(ICC_EOIR1_EL1, id, 9);
      },
    });
    r.m.run(2e6);
    t.deepEqual(guest, [3, 5]);
    const count = countVsgiEois ? 1 : 0;
    // After vSGI 3: EOIcount, pending vSGIs 5 (disabled) and 6 (Group 0), every LR empty; after vSGI 5: EOIcount.
    t.deepEqual(seen, [count, (1 << 5) | (1 << 6), 0xf, count]);
    t.deepEqual(el2Irqs, []);
    t.deepEqual(r.m.trace.of('icv-ack').map((x) => [x.vintid, x.source, x.priority]), [[3, 'vsgi', 0x80], [5, 'vsgi', 0x40]]);
    t.is(r.gic.its.vsgiFrame!.writes, 3);
    t.is(r.gic.its.errorCount, 0);
  });
}

test('a vSGI for a non-resident vPE stays pending (GICR_VSGIPENDR) and rings the default doorbell once; not when disabled or not requested; PendingLast counts it; VSGI Clear', (t) => {
  const r = vlpiRig({ gic: { v41: true } });
  const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const frame = vlpiBase(r, 0);
  const its = r.cfg.itsBase;
  const doorbells: number[][] = [];
  const pending: number[] = [];
  const pendingLast: number[] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* init(r, drv);
      const period = function* (db: boolean, vsgis: number[]): Program {
        yield* makeResidentV41(frame, VPE0, true);
        const v: bigint = yield* makeNonResidentV41(frame, db);
        pendingLast.push(GICR_VPENDBASER_V41.get(v, 'PendingLast'));
        for (const n of vsgis) yield sendVsgi(its, VPE0, n);
        const got: number[] = [];
        yield* takePhysical(got);
        doorbells.push(got);
        pending.push(yield* queryVsgi(frame, VPE0));
      };
      yield* period(true, [5]); // disabled vSGI: no doorbell
      yield* period(true, [3, 3, 3]); // one doorbell for three
      yield* drv.send(0, [vsgiClear(VPE0, 3), ItsCmd.VSYNC({ vPEID: VPE0 })]);
      pending.push(yield* queryVsgi(frame, VPE0));
      yield* period(false, [3]); // preempted: DB = 0, no doorbell
      yield* period(true, []); // vSGI 3 (enabled) still pending at deschedule: PendingLast = 1, DB treated as 0
      yield sendVsgi(its, VPE0, 3);
      const got: number[] = [];
      yield* takePhysical(got);
      doorbells.push(got);
      for (;;) yield wfi();
    },
  });
  r.m.run(3e6);
  t.deepEqual(doorbells, [[], [DB0], [], [], []]);
  t.deepEqual(pending, [1 << 5, (1 << 5) | (1 << 3), 1 << 5, (1 << 5) | (1 << 3), (1 << 5) | (1 << 3)]);
  t.deepEqual(pendingLast, [0, 0, 0, 1]);
  t.is(r.gic.physical.defaultDoorbells!.rung, 1);
  t.deepEqual(r.m.trace.of('vsgi').filter((x) => x.what === 'pending').map((x) => [x.vintid, x.resident, x.rung]), [[5, false, false], [3, false, true], [3, false, false], [3, false, false], [3, false, false], [3, false, false]]);
});

test('VSGI errors: vPEID out of range and an unmapped vPE are skipped with their codes; VSGI is an unknown command on a GICv4.0 ITS; GITS_SGIR naming an unmapped vPE is ignored', (t) => {
  for (const v41 of [true, false]) {
    const r = vlpiRig({ gic: { v41, its: { vpeIdBits: 12 } } });
    const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
    startPe(r, 0, {
      el2: function* () {
        yield* drv.init(ITS_LAYOUT);
        yield* drv.send(0, [vsgiConfig(5000, 1, 0, 1, true), vsgiConfig(7, 1, 0, 1, true), vsgiClear(7, 2)]);
        if (v41) {
          yield sendVsgi(r.cfg.itsBase, 7, 1);
          yield sendVsgi(r.cfg.itsBase, 5000, 1);
        }
        for (;;) yield wfi();
      },
    });
    r.m.run(200_000);
    const errs = r.gic.its.errors.map((e) => [e.code, e.name, e.outcome]);
    if (v41) {
      t.deepEqual(errs, [[0x012310, 'VSGI_VPEID_OOR', 'skipped'], [0x012311, 'VSGI_UNMAPPED_VPE', 'skipped'], [0x012311, 'VSGI_UNMAPPED_VPE', 'skipped']]);
      t.is(r.gic.its.vsgiFrame!.ignored, 2);
      t.is(r.gic.its.vsgiFrame!.writes, 0);
    } else {
      t.deepEqual(errs.map((e) => e[0]), [0x0123ff, 0x0123ff, 0x0123ff]);
      t.is(r.gic.its.vsgiFrame, null);
    }
  }
});
