/**
 * The physical ITS commands and MSI translation, driven as a driver would: a program at EL2
 * writes commands into the queue in RAM, advances GITS_CWRITER and polls GITS_CREADR; a
 * device writes GITS_TRANSLATER. The redistributor side is a recording fake.
 */
import test from 'ava';
import { MsiDevice } from '../../core/msi-device.js';
import { ldr, str } from '../../core/ops.js';
import type { ItsDriver } from '../../drivers/its.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS, GITS_CREADR } from '../../gic/its/its-registers.js';
import { COLL_TABLE, DEV_TABLE, ITT_AREA, layout, makeRig, peek64, rigDriver, run, type ItsRig } from '../helpers/its-rig.js';

const DEV = 5;
const EV = 7;
const LPI = 8200;
const ICID = 3;

/** The DTE/CTE/ITE formats documented in gic/its/tables.ts, computed independently. */
const dte = (size: number, itt: number): bigint => 1n | (BigInt(size) << 1n) | (BigInt(itt / 256) << 6n);
const cte = (rd: number): bigint => 1n | (BigInt(rd) << 1n);
const iteLow = (intid: number, icid: number): bigint => 1n | (1n << 1n) | (BigInt(intid) << 2n) | (BigInt(icid) << 32n);

/** Maps DEV/EV -> LPI in collection ICID on RD 1. */
function* mapBasic(d: ItsDriver): Generator<any, void, any> {
  yield* d.init(layout());
  yield* d.submit(
    ItsCmd.MAPD({ DeviceID: DEV, Size: 4, ITT_addr: ITT_AREA, V: 1 }),
    ItsCmd.MAPC({ ICID, RDbase: 1, V: 1 }),
    ItsCmd.MAPTI({ DeviceID: DEV, EventID: EV, pINTID: LPI, ICID }),
  );
}

function msi(rig: ItsRig, deviceId: number, eventId: number, size: 2 | 4 = 4): void {
  rig.m.bus.write(rig.base + GITS.TRANSLATER, size, eventId, { requester: 'device', id: deviceId });
}

test('MAPD, MAPC, MAPTI write the documented entries; an MSI makes the LPI pending at the collection RD itsTranslate cycles later', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const seen: bigint[] = [];
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(ItsCmd.MAPD({ DeviceID: DEV, Size: 4, ITT_addr: ITT_AREA, V: 1 }));
    seen.push(peek64(rig, DEV_TABLE + DEV * 8));
    yield* d.submit(ItsCmd.MAPC({ ICID, RDbase: 1, V: 1 }));
    seen.push(peek64(rig, COLL_TABLE + ICID * 8));
    yield* d.submit(ItsCmd.MAPTI({ DeviceID: DEV, EventID: EV, pINTID: LPI, ICID }));
    seen.push(peek64(rig, ITT_AREA + EV * 12), BigInt(rig.m.bus.memory.read32(ITT_AREA + EV * 12 + 8)));
  });
  t.deepEqual(seen, [dte(4, ITT_AREA), cte(1), iteLow(LPI, ICID), 1023n]);
  t.is(rig.its.errorCount, 0);

  const dev = new MsiDevice(rig.m, { deviceId: DEV, doorbell: rig.base + GITS.TRANSLATER, events: [EV], pattern: { kind: 'periodic', period: 1000 }, count: 1 });
  dev.start();
  rig.m.runFor(10_000);
  t.is(dev.sent, 1);
  const sets = rig.lpis.of('set');
  t.deepEqual(sets.map((c) => c.args), [[1, LPI]]);
  t.is(sets[0]!.t - dev.timeOf(0), rig.m.costs.itsTranslate);
  t.deepEqual(rig.lpis.at(1), [LPI]);
  t.deepEqual(rig.lpis.at(0), []);
  const tr = rig.m.trace.of('its-translate');
  t.deepEqual(tr.map((r) => [r.deviceId, r.eventId, r.intid, r.rd, r.delivered]), [[DEV, EV, LPI, 1, true]]);
});

