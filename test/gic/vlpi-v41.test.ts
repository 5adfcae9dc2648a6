/**
 * GICv4.1 direct injection in the architecture's terms (IHI 0069, GICR_VPROPBASER and
 * GICR_VPENDBASER in their GICv4.1 layouts, GICR_INVLPIR/INVALLR with V = 1, GICD_TYPER2, and
 * the ITS commands VMAPP and VMOVP with Default_Doorbell, INVDB): bare-metal programs at EL2 on a
 * `createBoard` machine with `gic.v41`, using the driver library (drivers/its.ts,
 * drivers/residency-v41.ts), and an EL1 guest that acknowledges its vLPIs with ICV_IAR1_EL1.
 *
 * What is checked: the registers a v4.1 driver probes; residency by vPEID (a vLPI for another
 * vPE waits in its VPT); one default doorbell per non-resident period however many vLPIs
 * arrive, none when DB = 0 at deschedule or when an enabled vLPI was still pending; INVDB and
 * GICR_INVLPIR with V = 1; the errors of the new commands.
 */
import test from 'ava';
import fc from 'fast-check';
import { hvc, ldr, mrs, msr, str, wfi, work, type Program } from '../../core/ops.js';
import { findRedistributor, initCpuInterface, initDistributor, initPrivateInterrupts, wakeRedistributor } from '../../drivers/gic-init.js';
import { PhysHeap } from '../../drivers/heap.js';
import { ItsDriver, type ItsInitOptions } from '../../drivers/its.js';
import { enableVirtualInterface } from '../../drivers/list-registers.js';
import { configureLpi, enableLpis } from '../../drivers/lpi.js';
import { makeResident } from '../../drivers/residency.js';
import { inheritVpeTable, invalidateAllVlpisV41, invalidateVlpiV41, makeNonResidentV41, makeResidentV41 } from '../../drivers/residency-v41.js';
import { GICD_TYPER2, GICR_TYPER } from '../../gic/gic-registers.js';
import { ItsCmd, type CommandWords } from '../../gic/its/commands.js';
import { GITS, GITS_BASER, GITS_TYPER } from '../../gic/its/its-registers.js';
import { GICD, GICR } from '../../gic/mmio-offsets.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../../gic/sysregs.js';
import { GICR_VPENDBASER_V41, GICR_VPROPBASER_V41 } from '../../gic/vlpi-registers.js';
import { ackHandler } from '../helpers/vgic-rig.js';
import { FLAGS, HOST_PROP, VPROP, VPROP_TABLES, VPT_A, VPT_B, enterGuest, hostPend, pendingBit, rdBase, startPe, vlpiBase, vlpiRig, vpe, type VlpiRig } from './vlpi-rig.js';

const QUEUE = 0x4d00_0000;
const DEVICES = 0x4d10_0000;
const COLLECTIONS = 0x4d20_0000;
const VPES = 0x4d30_0000;
const ITT = 0x4d40_0000;
const HEAP = 0x5000_0000;
const ITS_LAYOUT: ItsInitOptions = { tables: { devices: { base: DEVICES }, collections: { base: COLLECTIONS }, vpes: { base: VPES } }, queue: QUEUE, queueBytes: 0x1000 };
const HOST_TABLES = { prop: HOST_PROP, idBits: 16 };

const DEV = 0x21;
/** Events 0-3 of DEV map to vINTIDs V[0..3] of vPE 0; event 4 to V[0] of vPE 1. */
const V = [8200, 8201, 8202, 8203] as const;
const DB0 = 8300;
const DB1 = 8301;
const VPE0 = 0;
const VPE1 = 1;

function v41Rig(): VlpiRig {
  return vlpiRig({ gic: { v41: true } });
}

