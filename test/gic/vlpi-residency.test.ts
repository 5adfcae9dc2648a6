/**
 * Residency through the VLPI_base frame (IHI 0069, GICR_VPENDBASER; IHI 0069H §7.2), driven through
 * MMIO and system registers only: GICR_VPENDBASER.Dirty while the redistributor parses the VPT
 * and while it flushes, a vLPI of the resident vPE reaching an EL1 guest through ICV_IAR1,
 * PendingLast after a deschedule, and the writes the model ignores (CHOICEs in vlpi-frame.ts).
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { ldr, str, wfi, type Program } from '../../core/ops.js';
import { enableVirtualInterface } from '../../drivers/list-registers.js';
import { configureLpi } from '../../drivers/lpi.js';
import { makeNonResident, makeResident, waitVpendClean, type DirtyPolls } from '../../drivers/residency.js';
import { GICR_VLPI } from '../../gic/mmio-offsets.js';
import { GICR_VPENDBASER, GICR_VPROPBASER } from '../../gic/vlpi-registers.js';
import { ackHandler } from '../helpers/vgic-rig.js';
import { ID_BITS, VPROP, VPROP_TABLES, VPT_A, VPT_B, enterGuest, pendingBit, startPe, vlpiBase, vlpiRig, vpe } from './vlpi-rig.js';

const VINTID = 8200;

function* idle(): Program {
  for (;;) yield wfi();
}

const dirty = (v: bigint): number => GICR_VPENDBASER.get(v, 'Dirty');
const pendingLast = (v: bigint): number => GICR_VPENDBASER.get(v, 'PendingLast');

test('schedule-in: Dirty reads 1 for vpeScheduleDirty cycles; a vLPI then reaches the EL1 guest as a vIRQ, ICV_IAR1 returns it and clears its VPT bit', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const frame = vlpiBase(r, 0);
  const polls: DirtyPolls & { values: bigint[] } = { dirtyPolls: 0, values: [] };
  const log: (string | number)[] = [];
  startPe(r, 0, {
    el2: function* () {
      yield* configureLpi(VPROP_TABLES, VINTID, 0xa0, true);
      yield* makeResident(frame, vpe(VPT_A), true, 0, polls);
      yield* enableVirtualInterface();
      yield* enterGuest(0);
    },
    guest: idle,
    guestVectors: { curSpx: { irq: ackHandler(log) } },
  });
  const seen: boolean[] = [];
  m.events.schedule(
    new SimEvent('its', 0, () => {
      gic.physical.setVlpiPending(0, VPT_A, ID_BITS, VINTID, 1023);
      seen.push(pendingBit(r, VPT_A, VINTID));
    }),
    20_000,
  );
  m.run(1e6);

  // Software polled Dirty: 1 while the redistributor parsed the VPT, then 0; Valid reads 1 throughout.
  t.true(polls.values.length >= 2);
  t.is(dirty(polls.values[0]!), 1);
  t.is(dirty(polls.values[polls.values.length - 1]!), 0);
  t.true(polls.values.every((v) => GICR_VPENDBASER.get(v, 'Valid') === 1));
  t.is(polls.dirtyPolls, polls.values.length - 1);
  const res = m.trace.of('vpe-residency');
  t.deepEqual(res.map((x) => [x.event, x.vpt, x.valid, x.dirty, x.found]), [['schedule', VPT_A, true, m.costs.vpeScheduleDirty, 0], ['parsed', VPT_A, true, 0, 0]]);
  const parsedAt = res[1]!.t;
  t.is(parsedAt - res[0]!.t, m.costs.vpeScheduleDirty);
  const reads = m.trace.of('mmio').filter((x) => !x.write && x.addr === frame + GICR_VLPI.VPENDBASER);
  t.is(reads.length, polls.values.length);
  for (const x of reads) t.is(dirty(x.value as bigint), x.t < parsedAt ? 1 : 0, `read at ${x.t}`);

  // The vLPI: written to the VPT, taken by the guest, acknowledged through ICV_IAR1, bit cleared.
  t.deepEqual(seen, [true]);
  t.deepEqual(log, [VINTID]);
  t.false(pendingBit(r, VPT_A, VINTID));
  t.deepEqual(m.trace.of('icv-ack').map((x) => [x.source, x.vintid, x.priority]), [['vlpi', VINTID, 0xa0]]);
  t.like(m.trace.of('vlpi-pending')[0], { rd: 0, vpt: VPT_A, vintid: VINTID, resident: true, fresh: true, doorbell: 1023, rung: false });
  // First arrival of this vINTID while resident: one configuration fetch.
  t.deepEqual(m.trace.of('vlpi').map((x) => [x.what, x.vintid, x.detail]), [['fill', VINTID, 0xa3]]);
  t.is(gic.physical.vlpiSources[0]!.best(), -1);
});

test('deschedule: residency ends at once, Dirty reads 1 (and PendingLast 1) for vpeDescheduleDirty cycles, then PendingLast says whether a pending enabled vLPI remains', (t) => {
  const cases = [
    { name: 'pending and enabled', pending: [VINTID], enabled: true, want: 1 },
    { name: 'nothing pending', pending: [], enabled: true, want: 0 },
    { name: 'only a disabled one', pending: [VINTID], enabled: false, want: 0 },
    { name: 'a disabled one and an enabled one far above it', pending: [VINTID, 60000], enabled: false, want: 1 },
  ];
  for (const c of cases) {
    const r = vlpiRig();
    const { m, gic } = r;
    const frame = vlpiBase(r, 0);
    const polls: DirtyPolls & { values: bigint[] } = { dirtyPolls: 0, values: [] };
    let after = -1n;
    let bestWhileResident = -2;
    startPe(r, 0, {
      el2: function* () {
        yield* configureLpi(VPROP_TABLES, VINTID, 0xa0, c.enabled);
        yield* configureLpi(VPROP_TABLES, 60000, 0x80, true);
        yield* makeResident(frame, vpe(VPT_A), true);
        bestWhileResident = gic.physical.vlpiSources[0]!.best();
        after = yield* makeNonResident(frame, polls);
      },
    });
    // Before the vPE is resident: the ITS delivers its vLPIs (no doorbell).
    for (const v of c.pending) gic.physical.setVlpiPending(0, VPT_A, ID_BITS, v, 1023);
    m.run(1e6);
    t.is(pendingLast(after), c.want, c.name);
    t.is(dirty(after), 0, c.name);
    t.is(GICR_VPENDBASER.get(after, 'Valid'), 0, c.name);
    // The first wait (before Valid is cleared) read once: the parse was done. While the flush ran
    // (the reads after the write of Valid = 0) Dirty and PendingLast (UNKNOWN) read 1.
    t.is(dirty(polls.values[0]!), 0, c.name);
    t.is(GICR_VPENDBASER.get(polls.values[0]!, 'Valid'), 1, c.name);
    t.is(dirty(polls.values[1]!), 1, c.name);
    t.is(pendingLast(polls.values[1]!), 1, c.name);
    t.is(dirty(polls.values[polls.values.length - 1]!), 0, c.name);
    const res = m.trace.of('vpe-residency');
    t.deepEqual(res.map((x) => x.event), ['schedule', 'parsed', 'deschedule', 'flushed'], c.name);
    t.is(res[1]!.found, c.pending.length, c.name);
    t.is(res[3]!.t - res[2]!.t, m.costs.vpeDescheduleDirty, c.name);
    t.is(res[3]!.pendingLast, c.want, c.name);
    // The pending bits are still in the VPT: PendingLast only reports them.
    for (const v of c.pending) t.true(pendingBit(r, VPT_A, v), c.name);
    t.is(gic.physical.vlpiSources[0]!.best(), -1, c.name);
    if (c.pending.length > 0 && c.want === 1) t.true(bestWhileResident >= 0, c.name);
  }
});

test('a vLPI arriving while the VPT is parsed is found by the parse, not lost or doubled', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const frame = vlpiBase(r, 0);
  const log: (string | number)[] = [];
  let writeAt = -1;
  startPe(r, 0, {
    el2: function* () {
      yield* configureLpi(VPROP_TABLES, VINTID, 0xa0, true);
      yield* enableVirtualInterface();
      writeAt = m.now;
      yield* makeResident(frame, vpe(VPT_A), true);
      yield* enterGuest(0);
    },
    guest: idle,
    guestVectors: { curSpx: { irq: ackHandler(log) } },
  });
  // Arrives 500 cycles into the 1500-cycle parse.
  let bestDuringParse = -2;
  m.events.schedule(
    new SimEvent('its', 0, () => {
      gic.physical.setVlpiPending(0, VPT_A, ID_BITS, VINTID, 1023);
      bestDuringParse = gic.physical.vlpiSources[0]!.best();
    }),
    1000,
  );
  m.run(1e6);
  t.true(writeAt < 1000 && writeAt + m.costs.vpeScheduleDirty > 1000, `schedule at ${writeAt}`);
  t.is(bestDuringParse, -1);
  t.deepEqual(log, [VINTID]);
  t.is(m.trace.of('vpe-residency')[1]!.found, 1);
  t.like(m.trace.of('vlpi-pending')[0], { resident: true, rung: false });
  t.false(pendingBit(r, VPT_A, VINTID));
});

test('CHOICEs: VPENDBASER writes while Dirty = 1 and changes of other fields while Valid = 1 are ignored; VPROPBASER is read-only while Valid = 1; IDAI reads back as written', (t) => {
  const r = vlpiRig();
  const { m } = r;
  const frame = vlpiBase(r, 0);
  const seen: Record<string, bigint> = {};
  const vpend = frame + GICR_VLPI.VPENDBASER;
  const vprop = frame + GICR_VLPI.VPROPBASER;
  startPe(r, 0, {
    el2: function* () {
      yield str(vprop, GICR_VPROPBASER.encode({ PA: VPROP / 0x1000, IDbits: ID_BITS - 1 }), 8);
      yield str(vpend, GICR_VPENDBASER.encode({ PA: VPT_A / 0x10000, Valid: 1, IDAI: 1 }), 8);
      // Still Dirty: clearing Valid now is ignored.
      yield str(vpend, GICR_VPENDBASER.encode({ PA: VPT_A / 0x10000, Valid: 0 }), 8);
      seen.dirty = yield ldr(vpend, 8);
      seen.clean = yield* waitVpendClean(frame);
      // Valid = 1: a new VPT address (other fields) is ignored; so is VPROPBASER.
      yield str(vpend, GICR_VPENDBASER.encode({ PA: VPT_B / 0x10000, Valid: 1, IDAI: 1 }), 8);
      yield str(vprop, GICR_VPROPBASER.encode({ PA: 0x12345, IDbits: 13 }), 8);
      seen.stillA = yield ldr(vpend, 8);
      seen.prop = yield ldr(vprop, 8);
      // Clearing Valid with the same fields is accepted.
      seen.after = yield* makeNonResident(frame);
      // Valid = 0: VPROPBASER is writable again, and a Valid 0 -> 0 write stores its fields.
      yield str(vprop, GICR_VPROPBASER.encode({ PA: 0x12345, IDbits: 13 }), 8);
      seen.prop2 = yield ldr(vprop, 8);
      yield str(vpend, GICR_VPENDBASER.encode({ PA: VPT_B / 0x10000, PendingLast: 0, IDAI: 0 }), 8);
      seen.idle = yield ldr(vpend, 8);
    },
  });
  m.run(1e6);
  t.is(GICR_VPENDBASER.get(seen.dirty!, 'Valid'), 1);
  t.is(GICR_VPENDBASER.get(seen.dirty!, 'Dirty'), 1);
  t.is(seen.clean, GICR_VPENDBASER.encode({ PA: VPT_A / 0x10000, Valid: 1, PendingLast: 1, IDAI: 1 }));
  t.is(seen.stillA, seen.clean);
  t.is(seen.prop, GICR_VPROPBASER.encode({ PA: VPROP / 0x1000, IDbits: ID_BITS - 1 }));
  t.is(seen.after, GICR_VPENDBASER.encode({ PA: VPT_A / 0x10000, Valid: 0, PendingLast: 0, IDAI: 1 }));
  t.is(seen.prop2, GICR_VPROPBASER.encode({ PA: 0x12345, IDbits: 13 }));
  t.is(seen.idle, GICR_VPENDBASER.encode({ PA: VPT_B / 0x10000 }));
  const ignored = m.trace.of('gic-ignored').filter((x) => x.block === 'GICR0.VLPI_base').map((x) => x.what);
  t.deepEqual(ignored, [
    'GICR_VPENDBASER write while Dirty = 1',
    'GICR_VPENDBASER fields changed while Valid = 1',
    'GICR_VPROPBASER write while GICR_VPENDBASER.Valid = 1',
  ]);
  t.deepEqual(m.trace.of('vpe-residency').map((x) => x.event), ['schedule', 'parsed', 'deschedule', 'flushed']);
});

test('32-bit halves: Linux-style 32-bit accesses program VPROPBASER and VPENDBASER (Valid in the upper half) and read back the same value', (t) => {
  const r = vlpiRig();
  const { m } = r;
  const frame = vlpiBase(r, 0);
  const vpend = frame + GICR_VLPI.VPENDBASER;
  const vprop = frame + GICR_VLPI.VPROPBASER;
  const prop = GICR_VPROPBASER.encode({ PA: VPROP / 0x1000, IDbits: ID_BITS - 1, InnerCache: 7, Shareability: 1, OuterCache: 1 });
  const pend = GICR_VPENDBASER.encode({ PA: VPT_A / 0x10000, Valid: 1, PendingLast: 1, Shareability: 1, InnerCache: 7 });
  const seen: number[] = [];
  let full = 0n;
  startPe(r, 0, {
    el2: function* () {
      yield str(vprop, Number(prop & 0xffffffffn), 4);
      yield str(vprop + 4, Number(prop >> 32n), 4);
      seen.push(yield ldr(vprop, 4), yield ldr(vprop + 4, 4));
      yield str(vpend, Number(pend & 0xffffffffn), 4); // low half first: Valid still 0
      yield str(vpend + 4, Number(pend >> 32n), 4); // high half: Valid 0 -> 1
      full = yield* waitVpendClean(frame);
      seen.push(yield ldr(vpend, 4), yield ldr(vpend + 4, 4));
    },
  });
  m.run(1e6);
  t.deepEqual(seen.slice(0, 2), [Number(prop & 0xffffffffn), Number(prop >> 32n)]);
  t.is(full, pend);
  t.deepEqual(seen.slice(2), [Number(pend & 0xffffffffn), Number(pend >> 32n)]);
  t.deepEqual(m.trace.of('vpe-residency').map((x) => [x.event, x.vpt]), [['schedule', VPT_A], ['parsed', VPT_A]]);
});