test('INT makes the mapped LPI pending and CLEAR clears it, each visible when CREADR passes the command', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const after: number[][] = [];
  run(rig, function* () {
    yield* mapBasic(d);
    yield* d.submit(ItsCmd.INT({ DeviceID: DEV, EventID: EV }));
    after.push(rig.lpis.at(1));
    yield* d.submit(ItsCmd.CLEAR({ DeviceID: DEV, EventID: EV }));
    after.push(rig.lpis.at(1));
  });
  t.deepEqual(after, [[LPI], []]);
  t.deepEqual(rig.lpis.calls.map((c) => c.op), ['set', 'clear']);
});

test('DISCARD clears the pending state and the mapping: the ITE is invalid in memory and later MSIs are dropped', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapBasic(d);
    msi(rig, DEV, EV);
    yield* d.submit(ItsCmd.SYNC({ RDbase: 1 })); // lets the translation land
    t.deepEqual(rig.lpis.at(1), [LPI]);
    yield* d.submit(ItsCmd.DISCARD({ DeviceID: DEV, EventID: EV }));
  });
  t.deepEqual(rig.lpis.at(1), []);
  t.is(peek64(rig, ITT_AREA + EV * 12), 0n);
  msi(rig, DEV, EV);
  rig.m.runFor(10_000);
  t.deepEqual(rig.lpis.at(1), []);
  t.is(rig.its.translator.lastError, 0x010307); // as INT_UNMAPPED_INTERRUPT
  t.is(rig.its.translator.dropped, 1);
  t.is(rig.m.trace.of('its-translate').at(-1)!.error, 0x010307);
});

test('MOVI moves a pending LPI to the new collection RD and retargets later MSIs; the ITE holds the new ICID', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapBasic(d);
    yield* d.submit(ItsCmd.MAPC({ ICID: 4, RDbase: 0, V: 1 }), ItsCmd.INT({ DeviceID: DEV, EventID: EV }));
    t.deepEqual([rig.lpis.at(0), rig.lpis.at(1)], [[], [LPI]]);
    yield* d.submit(ItsCmd.MOVI({ DeviceID: DEV, EventID: EV, ICID: 4 }));
  });
  t.deepEqual([rig.lpis.at(0), rig.lpis.at(1)], [[LPI], []]);
  t.is(peek64(rig, ITT_AREA + EV * 12), iteLow(LPI, 4));
  rig.lpis.pending[0]!.clear();
  msi(rig, DEV, EV);
  rig.m.runFor(10_000);
  t.deepEqual([rig.lpis.at(0), rig.lpis.at(1)], [[LPI], []]);
});

test('MOVALL moves every pending LPI of one RD to another; same source and destination is a no-op', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapBasic(d);
    yield* d.submit(
      ItsCmd.MAPTI({ DeviceID: DEV, EventID: 8, pINTID: LPI + 1, ICID }),
      ItsCmd.INT({ DeviceID: DEV, EventID: EV }),
      ItsCmd.INT({ DeviceID: DEV, EventID: 8 }),
      ItsCmd.MOVALL({ RDbase1: 1, RDbase2: 1 }),
    );
    t.deepEqual(rig.lpis.at(1), [LPI, LPI + 1]);
    yield* d.submit(ItsCmd.MOVALL({ RDbase1: 1, RDbase2: 0 }));
  });
  t.deepEqual([rig.lpis.at(0), rig.lpis.at(1)], [[LPI, LPI + 1], []]);
  t.deepEqual(rig.lpis.of('movall').map((c) => c.args), [[1, 0]]);
  // ITEs are unchanged: the collection still targets RD 1.
  t.is(peek64(rig, ITT_AREA + EV * 12), iteLow(LPI, ICID));
});

test('INV and INVALL after a configuration change reach the redistributor of the collection', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapBasic(d);
    yield* d.submit(ItsCmd.INV({ DeviceID: DEV, EventID: EV }), ItsCmd.INVALL({ ICID }));
  });
  t.deepEqual(rig.lpis.calls.map((c) => [c.op, ...c.args]), [['inv', 1, LPI], ['invall', 1]]);
});

