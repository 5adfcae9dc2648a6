/**
 * vLPIs for a vPE that is not resident (IHI 0069H §7.2 "Direct injection of virtual
 * interrupts"): the bit is set in the VPT in
 * memory, nothing reaches the guest, and a GICv4.0 doorbell (Dbell_pINTID != 1023) becomes a
 * physical LPI at the redistributor, through its ordinary LPI path. The hypervisor takes the
 * doorbell at EL2, makes the vPE resident, and the parse presents every pending vLPI exactly once.
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { ldr, mrs, msr, wfi, type Program } from '../../core/ops.js';
import { findRedistributor, initCpuInterface, initDistributor, initPrivateInterrupts, wakeRedistributor } from '../../drivers/gic-init.js';
import { enableVirtualInterface } from '../../drivers/list-registers.js';
import { configureLpi, enableLpis } from '../../drivers/lpi.js';
import { makeResident } from '../../drivers/residency.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../../gic/sysregs.js';
import { ackHandler } from '../helpers/vgic-rig.js';
import { HOST_PROP, ID_BITS, VPROP_TABLES, VPT_A, VPT_B, enterGuest, hostPend, pendingBit, startPe, vlpiBase, vlpiRig, vpe, type VlpiRig } from './vlpi-rig.js';

const DB = 8300;
const V_DB = 8200; // arrives with the doorbell
const V_NODB = 8201; // arrives with Dbell_pINTID = 1023

function* idle(): Program {
  for (;;) yield wfi();
}

/** Host bring-up on PE 0 at EL2: distributor, redistributor, CPU interface, host LPIs with the doorbell at `dbEnabled`. */
function* hostInit(r: VlpiRig, dbEnabled: boolean): Program {
  const tables = { prop: HOST_PROP, idBits: 16 };
  yield* initDistributor(r.cfg.gicdBase);
  const rd: number = yield* findRedistributor(r.cfg.gicrBase);
  yield* wakeRedistributor(rd);
  yield* initPrivateInterrupts(rd, []);
  yield* initCpuInterface();
  yield* configureLpi(tables, DB, 0xa0, dbEnabled);
  yield* enableLpis(rd, tables, hostPend(0));
}

test('not resident: the VPT bit is set, no vIRQ; Dbell = 1023 rings nothing, a doorbell LPI is taken at EL2, and schedule-in delivers every vLPI exactly once', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const frame = vlpiBase(r, 0);
  const guest: (string | number)[] = [];
  const el2: string[] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r, true);
      yield* configureLpi(VPROP_TABLES, V_DB, 0xa0, true);
      yield* configureLpi(VPROP_TABLES, V_NODB, 0x80, true);
      yield* enableVirtualInterface();
      yield* enterGuest(0); // the vPE is not resident yet
    },
    guest: idle,
    guestVectors: { curSpx: { irq: ackHandler(guest) } },
    el2Irq: function* () {
      const intid: number = yield mrs(ICC_IAR1_EL1, 9);
      yield msr(ICC_EOIR1_EL1, intid, 9);
      const vptByte: number = yield ldr(VPT_A + (V_DB >>> 3), 1, 9);
      el2.push(`irq ${intid} vpt=0x${vptByte.toString(16)}`);
      if (intid === DB) yield* makeResident(frame, vpe(VPT_A), true);
    },
  });
  const at19k: unknown[] = [];
  m.events.schedule(new SimEvent('its', 0, () => gic.physical.setVlpiPending(0, VPT_A, ID_BITS, V_NODB, 1023)), 5_000);
  m.events.schedule(
    new SimEvent('check', 0, () => at19k.push(guest.length, el2.length, pendingBit(r, VPT_A, V_NODB), gic.physical.isLpiPending(0, DB), pendingBit(r, hostPend(0), DB))),
    19_000,
  );
  m.events.schedule(new SimEvent('its', 0, () => gic.physical.setVlpiPending(0, VPT_A, ID_BITS, V_DB, DB)), 20_000);
  m.run(2e6);

  // Before the doorbell: the vLPI waits in memory, no vIRQ, no doorbell.
  t.deepEqual(at19k, [0, 0, true, false, false]);
  // The doorbell: one physical LPI taken at EL2, when both bits were in the VPT.
  t.deepEqual(el2, [`irq ${DB} vpt=0x${((1 << (V_DB & 7)) | (1 << (V_NODB & 7))).toString(16)}`]);
  t.deepEqual(m.trace.of('vlpi-pending').map((x) => [x.vintid, x.resident, x.doorbell, x.rung]), [[V_NODB, false, 1023, false], [V_DB, false, DB, true]]);
  t.deepEqual(m.trace.of('vlpi-doorbell').map((x) => [x.rd, x.vpt, x.vintid, x.doorbell, x.accepted]), [[0, VPT_A, V_DB, DB, true]]);
  t.deepEqual(m.trace.of('gic-pending').filter((x) => x.intid === DB).map((x) => [x.pe, x.cause]), [[0, 'lpi']]);
  // Schedule-in found both; the guest took each once, best priority first; the VPT is clean.
  t.is(m.trace.of('vpe-residency').find((x) => x.event === 'parsed')!.found, 2);
  t.deepEqual(guest, [V_NODB, V_DB]);
  t.false(pendingBit(r, VPT_A, V_DB));
  t.false(pendingBit(r, VPT_A, V_NODB));
  t.false(gic.physical.isLpiPending(0, DB));
});

