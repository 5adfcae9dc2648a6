/**
 * Direct injection end to end with the real ITS (IHI 0069H §5.3 "ITS commands", §7.2 "Direct
 * injection of virtual interrupts"): an EL2 ITS driver maps a
 * device's events to vLPIs of vPEs (VMAPP, VMAPTI with a doorbell, VSYNC), an MSI device writes
 * GITS_TRANSLATER, and the vLPI reaches the guest of the PE whose redistributor has the vPE
 * resident. Then the moves: INT while the vPE is not resident (VPT bit, doorbell at EL2), VMOVI
 * moves the pending vLPI to another vPE's VPT, VMOVP sends that vPE to PE 1's redistributor, and
 * its schedule-in there delivers the moved vLPI exactly once. And INV / VINVALL through the ITS
 * make a disabled-then-enabled vLPI deliverable.
 */
import test from 'ava';
import { MsiDevice } from '../../core/msi-device.js';
import { hvc, ldr, mrs, msr, str, wfi, work, type Program } from '../../core/ops.js';
import { findRedistributor, initCpuInterface, initDistributor, initPrivateInterrupts, wakeRedistributor } from '../../drivers/gic-init.js';
import { PhysHeap } from '../../drivers/heap.js';
import { ItsDriver, type ItsInitOptions } from '../../drivers/its.js';
import { enableVirtualInterface } from '../../drivers/list-registers.js';
import { configureLpi, enableLpis } from '../../drivers/lpi.js';
import { makeNonResident, makeResident } from '../../drivers/residency.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS } from '../../gic/its/its-registers.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../../gic/sysregs.js';
import { GICR_VPENDBASER } from '../../gic/vlpi-registers.js';
import { ackHandler } from '../helpers/vgic-rig.js';
import { FLAGS, HOST_PROP, VPROP_TABLES, VPT_A, VPT_B, enterGuest, hostPend, pendingBit, startPe, vlpiBase, vlpiRig, vpe, type VlpiRig } from './vlpi-rig.js';

// ITS memory (away from the rig's tables).
const QUEUE = 0x4d00_0000;
const DEVICES = 0x4d10_0000;
const COLLECTIONS = 0x4d20_0000;
const VPES = 0x4d30_0000;
const ITT = 0x4d40_0000;
/** The ITS driver's heap (nothing is allocated from it: ITS_LAYOUT gives every table and the queue). */
const HEAP = 0x5000_0000;
const ITS_LAYOUT: ItsInitOptions = { tables: { devices: { base: DEVICES }, collections: { base: COLLECTIONS }, vpes: { base: VPES } }, queue: QUEUE, queueBytes: 0x1000 };

const DEV = 0x21;
const EV = 0;
const EV2 = 1;
const VINTID = 8200;
const VINTID2 = 8201;
const DB0 = 8300;
const VPE0 = 0;
const VPE1 = 1;

function* idle(): Program {
  for (;;) yield wfi();
}

/** Host bring-up at EL2 on this PE: distributor (PE 0 only), redistributor, CPU interface, host LPIs with doorbell DB0 enabled. */
function* hostInit(r: VlpiRig, pe: number): Program {
  const tables = { prop: HOST_PROP, idBits: 16 };
  if (pe === 0) yield* initDistributor(r.cfg.gicdBase);
  const rd: number = yield* findRedistributor(r.cfg.gicrBase);
  yield* wakeRedistributor(rd);
  yield* initPrivateInterrupts(rd, []);
  yield* initCpuInterface();
  if (pe === 0) yield* configureLpi(tables, DB0, 0xa0, true);
  yield* enableLpis(rd, tables, hostPend(pe));
}

function* readBit(table: number, vintid: number): Program<boolean> {
  const b: number = yield ldr(table + (vintid >>> 3), 1, 9);
  return (b & (1 << (vintid & 7))) !== 0;
}

