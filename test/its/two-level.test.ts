/**
 * Two-level (GITS_BASER.Indirect = 1) tables: the driver allocates level-2 pages on demand and
 * writes level-1 entries (Valid [63], PA [51:12]) as Linux does; the ITS finds entries at
 * L1 index ID / (PageSize / EntrySize), L2 offset (ID mod (PageSize / EntrySize)) × EntrySize.
 */
import test from 'ava';
import { str } from '../../core/ops.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS_CREADR } from '../../gic/its/its-registers.js';
import { COLL_TABLE, DEV_TABLE, ITT_AREA, L2_PAGES, NOWHERE, layout, makeRig, peek64, rigDriver, run } from '../helpers/its-rig.js';

const l1e = (pa: number): bigint => (1n << 63n) | BigInt(pa);
const dte = (size: number, itt: number): bigint => 1n | (BigInt(size) << 1n) | (BigInt(itt / 256) << 6n);

for (const [pageSize, bytes] of [[0, 0x1000], [1, 0x4000], [2, 0x10000]] as const) {
  test(`a two-level device table with ${bytes / 1024} KB pages maps a DeviceID through its level-2 page; an MSI is translated`, (t) => {
    const rig = makeRig();
    const d = rigDriver(rig);
    const perPage = bytes / 8;
    const dev = 3 * perPage + 17; // level-1 index 3
    const l2 = L2_PAGES;
    run(rig, function* () {
      yield* d.init(layout({ devices: { base: DEV_TABLE, pageSize, indirect: true }, collections: { base: COLL_TABLE, pageSize } }));
      yield str(DEV_TABLE + 3 * 8, l1e(l2), 8);
      yield* d.submit(
        ItsCmd.MAPD({ DeviceID: dev, Size: 7, ITT_addr: ITT_AREA, V: 1 }),
        ItsCmd.MAPC({ ICID: 2, RDbase: 0, V: 1 }),
        ItsCmd.MAPTI({ DeviceID: dev, EventID: 200, pINTID: 9000, ICID: 2 }),
        // Level-1 entry 4 is invalid: no level-2 page, the device cannot be mapped (CHOICE: DEVICE_OOR).
        ItsCmd.MAPD({ DeviceID: 4 * perPage, Size: 7, ITT_addr: ITT_AREA, V: 1 }),
      );
    });
    t.is(peek64(rig, l2 + 17 * 8), dte(7, ITT_AREA));
    t.is(peek64(rig, DEV_TABLE + 3 * 8), l1e(l2)); // the ITS does not write level-1 entries
    t.deepEqual(rig.its.errors.map((e) => e.name), ['MAPD_DEVICE_OOR']);
    rig.m.bus.write(rig.base + 0x10040, 4, 200, { requester: 'device', id: dev });
    rig.m.bus.write(rig.base + 0x10040, 4, 200, { requester: 'device', id: 4 * perPage });
    rig.m.runFor(10_000);
    t.deepEqual(rig.lpis.at(0), [9000]);
    t.is(rig.its.translator.lastError, 0x010304); // unmapped device (no level-2 page)
  });
}

test('a two-level collection table: collections resolve through their level-2 page; the device table capacity is level-1 pages × IDs per page', (t) => {
  const rig = makeRig({ its: { deviceIdBits: 20 } });
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* d.init(layout({ devices: { base: DEV_TABLE, indirect: true, size: 0 }, collections: { base: COLL_TABLE, indirect: true } }));
    yield str(COLL_TABLE + 1 * 8, l1e(L2_PAGES + 0x1000), 8); // ICIDs 512..1023
    yield str(DEV_TABLE + 511 * 8, l1e(L2_PAGES), 8); // the last level-1 entry of one 4 KB page
    yield* d.submit(
      ItsCmd.MAPC({ ICID: 700, RDbase: 1, V: 1 }),
      ItsCmd.MAPD({ DeviceID: 512 * 512 - 1, Size: 3, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.MAPD({ DeviceID: 512 * 512, Size: 3, ITT_addr: ITT_AREA, V: 1 }), // beyond 512 level-1 entries
      ItsCmd.MAPTI({ DeviceID: 512 * 512 - 1, EventID: 1, pINTID: 8193, ICID: 700 }),
      ItsCmd.INT({ DeviceID: 512 * 512 - 1, EventID: 1 }),
    );
  });
  t.is(peek64(rig, L2_PAGES + 0x1000 + (700 - 512) * 8), 1n | (1n << 1n));
  t.deepEqual(rig.lpis.at(1), [8193]);
  t.deepEqual(rig.its.errors.map((e) => e.name), ['MAPD_DEVICE_OOR']);
});

test('a level-1 entry that points at no memory stalls MAPD; the driver fixes the level-1 entry and resumes with Retry', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const creadr: number[] = [];
  run(rig, function* () {
    yield* d.init(layout({ devices: { base: DEV_TABLE, indirect: true } }));
    yield str(DEV_TABLE, l1e(NOWHERE), 8);
    creadr.push(yield* d.submit(ItsCmd.MAPD({ DeviceID: 1, Size: 3, ITT_addr: ITT_AREA, V: 1 }), ItsCmd.MAPC({ ICID: 0, RDbase: 0, V: 1 })));
    yield str(DEV_TABLE, l1e(L2_PAGES), 8);
    yield* d.publish(true);
    creadr.push(yield* d.drain());
  });
  t.deepEqual(creadr.map((v) => [GITS_CREADR.get(v, 'Stalled'), GITS_CREADR.get(v, 'Offset')]), [[1, 0], [0, 2]]);
  t.deepEqual(rig.its.errors.map((e) => [e.name, e.outcome]), [['MAPD_TABLE_FAULT', 'stalled']]);
  t.is(peek64(rig, L2_PAGES + 8), dte(3, ITT_AREA));
});