test('the doorbell obeys its own physical configuration: disabled, it is pending in the host pending table but not taken', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const el2: number[] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r, false);
      yield* enableVirtualInterface();
      yield* enterGuest(0);
    },
    guest: idle,
    el2Irq: function* () {
      el2.push(yield mrs(ICC_IAR1_EL1, 9));
    },
  });
  m.events.schedule(new SimEvent('its', 0, () => gic.physical.setVlpiPending(0, VPT_A, ID_BITS, V_DB, DB)), 20_000);
  m.run(2e6);
  t.deepEqual(el2, []);
  t.true(pendingBit(r, VPT_A, V_DB));
  t.true(pendingBit(r, hostPend(0), DB));
  t.true(gic.physical.isLpiPending(0, DB));
  t.like(m.trace.of('vlpi-pending')[0], { resident: false, rung: true });
});

test('residency is matched by VPT address: a vLPI for the resident VPT never rings its doorbell; one for another VPT at the same redistributor does', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const frame = vlpiBase(r, 0);
  startPe(r, 0, {
    el2: function* () {
      yield* hostInit(r, false);
      yield* configureLpi(VPROP_TABLES, V_DB, 0xa0, true);
      yield* makeResident(frame, vpe(VPT_A), true);
    },
  });
  m.run(1e6);
  gic.physical.setVlpiPending(0, VPT_A, ID_BITS, V_DB, DB);
  t.false(gic.physical.isLpiPending(0, DB));
  gic.physical.setVlpiPending(0, VPT_B, ID_BITS, V_DB, DB);
  t.true(gic.physical.isLpiPending(0, DB));
  t.true(pendingBit(r, VPT_A, V_DB));
  t.true(pendingBit(r, VPT_B, V_DB));
  t.deepEqual(m.trace.of('vlpi-pending').map((x) => [x.vpt, x.resident, x.rung]), [[VPT_A, true, false], [VPT_B, false, true]]);
});

test('a doorbell at a redistributor with EnableLPIs = 0 is dropped there (the vLPI still waits in the VPT); vLPIs out of range are dropped and traced', (t) => {
  const r = vlpiRig({ cores: 2 });
  const { m, gic } = r;
  gic.physical.setVlpiPending(1, VPT_A, ID_BITS, V_DB, DB);
  t.true(pendingBit(r, VPT_A, V_DB));
  t.false(gic.physical.isLpiPending(1, DB));
  t.like(m.trace.of('vlpi-pending')[0], { rd: 1, resident: false, rung: false, doorbell: DB });
  t.like(m.trace.of('gic-lpi').find((x) => x.intid === DB), { what: 'dropped' });
  t.deepEqual(m.trace.of('vlpi-doorbell').map((x) => [x.rd, x.doorbell, x.accepted]), [[1, DB, false]]);
  // Below 8192, at or beyond 2^(VPT_size + 1): dropped, nothing written.
  const before = m.bus.memory.pagesAllocated;
  gic.physical.setVlpiPending(1, VPT_B, ID_BITS, 8191, DB);
  gic.physical.setVlpiPending(1, VPT_B, 14, 2 ** 14, DB);
  gic.physical.setVlpiPending(7, VPT_B, ID_BITS, V_DB, DB); // no such redistributor
  t.is(m.bus.memory.pagesAllocated, before);
  t.deepEqual(m.trace.of('vlpi-dropped').map((x) => [x.rd, x.vintid, x.reason]), [[1, 8191, 'range'], [1, 2 ** 14, 'range']]);
  t.is(m.trace.of('vlpi-pending').length, 1);
});