test('MSI -> ITS -> resident vPE -> guest; INT while not resident rings the doorbell; VMOVI moves the pending vLPI; VMOVP then schedule-in on PE 1 delivers it exactly once', (t) => {
  const r = vlpiRig({ cores: 2 });
  const { m, cfg, gic } = r;
  const drv = new ItsDriver(cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const msi = { deviceId: DEV, doorbell: cfg.itsBase + GITS.TRANSLATER, events: [EV], pattern: { kind: 'periodic' as const, period: 5000 } };
  const dev = new MsiDevice(m, { ...msi, name: 'nic', count: 3 });
  const dev2 = new MsiDevice(m, { ...msi, name: 'nic-later', count: 1 });
  const guest0: (string | number)[] = [];
  const guest1: (string | number)[] = [];
  const el2: string[] = [];
  const memory: Record<string, boolean> = {};
  let pendingLast = -1;

  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r, 0);
      yield* configureLpi(VPROP_TABLES, VINTID, 0xa0, true);
      yield* drv.init(ITS_LAYOUT);
      yield* drv.send(0, [
        ItsCmd.MAPD({ DeviceID: DEV, Size: 3, ITT_addr: ITT, V: 1 }),
        ItsCmd.VMAPP({ vPEID: VPE0, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_A }),
        ItsCmd.VMAPP({ vPEID: VPE1, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_B }),
        ItsCmd.VMAPTI({ DeviceID: DEV, EventID: EV, vPEID: VPE0, vINTID: VINTID, Dbell_pINTID: DB0 }),
        ItsCmd.VSYNC({ vPEID: VPE0 }),
      ]);
      yield* makeResident(vlpiBase(r, 0), vpe(VPT_A), true);
      dev.start(); // the device's driver enables MSIs once the mapping is in place
      yield* enableVirtualInterface();
      yield* enterGuest(0);
    },
    guest: function* (): Program {
      while (guest0.length < 3) yield wfi();
      yield hvc(1);
      yield* idle();
    },
    guestVectors: { curSpx: { irq: ackHandler(guest0) } },
    hvc: function* (): Program {
      // The vCPU leaves PE 0: deschedule, then the event fires while its vPE is not resident.
      const after: bigint = yield* makeNonResident(vlpiBase(r, 0));
      pendingLast = GICR_VPENDBASER.get(after, 'PendingLast');
      yield* drv.send(0, [ItsCmd.INT({ DeviceID: DEV, EventID: EV }), ItsCmd.VSYNC({ vPEID: VPE0 })]);
      memory.afterIntA = yield* readBit(VPT_A, VINTID);
      // The guest retargets the interrupt to its vCPU 1 (VMOVI, no doorbell), which will run on PE 1.
      yield* drv.send(0, [ItsCmd.VMOVI({ DeviceID: DEV, EventID: EV, vPEID: VPE1, D: 1, Dbell_pINTID: 1023 }), ItsCmd.VSYNC({ vPEID: VPE1 })]);
      memory.afterVmoviA = yield* readBit(VPT_A, VINTID);
      memory.afterVmoviB = yield* readBit(VPT_B, VINTID);
      yield* drv.send(0, [ItsCmd.VMOVP({ vPEID: VPE1, RDbase: 1 }), ItsCmd.VSYNC({ vPEID: VPE1 })]);
      yield str(FLAGS, 1);
    },
    el2Irq: function* (): Program {
      const intid: number = yield mrs(ICC_IAR1_EL1, 9);
      el2.push(`pe0 irq ${intid}`);
      yield msr(ICC_EOIR1_EL1, intid, 9);
    },
  });
  startPe(r, 1, {
    el2: function* () {
      yield* hostInit(r, 1);
      yield* enableVirtualInterface();
      for (;;) {
        const f: number = yield ldr(FLAGS);
        if (f === 1) break;
        yield work(200);
      }
      yield* makeResident(vlpiBase(r, 1), vpe(VPT_B), true);
      dev2.start(); // a new MSI after the move goes to vPE 1, resident on PE 1
      yield* enterGuest(1);
    },
    guest: idle,
    guestVectors: { curSpx: { irq: ackHandler(guest1) } },
  });
  m.run(5e6);

  t.is(gic.its.errorCount, 0);
  t.is(dev.sent, 3);
  t.deepEqual(guest0, [VINTID, VINTID, VINTID]);
  t.is(pendingLast, 0);
  // The doorbell of vPE 0 (not resident on PE 0 when INT arrived) was taken by the host at EL2.
  t.deepEqual(el2, [`pe0 irq ${DB0}`]);
  t.deepEqual(memory, { afterIntA: true, afterVmoviA: false, afterVmoviB: true });
  // PE 1: the moved vLPI (found by the parse), then the new MSI: each exactly once.
  t.deepEqual(guest1, [VINTID, VINTID]);
  t.is(m.trace.of('vpe-residency').filter((x) => x.rd === 1 && x.event === 'parsed')[0]!.found, 1);
  t.false(pendingBit(r, VPT_A, VINTID));
  t.false(pendingBit(r, VPT_B, VINTID));
  // How each vLPI arrived.
  t.deepEqual(
    m.trace.of('vlpi-pending').map((x) => [x.rd, x.vpt === VPT_A ? 'A' : 'B', x.resident, x.doorbell, x.rung]),
    [[0, 'A', true, DB0, false], [0, 'A', true, DB0, false], [0, 'A', true, DB0, false], [0, 'A', false, DB0, true], [0, 'B', false, 1023, false], [1, 'B', true, 1023, false]],
  );
  t.deepEqual(m.trace.of('vlpi').filter((x) => x.what === 'mapped' || x.what === 'unmapped').map((x) => [x.what, x.rd, x.vpt === VPT_A ? 'A' : 'B']), [
    ['mapped', 0, 'A'],
    ['mapped', 0, 'B'],
    ['unmapped', 0, 'B'],
    ['mapped', 1, 'B'],
  ]);
  t.deepEqual([...gic.physical.vlpiFrames[1]!.mappedVpes.keys()], [VPT_B]);
});

