/**
 * What the ITS caches (gic/its/cache.ts) and when the cache is dropped: table entries written
 * by software behind the ITS's back (UNPREDICTABLE) are not seen while cached; a GITS_BASER
 * write drops the table's cache; MAPD remaps drop a device's ITEs; dense and sparse EventID
 * spaces translate alike.
 */
import test from 'ava';
import fc from 'fast-check';
import { str } from '../../core/ops.js';
import { DeviceEntry, iteDoorbell, iteIcid, iteIntid, iteKind, iteVpeid } from '../../gic/its/cache.js';
import { ItsCmd, type CommandWords } from '../../gic/its/commands.js';
import { GITS } from '../../gic/its/its-registers.js';
import { baserValue } from '../../drivers/its.js';
import { DEV_TABLE, ITT_AREA, layout, makeRig, rigDriver, run, type ItsRig } from '../helpers/its-rig.js';

/** DeviceID 1 with its ITT at ITT_AREA, collection 0 on RD 0, EventID 2 -> LPI 8200. */
const MAP_EVENT = [
  ItsCmd.MAPD({ DeviceID: 1, Size: 3, ITT_addr: ITT_AREA, V: 1 }),
  ItsCmd.MAPC({ ICID: 0, RDbase: 0, V: 1 }),
  ItsCmd.MAPTI({ DeviceID: 1, EventID: 2, pINTID: 8200, ICID: 0 }),
];

/** A rig whose ITS has MAP_EVENT (then `more`) done, and its driver. */
function mappedRig(...more: CommandWords[]): { rig: ItsRig; d: ReturnType<typeof rigDriver> } {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(...MAP_EVENT, ...more);
  });
  return { rig, d };
}

function msi(rig: ItsRig, deviceId: number, eventId: number): void {
  rig.m.bus.write(rig.base + GITS.TRANSLATER, 4, eventId, { requester: 'device', id: deviceId });
  rig.m.runFor(1000);
}

test('a mapped ITE rewritten by software is not seen while cached; rewriting GITS_BASER drops the cache and the ITS reads memory again', (t) => {
  const { rig } = mappedRig();
  run(rig, function* () {
    // Software scribbles the ITE (UNPREDICTABLE): INTID 8201.
    yield str(ITT_AREA + 2 * 12, 1 + 2 + 8201 * 4, 4);
  });
  msi(rig, 1, 2);
  t.deepEqual(rig.lpis.at(0), [8200]);
  run(rig, function* () {
    yield str(rig.base + GITS.CTLR, 0, 4);
    yield str(rig.base + GITS.BASER, baserValue({ base: DEV_TABLE }), 8);
    yield str(rig.base + GITS.CTLR, 1, 4);
  });
  msi(rig, 1, 2);
  t.deepEqual(rig.lpis.at(0), [8200, 8201]);
  t.is(rig.its.entries.mem.accesses, 2); // the DTE and the ITE were read from memory
});

test('MAPD remapping a device to a new ITT drops its cached ITEs', (t) => {
  const { rig } = mappedRig(ItsCmd.MAPD({ DeviceID: 1, Size: 3, ITT_addr: ITT_AREA + 0x1000, V: 1 }));
  msi(rig, 1, 2);
  t.deepEqual(rig.lpis.at(0), []);
  t.is(rig.its.translator.lastError, 0x010307);
});

test('after MSIs from a device, MAPD V = 0 and a MAPD to a new ITT are seen by the next MSI (the last-device memo is dropped)', (t) => {
  const { rig, d } = mappedRig();
  msi(rig, 1, 2);
  msi(rig, 1, 2);
  t.deepEqual(rig.lpis.at(0), [8200]);
  run(rig, function* () {
    yield* d.submit(ItsCmd.MAPD({ DeviceID: 1, Size: 3, ITT_addr: ITT_AREA, V: 0 }));
  });
  msi(rig, 1, 2);
  t.deepEqual(rig.lpis.at(0), [8200]);
  t.is(rig.its.translator.lastError, 0x010304); // INT UNMAPPED_DEVICE
  run(rig, function* () {
    yield* d.submit(
      ItsCmd.MAPD({ DeviceID: 1, Size: 3, ITT_addr: ITT_AREA + 0x1000, V: 1 }),
      ItsCmd.MAPTI({ DeviceID: 1, EventID: 2, pINTID: 8201, ICID: 0 }),
    );
  });
  msi(rig, 1, 2);
  t.deepEqual(rig.lpis.at(0), [8200, 8201]);
});

test('a device with a sparse EventID space (20 EventID bits) translates every mapped event and discards one', (t) => {
  const rig = makeRig({ its: { eventIdBits: 20 }, machine: { cores: 1 } });
  const d = rigDriver(rig);
  const events = [0, 1, 2, 3, 4, 100_000, 524_288, 1_048_575];
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(
      ItsCmd.MAPD({ DeviceID: 1, Size: 19, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.MAPC({ ICID: 0, RDbase: 0, V: 1 }),
      ...events.map((e, i) => ItsCmd.MAPTI({ DeviceID: 1, EventID: e, pINTID: 8192 + i, ICID: 0 })),
      ItsCmd.DISCARD({ DeviceID: 1, EventID: 100_000 }),
    );
  });
  t.not(rig.its.entries.cache.devices.get(1)!.sparse, null);
  for (const e of events) msi(rig, 1, e);
  t.deepEqual(rig.lpis.at(0), [8192, 8193, 8194, 8195, 8196, 8198, 8199]);
  t.is(rig.its.translator.dropped, 1);
});

test('property: DeviceEntry finds exactly what was set and not dropped, dense or sparse', (t) => {
  const op = fc.record({ drop: fc.boolean(), ev: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 20 - 1 })), intid: fc.integer({ min: 8192, max: 2 ** 24 - 1 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const d = new DeviceEntry(0, 19);
      const ref = new Map<number, number>();
      let peak = 0;
      for (const o of ops) {
        if (o.drop) {
          d.drop(o.ev);
          ref.delete(o.ev);
        } else {
          d.set(o.ev, o.ev & 1, o.intid, o.ev & 0xffff, (o.ev >> 4) & 0xffff, o.intid & 0xffffff);
          ref.set(o.ev, o.intid);
          peak = Math.max(peak, ref.size);
        }
      }
      if (d.count !== ref.size) return false;
      for (const o of ops) {
        const i = d.find(o.ev);
        const want = ref.get(o.ev);
        if (want === undefined) {
          if (i !== -1) return false;
          continue;
        }
        const w = d.ite;
        if (i < 0 || iteIntid(w, i) !== want || iteKind(w, i) !== (o.ev & 1) || iteIcid(w, i) !== (o.ev & 0xffff)) return false;
        if (iteVpeid(w, i) !== ((o.ev >> 4) & 0xffff) || iteDoorbell(w, i) !== (want & 0xffffff)) return false;
      }
      // Dense storage never spans more than 8 EventIDs per cached event (at its peak) beyond the first 256.
      return d.sparse !== null || d.ite.length / 3 <= Math.max(256, 8 * peak);
    }),
    { numRuns: 300 },
  );
  t.is(new DeviceEntry(0, 3).find(5), -1);
});