/** Host bring-up at EL2 on PE 0: distributor, redistributor, CPU interface, host LPIs with both doorbells enabled. */
function* hostInit(r: VlpiRig): Program {
  yield* initDistributor(r.cfg.gicdBase);
  const rd: number = yield* findRedistributor(r.cfg.gicrBase);
  yield* wakeRedistributor(rd);
  yield* initPrivateInterrupts(rd, []);
  yield* initCpuInterface();
  yield* configureLpi(HOST_TABLES, DB0, 0xa0, true);
  yield* configureLpi(HOST_TABLES, DB1, 0xa0, true);
  yield* enableLpis(rd, HOST_TABLES, hostPend(0));
}

/** The ITS set up, the vPE table shared with this redistributor, vPEs 0 and 1 mapped (v4.1 VMAPP), events mapped with Dbell = 1023. */
function* itsInit(r: VlpiRig, drv: ItsDriver): Program {
  for (const v of V) yield* configureLpi(VPROP_TABLES, v, 0xa0, true);
  yield* drv.init(ITS_LAYOUT);
  yield* inheritVpeTable(r.cfg.itsBase, vlpiBase(r, 0));
  yield* drv.send(0, [
    ItsCmd.MAPD({ DeviceID: DEV, Size: 3, ITT_addr: ITT, V: 1 }),
    ItsCmd.VMAPP({ vPEID: VPE0, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_A, Alloc: 1, VConf_addr: VPROP, Default_Doorbell: DB0 }),
    ItsCmd.VMAPP({ vPEID: VPE1, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_B, Alloc: 1, VConf_addr: VPROP, Default_Doorbell: DB1 }),
    ...V.map((v, ev) => ItsCmd.VMAPTI({ DeviceID: DEV, EventID: ev, vPEID: VPE0, vINTID: v, Dbell_pINTID: 1023 })),
    ItsCmd.VMAPTI({ DeviceID: DEV, EventID: 4, vPEID: VPE1, vINTID: V[0], Dbell_pINTID: 1023 }),
    ItsCmd.VSYNC({ vPEID: VPE0 }),
  ]);
}

/** Physical interrupts pending at EL2 (polled with ICC_IAR1_EL1 at EL2, each EOIed), after letting the GIC settle. */
function* takePhysical(out: number[]): Program {
  yield work(5000);
  for (;;) {
    const id: number = yield mrs(ICC_IAR1_EL1, 9);
    if (id === 1023) return;
    out.push(id);
    yield msr(ICC_EOIR1_EL1, id, 9);
  }
}

const ints = (...events: number[]): CommandWords[] => [...events.map((e) => ItsCmd.INT({ DeviceID: DEV, EventID: e })), ItsCmd.VSYNC({ vPEID: VPE0 })];

/**
 * Runs a guest on vPE 0 at PE 0: EL2 sets everything up, makes vPE 0 resident, raises `first`
 * events and enters the guest. The guest acknowledges vLPIs; each time it has taken `want[k]`
 * of them it calls HVC #k+1, and EL2 runs `phases[k]`, then returns to it.
 */
function runGuest(r: VlpiRig, drv: ItsDriver, first: number[], want: number[], phases: (() => Program)[], el2Irqs: number[]): (string | number)[] {
  const guest: (string | number)[] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r);
      yield* itsInit(r, drv);
      yield* makeResidentV41(vlpiBase(r, 0), VPE0, true);
      yield* enableVirtualInterface();
      if (first.length > 0) yield* drv.send(0, ints(...first));
      yield* enterGuest(0);
    },
    guest: function* (): Program {
      for (let k = 0; k < want.length; k++) {
        while (guest.length < want[k]!) yield wfi();
        yield hvc(k + 1);
      }
      for (;;) yield wfi();
    },
    guestVectors: { curSpx: { irq: ackHandler(guest) } },
    hvc: function* (imm: number): Program {
      yield* phases[imm - 1]!();
    },
    el2Irq: function* (): Program {
      const id: number = yield mrs(ICC_IAR1_EL1, 9);
      el2Irqs.push(id);
      yield msr(ICC_EOIR1_EL1, id, 9);
    },
  });
  r.m.run(3e6);
  return guest;
}