test('INV and VINVALL through the ITS: a vLPI pending while disabled is delivered once its byte is enabled and invalidated', (t) => {
  const r = vlpiRig();
  const { m, cfg } = r;
  const drv = new ItsDriver(cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const log: (string | number)[] = [];
  const seen: boolean[] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* configureLpi(VPROP_TABLES, VINTID, 0xa0, false);
      yield* configureLpi(VPROP_TABLES, VINTID2, 0x90, false);
      yield* drv.init(ITS_LAYOUT);
      yield* drv.send(0, [
        ItsCmd.MAPD({ DeviceID: DEV, Size: 3, ITT_addr: ITT, V: 1 }),
        ItsCmd.VMAPP({ vPEID: VPE0, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_A }),
        ItsCmd.VMAPTI({ DeviceID: DEV, EventID: EV, vPEID: VPE0, vINTID: VINTID, Dbell_pINTID: 1023 }),
        ItsCmd.VMAPTI({ DeviceID: DEV, EventID: EV2, vPEID: VPE0, vINTID: VINTID2, Dbell_pINTID: 1023 }),
      ]);
      yield* makeResident(vlpiBase(r, 0), vpe(VPT_A), true);
      yield* drv.send(0, [ItsCmd.INT({ DeviceID: DEV, EventID: EV }), ItsCmd.INT({ DeviceID: DEV, EventID: EV2 }), ItsCmd.VSYNC({ vPEID: VPE0 })]);
      seen.push(yield* readBit(VPT_A, VINTID), yield* readBit(VPT_A, VINTID2));
      // Enabled in the table, but not invalidated yet: the redistributor still uses its cached bytes.
      yield* configureLpi(VPROP_TABLES, VINTID, 0xa0, true);
      yield* configureLpi(VPROP_TABLES, VINTID2, 0x90, true);
      yield* enableVirtualInterface();
      yield* enterGuest(0);
    },
    guest: function* (): Program {
      yield work(20_000);
      log.push('inv');
      yield hvc(1);
      yield work(20_000);
      log.push('vinvall');
      yield hvc(2);
      yield* idle();
    },
    guestVectors: { curSpx: { irq: ackHandler(log) } },
    hvc: function* (imm: number): Program {
      if (imm === 1) yield* drv.send(0, [ItsCmd.INV({ DeviceID: DEV, EventID: EV })]);
      else yield* drv.send(0, [ItsCmd.VINVALL({ vPEID: VPE0 })]);
    },
  });
  m.run(5e6);
  t.is(r.gic.its.errorCount, 0);
  t.deepEqual(seen, [true, true]);
  t.deepEqual(log, ['inv', VINTID, 'vinvall', VINTID2]);
  t.false(pendingBit(r, VPT_A, VINTID));
  t.false(pendingBit(r, VPT_A, VINTID2));
  t.deepEqual(m.trace.of('vlpi').filter((x) => x.what === 'inv' || x.what === 'invall').map((x) => [x.what, x.detail]), [['inv', 1], ['invall', 1]]);
});