test('commands complete in simulated time: each retires itsCommand + itsTableAccess per entry after the previous, and SYNC completes after the earlier effects are visible', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const polls: { offset: number; pending: boolean }[] = [];
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.write([
      ItsCmd.MAPD({ DeviceID: DEV, Size: 4, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.MAPC({ ICID, RDbase: 1, V: 1 }),
      ItsCmd.MAPTI({ DeviceID: DEV, EventID: EV, pINTID: LPI, ICID }),
      ItsCmd.INT({ DeviceID: DEV, EventID: EV }),
      ItsCmd.SYNC({ RDbase: 1 }),
    ]);
    yield* d.publish();
    for (;;) {
      const v = yield ldr(rig.base + GITS.CREADR, 4);
      polls.push({ offset: GITS_CREADR.get(v, 'Offset') * 32, pending: rig.lpis.isLpiPending(1, LPI) });
      if (GITS_CREADR.get(v, 'Offset') * 32 === d.writeOffset) break;
    }
  });
  const c = rig.m.costs;
  const cmds = rig.m.trace.of('its-command');
  t.deepEqual(cmds.map((r) => [r.command, r.result, r.tableAccesses]), [
    ['MAPD', 'done', 1], // DTE write
    ['MAPC', 'done', 1], // CTE write
    ['MAPTI', 'done', 1], // ITE write (the DTE is cached by MAPD)
    ['INT', 'done', 0], // ITE and CTE cached
    ['SYNC', 'done', 0],
  ]);
  // Command i executes itsCommand after command i-1 retired.
  const kicked = rig.m.trace.of('mmio').filter((r) => r.write && r.addr === rig.base + GITS.CWRITER).at(-1)!.t;
  t.is(cmds[0]!.t, kicked + c.itsCommand);
  for (let i = 1; i < cmds.length; i++) t.is(cmds[i]!.t - cmds[i - 1]!.t, c.itsCommand + cmds[i - 1]!.tableAccesses * c.itsTableAccess);
  // The driver saw CREADR advance step by step, and never past INT before the LPI was pending.
  t.true(new Set(polls.map((p) => p.offset)).size > 2);
  for (const p of polls) if (p.offset > 3 * 32) t.true(p.pending);
  t.true(polls.at(-1)!.pending);
  t.is(rig.lpis.of('set')[0]!.t, cmds[3]!.t);
});

test('with GITS_TYPER.PTA = 1, RDbase fields hold the redistributor physical address [51:16]', (t) => {
  const rig = makeRig({ its: { pta: true } });
  const d = rigDriver(rig);
  const rd1 = (rig.cfg.gicrBase + 0x40000) / 0x10000;
  let typer = 0n;
  run(rig, function* () {
    typer = yield ldr(rig.base + GITS.TYPER, 8);
    yield* d.init(layout());
    yield* d.submit(
      ItsCmd.MAPD({ DeviceID: DEV, Size: 4, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.MAPC({ ICID, RDbase: rd1, V: 1 }),
      ItsCmd.MAPC({ ICID: 9, RDbase: 1, V: 1 }), // a processor number is not an RD address here
      ItsCmd.MAPTI({ DeviceID: DEV, EventID: EV, pINTID: LPI, ICID }),
      ItsCmd.INT({ DeviceID: DEV, EventID: EV }),
    );
  });
  t.is((typer >> 19n) & 1n, 1n);
  t.deepEqual(rig.lpis.at(1), [LPI]);
  t.deepEqual(rig.its.errors.map((e) => e.name), ['MAPC_PROCNUM_OOR']);
});

test('GITS_TRANSLATER: 16-bit writes carry EventID[15:0]; writes while disabled are ignored; a PE write is dropped with a trace record', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapBasic(d);
  });
  msi(rig, DEV, EV, 2);
  rig.m.runFor(1000);
  t.deepEqual(rig.lpis.at(1), [LPI]);
  rig.lpis.pending[1]!.clear();
  // Disable, then write: nothing is accepted.
  run(rig, function* () {
    yield str(rig.base + GITS.CTLR, 0, 4);
  });
  msi(rig, DEV, EV);
  rig.m.runFor(1000);
  t.is(rig.its.translator.accepted, 1);
  t.deepEqual(rig.lpis.at(1), []);
  // Enabled again; a PE (no DeviceID sideband) writes GITS_TRANSLATER.
  run(rig, function* () {
    yield str(rig.base + GITS.CTLR, 1, 4);
    yield str(rig.base + GITS.TRANSLATER, EV, 4);
  });
  rig.m.runFor(1000);
  t.deepEqual(rig.lpis.at(1), []);
  t.is(rig.its.translator.lastError, 0x010330);
  t.is(rig.m.trace.of('its-translate').at(-1)!.delivered, false);
});