test('GICv4.1 registers: GICR_TYPER.RVPEID, GICD_TYPER2 (VID, VIL), GITS_TYPER (VMAPP, SVPET, nID), a 16-byte vPE table, GICR_VPROPBASER.Entry_Size; GICv4.0 unchanged', (t) => {
  for (const v41 of [false, true]) {
    const r = vlpiRig({ gic: { v41, its: { vpeIdBits: 12 } } });
    const seen: Record<string, number | bigint> = {};
    startPe(r, 0, {
      el2: function* () {
        seen.gicrTyper = (yield ldr(rdBase(r, 0) + GICR.TYPER, 8, 9)) as bigint;
        seen.typer2 = (yield ldr(r.cfg.gicdBase + GICD.TYPER2, 4, 9)) as number;
        seen.gitsTyper = (yield ldr(r.cfg.itsBase + GITS.TYPER, 8, 9)) as bigint;
        seen.baser2 = (yield ldr(r.cfg.itsBase + GITS.BASER + 16, 8, 9)) as bigint;
        seen.vpropbaser = (yield ldr(vlpiBase(r, 0) + 0x70, 8, 9)) as bigint;
        for (;;) yield wfi();
      },
    });
    r.m.run(20_000);
    const gicr = GICR_TYPER.decode(seen.gicrTyper as bigint);
    const its = GITS_TYPER.decode(Number(seen.gitsTyper as bigint));
    const got = {
      RVPEID: gicr.RVPEID,
      VLPIS: gicr.VLPIS,
      typer2: GICD_TYPER2.decode(Number(seen.typer2)),
      VMAPP: its.VMAPP,
      SVPET: its.SVPET,
      nID: its.nID,
      VSGI: its.VSGI,
      vpeEntryBytes: GITS_BASER.decode(seen.baser2 as bigint).Entry_Size + 1,
      vpropEntrySize: GICR_VPROPBASER_V41.decode(seen.vpropbaser as bigint).Entry_Size,
    };
    if (v41) t.deepEqual(got, { RVPEID: 1, VLPIS: 1, typer2: { VID: 11, VIL: 1, nASSGIcap: 1 }, VMAPP: 1, SVPET: 1, nID: 1, VSGI: 1, vpeEntryBytes: 16, vpropEntrySize: 1 });
    else t.deepEqual(got, { RVPEID: 0, VLPIS: 1, typer2: { VID: 0, VIL: 0, nASSGIcap: 0 }, VMAPP: 0, SVPET: 0, nID: 0, VSGI: 0, vpeEntryBytes: 8, vpropEntrySize: 0 });
  }
});

test('residency by vPEID: a vLPI for vPE 0 reaches the guest while vPE 0 is resident; one for vPE 1 (same vINTID) waits in VPT B and rings no doorbell it did not ask for', (t) => {
  const r = v41Rig();
  const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const el2: number[] = [];
  const guest = runGuest(r, drv, [0, 4], [], [], el2);
  t.deepEqual(guest, [V[0]]);
  t.true(pendingBit(r, VPT_B, V[0]));
  t.false(pendingBit(r, VPT_A, V[0]));
  t.deepEqual(el2, []);
  // The residency the redistributor latched: vPEID 0's VPT, read from the shared vPE table.
  t.deepEqual(r.m.trace.of('vpe-residency').filter((x) => x.event === 'schedule').map((x) => x.vpt), [VPT_A]);
});

test('the default doorbell rings once per non-resident period however many vLPIs arrive (DB = 1, PendingLast = 0); none with DB = 0; none when an enabled vLPI is still pending at deschedule', (t) => {
  const r = v41Rig();
  const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const frame = vlpiBase(r, 0);
  const el2Irqs: number[] = [];
  const doorbells: number[][] = [];
  const pendingLast: number[] = [];
  const leave = function* (db: boolean): Program {
    const v: bigint = yield* makeNonResidentV41(frame, db);
    pendingLast.push(GICR_VPENDBASER_V41.get(v, 'PendingLast'));
  };
  const period = (db: boolean, events: number[], pendingBefore: number[] = []) =>
    function* (): Program {
      if (pendingBefore.length > 0) yield* drv.send(0, ints(...pendingBefore)); // while resident: the guest is at EL2, it cannot take them
      yield* leave(db);
      yield* drv.send(0, ints(...events));
      const got: number[] = [];
      yield* takePhysical(got);
      doorbells.push(got);
      yield* makeResidentV41(frame, VPE0, true);
    };
  const guest = runGuest(
    r,
    drv,
    [0],
    [1, 4, 5, 6],
    [
      period(true, [0, 1, 2]), // blocks: three vLPIs, one doorbell
      period(true, [1]), // blocks again: a new period, a new doorbell
      period(false, [2]), // preempted (DB = 0): no doorbell
      period(true, [0], [3]), // V3 pending and enabled at deschedule: DB treated as 0
    ],
    el2Irqs,
  );
  t.deepEqual(doorbells, [[DB0], [DB0], [], []]);
  // PendingLast is computed at the end of the flush: 1 only when an enabled vLPI was pending (the value written is a request, not a result).
  t.deepEqual(pendingLast, [0, 0, 0, 1]);
  t.deepEqual(el2Irqs, []);
  // Every vLPI reached the guest exactly once (the doorbell is only a wake-up).
  t.deepEqual([...guest].sort(), [V[0], V[0], V[0], V[1], V[1], V[2], V[2], V[3]].sort());
  t.is(r.gic.physical.defaultDoorbells!.rung, 2);
  t.deepEqual(r.m.trace.of('vlpi-doorbell').map((x) => [x.vintid, x.doorbell, x.accepted]), [[V[0], DB0, true], [V[1], DB0, true]]);
});

/** EL2 only (no guest): a non-resident period of vPE 0 in which event 0 arrives; returns the physical interrupts EL2 then finds. */
function* blockedPeriod(r: VlpiRig, drv: ItsDriver): Program<number[]> {
  const frame = vlpiBase(r, 0);
  yield* makeResidentV41(frame, VPE0, true);
  yield* drv.send(0, [ItsCmd.CLEAR({ DeviceID: DEV, EventID: 0 }), ItsCmd.VSYNC({ vPEID: VPE0 })]); // nothing left pending from the last period
  yield* makeNonResidentV41(frame, true);
  yield* drv.send(0, ints(0));
  const got: number[] = [];
  yield* takePhysical(got);
  return got;
}

test('INVDB: the redistributors re-read the default doorbell LPI\'s configuration; without it a cached Enable = 1 still delivers the doorbell', (t) => {
  const r = v41Rig();
  const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const got: number[][] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r);
      yield* itsInit(r, drv);
      got.push(yield* blockedPeriod(r, drv)); // DB0 enabled: taken (its configuration is now cached)
      yield* configureLpi(HOST_TABLES, DB0, 0xa0, false); // disabled in memory only
      got.push(yield* blockedPeriod(r, drv)); // the cached byte still says enabled
      yield* drv.send(0, [ItsCmd.INVDB({ vPEID: VPE0 })]);
      got.push(yield* blockedPeriod(r, drv)); // rung, pending, but disabled: not signalled
      yield* configureLpi(HOST_TABLES, DB0, 0xa0, true);
      yield* drv.send(0, [ItsCmd.INVDB({ vPEID: VPE0 })]);
      const after: number[] = [];
      yield* takePhysical(after); // the doorbell left pending becomes deliverable
      got.push(after);
      for (;;) yield wfi();
    },
  });
  r.m.run(3e6);
  t.deepEqual(got, [[DB0], [DB0], [], [DB0]]);
  t.is(r.gic.its.errorCount, 0);
  t.is(r.gic.physical.defaultDoorbells!.rung, 3);
});

test('GICR_INVLPIR / GICR_INVALLR with V = 1 and the vPEID: the resident vPE re-reads a vLPI\'s configuration; without them a cached Enable = 1 still delivers', (t) => {
  const r = v41Rig();
  const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const rd = rdBase(r, 0);
  const vptWhileDisabled: boolean[] = [];
  const guest = runGuest(
    r,
    drv,
    [1],
    [1, 2, 3],
    [
      function* () {
        yield* configureLpi(VPROP_TABLES, V[1], 0xa0, false); // memory only: the redistributor's cached byte says enabled
        yield* drv.send(0, ints(1));
      },
      function* () {
        yield* invalidateVlpiV41(rd, VPE0, V[1]);
        yield* drv.send(0, ints(1));
        yield work(5000);
        const b: number = yield ldr(VPT_A + (V[1] >>> 3), 1, 9);
        vptWhileDisabled.push((b & (1 << (V[1] & 7))) !== 0);
        yield* configureLpi(VPROP_TABLES, V[1], 0xa0, true);
        yield* invalidateAllVlpisV41(rd, VPE0);
      },
      function* () {},
    ],
    [],
  );
  t.deepEqual(guest, [V[1], V[1], V[1]]);
  t.deepEqual(vptWhileDisabled, [true]);
  t.deepEqual(r.m.trace.of('vlpi').filter((x) => x.what === 'inv' || x.what === 'invall').map((x) => [x.what, x.vpt, x.vintid]), [['inv', VPT_A, V[1]], ['invall', VPT_A, -1]]);
});

test('VMAPP v4.1 writes VConf_addr and Default_Doorbell into the shared vPE table; VMOVP with DB = 1 changes the default doorbell, DB = 0 keeps it', (t) => {
  const r = v41Rig();
  const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const got: number[][] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r);
      yield* itsInit(r, drv);
      got.push(yield* blockedPeriod(r, drv));
      yield* drv.send(0, [ItsCmd.VMOVP({ vPEID: VPE0, RDbase: 0, DB: 1, Default_Doorbell: DB1 })]);
      got.push(yield* blockedPeriod(r, drv));
      yield* drv.send(0, [ItsCmd.VMOVP({ vPEID: VPE0, RDbase: 0, DB: 0, Default_Doorbell: DB0 })]);
      got.push(yield* blockedPeriod(r, drv));
      for (;;) yield wfi();
    },
  });
  r.m.run(3e6);
  t.deepEqual(got, [[DB0], [DB1], [DB1]]);
  // The 16-byte VTE of vPE 1 in memory: VPT_B and 16 bits at [5:1], RD 0; Doorbell [23:0] and VConf_addr [59:24] in bytes 8-15.
  const mem = r.m.bus.memory;
  const lo = mem.read32(VPES + 16) + mem.read32(VPES + 20) * 2 ** 32;
  t.is(lo % 2, 1);
  t.is(Math.floor(lo / 2) % 32, 15);
  t.is(Math.floor(lo / 64) % 2 ** 36, VPT_B / 0x10000);
  const hi = BigInt(mem.read32(VPES + 24)) + (BigInt(mem.read32(VPES + 28)) << 32n);
  t.is(Number(hi & 0xff_ffffn), DB1);
  t.is(Number((hi >> 24n) & (2n ** 36n - 1n)), VPROP / 0x10000);
});

test('errors of the GICv4.1 commands are recorded and skipped: VMAPP and VMOVP with a Default_Doorbell that is neither 1023 nor an LPI, INVDB of a vPEID out of range or unmapped; a GICv4.0 ITS refuses INVDB as an unknown command', (t) => {
  for (const v41 of [true, false]) {
    const r = vlpiRig({ gic: { v41 } });
    const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
    startPe(r, 0, {
      el2: function* () {
        yield* hostInit(r);
        yield* itsInit(r, drv);
        yield* drv.send(0, [
          ItsCmd.VMAPP({ vPEID: 2, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT_B, Alloc: 1, VConf_addr: VPROP, Default_Doorbell: 5000 }),
          ItsCmd.VMOVP({ vPEID: VPE0, RDbase: 0, DB: 1, Default_Doorbell: 100 }),
          ItsCmd.INVDB({ vPEID: 300 }), // the flat 4 KB vPE table holds 256 16-byte entries
          ItsCmd.INVDB({ vPEID: 5 }),
          ItsCmd.INVDB({ vPEID: VPE0 }),
        ]);
        for (;;) yield wfi();
      },
    });
    r.m.run(2e6);
    const errs = r.gic.its.errors.map((e) => [e.name, e.code.toString(16), e.outcome]);
    if (v41) {
      t.deepEqual(errs, [
        ['VMAPP_DOORBELL_OOR', '12913', 'skipped'],
        ['VMOVP_DOORBELL_OOR', '12213', 'skipped'],
        ['INVDB_VPEID_OOR', '12e10', 'skipped'],
        ['INVDB_UNMAPPED_VPE', '12e11', 'skipped'],
      ]);
      // The refused VMAPP left vPE 2 unmapped, the refused VMOVP left vPE 0's doorbell alone.
      t.is(r.m.bus.memory.read32(VPES + 32) & 1, 0);
      t.is(r.m.bus.memory.read32(VPES + 8) & 0xff_ffff, DB0);
    } else {
      // GICv4.0: the v4.1 fields are RES0 and ignored (VMAPP and VMOVP succeed); INVDB is not a command.
      t.deepEqual(errs, [['INVDB_UNKNOWN_COMMAND', '12eff', 'skipped'], ['INVDB_UNKNOWN_COMMAND', '12eff', 'skipped'], ['INVDB_UNKNOWN_COMMAND', '12eff', 'skipped']]);
    }
  }
});

test('property: over random non-resident periods (DB = 0/1, a vLPI left pending or not, enabled and disabled vLPIs arriving), exactly the periods with DB = 1, nothing pending and enabled at deschedule, and at least one enabled arrival ring the default doorbell, once', (t) => {
  // ev0, ev1: enabled vLPIs; ev2: a disabled one; ev3: an enabled one.
  const arrival = fc.constantFrom(0, 1, 2);
  const periodArb = fc.record({ db: fc.boolean(), before: fc.constantFrom(-1, 2, 3), arrivals: fc.array(arrival, { maxLength: 4 }) });
  fc.assert(
    fc.property(fc.array(periodArb, { minLength: 1, maxLength: 4 }), (periods) => {
      const r = v41Rig();
      const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
      const frame = vlpiBase(r, 0);
      const got: number[][] = [];
      startPe(r, 0, {
        el2: function* () {
          yield* hostInit(r);
          yield* itsInit(r, drv);
          yield* configureLpi(VPROP_TABLES, V[2], 0xa0, false);
          for (const p of periods) {
            yield* makeResidentV41(frame, VPE0, true);
            yield* drv.send(0, [0, 1, 2, 3].map((e) => ItsCmd.CLEAR({ DeviceID: DEV, EventID: e })));
            if (p.before >= 0) yield* drv.send(0, ints(p.before));
            yield* makeNonResidentV41(frame, p.db);
            if (p.arrivals.length > 0) yield* drv.send(0, ints(...p.arrivals));
            const taken: number[] = [];
            yield* takePhysical(taken);
            got.push(taken);
          }
          for (;;) yield wfi();
        },
      });
      r.m.run(4e6);
      const want = periods.map((p) => (p.db && p.before !== 3 && p.arrivals.some((a) => a !== 2) ? [DB0] : []));
      t.deepEqual(got, want);
      return r.gic.physical.defaultDoorbells!.rung === want.filter((w) => w.length > 0).length;
    }),
    { numRuns: 12, seed: 17 },
  );
});

test('one vPE-table sharing domain: with no VMOVP, a vLPI the ITS sends to the RD of VMAPP (PE 0) reaches vPE 0 resident on PE 1, and GICR_INVLPIR at PE 0 invalidates it there; on GICv4.0 it is lost (CHOICE: the VPT belongs to the RD where the vPE is resident)', (t) => {
  for (const v41 of [true, false]) {
    const r = vlpiRig({ cores: 2, gic: { v41 } });
    const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
    const guest1: (string | number)[] = [];
    startPe(r, 0, {
      el2: function* () {
        yield* hostInit(r);
        yield* itsInit(r, drv); // VMAPP RDbase = PE 0 (v4.0: the same commands; the v4.1 fields are ignored)
        yield* configureLpi(VPROP_TABLES, V[2], 0xa0, false);
        yield str(FLAGS, 1);
        for (;;) yield wfi();
      },
    });
    startPe(r, 1, {
      el2: function* () {
        while (((yield ldr(FLAGS, 4, 9)) as number) !== 1) yield work(200);
        const rd: number = yield* findRedistributor(r.cfg.gicrBase);
        yield* wakeRedistributor(rd);
        yield* initPrivateInterrupts(rd, []);
        yield* initCpuInterface();
        yield* enableLpis(rd, HOST_TABLES, hostPend(1));
        if (v41) {
          yield* inheritVpeTable(r.cfg.itsBase, vlpiBase(r, 1));
          yield* makeResidentV41(vlpiBase(r, 1), VPE0, true);
        } else yield* makeResident(vlpiBase(r, 1), vpe(VPT_A), true);
        yield* enableVirtualInterface();
        yield* drv.send(1, ints(0));
        // V2 is disabled in the VM's table: enabling it takes an invalidation at the RD that has the vPE.
        yield* drv.send(1, ints(2));
        yield* configureLpi(VPROP_TABLES, V[2], 0xa0, true);
        if (v41) yield* invalidateVlpiV41(rdBase(r, 0), VPE0, V[2]);
        yield* enterGuest(1);
      },
      guest: function* (): Program {
        for (;;) yield wfi();
      },
      guestVectors: { curSpx: { irq: ackHandler(guest1) } },
    });
    r.m.run(2e6);
    if (v41) t.deepEqual(guest1, [V[0], V[2]]);
    else {
      t.deepEqual(guest1, []);
      t.false(pendingBit(r, VPT_A, V[0]));
      t.is(r.gic.physical.vlpiFrames[0]!.vlpisLostElsewhere, 2);
    }
  }
});

test('GICR_VPENDBASER.Valid = 1 naming a vPEID with no valid vPE table entry (or before GICR_VPROPBASER is valid) is ignored: Valid reads 0 and the write is traced', (t) => {
  const r = v41Rig();
  const drv = new ItsDriver(r.cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const frame = vlpiBase(r, 0);
  const valid: number[] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r);
      yield* makeResidentV41(frame, VPE0, true); // GICR_VPROPBASER.Valid = 0 yet
      valid.push(GICR_VPENDBASER_V41.get((yield ldr(frame + 0x78, 8, 9)) as bigint, 'Valid'));
      yield* itsInit(r, drv);
      yield* makeResidentV41(frame, 7, true); // never mapped
      valid.push(GICR_VPENDBASER_V41.get((yield ldr(frame + 0x78, 8, 9)) as bigint, 'Valid'));
      yield* makeResidentV41(frame, VPE1, true);
      valid.push(GICR_VPENDBASER_V41.get((yield ldr(frame + 0x78, 8, 9)) as bigint, 'Valid'));
      for (;;) yield wfi();
    },
  });
  r.m.run(2e6);
  t.deepEqual(valid, [0, 0, 1]);
  t.deepEqual(
    r.m.trace.of('gic-ignored').filter((x) => x.block === 'GICR0.VLPI_base').map((x) => x.what),
    ['GICR_VPENDBASER.Valid = 1 while GICR_VPROPBASER.Valid = 0', 'GICR_VPENDBASER names vPEID 7 with no valid vPE table entry'],
  );
});
