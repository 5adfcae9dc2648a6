/**
 * CPU stores to GITS_TRANSLATER (gic/config.ts `its.cpuDeviceId`): refused by default (no DeviceID
 * on a PE's store); with a DeviceID configured (QEMU's virt board uses 0) a PE's store is
 * translated as an MSI of that DeviceID, while devices keep their own. The redistributor side is
 * a recording fake.
 */
import test from 'ava';
import { str } from '../../core/ops.js';
import type { ItsConfig } from '../../gic/config.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS } from '../../gic/its/its-registers.js';
import { ITT_AREA, layout, makeRig, rigDriver, run, type ItsRig } from '../helpers/its-rig.js';

const CPU_LPI = 8200;
const DEV_LPI = 8201;
const EV = 3;

/** Maps DeviceID `cpuId` event EV -> CPU_LPI and DeviceID 5 event EV -> DEV_LPI, both on RD 1. */
function rig(its: Partial<ItsConfig>, cpuId: number): ItsRig {
  const r = makeRig({ its });
  const d = rigDriver(r); // a one-page device table: DeviceIDs below 512
  run(r, function* () {
    yield* d.init(layout());
    yield* d.submit(
      ItsCmd.MAPD({ DeviceID: cpuId, Size: 3, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.MAPD({ DeviceID: 5, Size: 3, ITT_addr: ITT_AREA + 0x1000, V: 1 }),
      ItsCmd.MAPC({ ICID: 0, RDbase: 1, V: 1 }),
      ItsCmd.MAPTI({ DeviceID: cpuId, EventID: EV, pINTID: CPU_LPI, ICID: 0 }),
      ItsCmd.MAPTI({ DeviceID: 5, EventID: EV, pINTID: DEV_LPI, ICID: 0 }),
    );
  });
  if (r.its.errorCount !== 0) throw new Error(`set-up: ${r.its.errors.map((e) => e.name).join(', ')}`);
  return r;
}

/** A store from PE 0 to GITS_TRANSLATER. */
function cpuStore(r: ItsRig, value: number, size: 2 | 4 = 4): void {
  run(r, function* () {
    yield str(r.base + GITS.TRANSLATER, value, size);
  });
  r.m.runFor(10_000);
}

test('with its.cpuDeviceId = 0 (as QEMU virt), a PE store to GITS_TRANSLATER is the MSI of DeviceID 0', (t) => {
  const r = rig({ cpuDeviceId: 0 }, 0);
  cpuStore(r, EV);
  t.deepEqual(r.lpis.of('set').map((c) => c.args), [[1, CPU_LPI]]);
  t.is(r.its.translator.accepted, 1);
  t.is(r.its.translator.delivered, 1);
  t.is(r.its.translator.lastError, 0);
  const tr = r.m.trace.of('its-translate');
  t.deepEqual(tr.map((x) => [x.deviceId, x.eventId, x.intid, x.delivered]), [[0, EV, CPU_LPI, true]]);
  // The translation takes itsTranslate from the store, as a device's MSI does.
  const store = r.m.trace.of('mmio').find((x) => x.write && x.addr === r.base + GITS.TRANSLATER)!;
  t.is(tr[0]!.t - store.t, r.m.costs.itsTranslate);
});

test('any DeviceID the ITS has can stand for CPU stores; a 16-bit store carries EventID[15:0]', (t) => {
  const r = rig({ cpuDeviceId: 0x123 }, 0x123);
  cpuStore(r, 0x5_0000 + EV, 2);
  t.deepEqual(r.lpis.of('set').map((c) => c.args), [[1, CPU_LPI]]);
  t.deepEqual(r.m.trace.of('its-translate').map((x) => [x.deviceId, x.eventId]), [[0x123, EV]]);
});

test('devices keep their own DeviceID when cpuDeviceId is set', (t) => {
  const r = rig({ cpuDeviceId: 0 }, 0);
  r.m.bus.write(r.base + GITS.TRANSLATER, 4, EV, { requester: 'device', id: 5 });
  r.m.runFor(10_000);
  t.deepEqual(r.lpis.of('set').map((c) => c.args), [[1, DEV_LPI]]);
});

test('by default (cpuDeviceId null) the same store is refused: INT NOT_A_DEVICE, traced, nothing pending', (t) => {
  const r = rig({}, 0);
  t.is(r.cfg.its.cpuDeviceId, null);
  cpuStore(r, EV);
  t.deepEqual(r.lpis.of('set'), []);
  t.is(r.its.translator.dropped, 1);
  t.is(r.its.translator.lastError, 0x010330);
  t.deepEqual(r.m.trace.of('its-translate').map((x) => [x.deviceId, x.delivered, x.error]), [[-1, false, 0x010330]]);
});

test('a GIC-internal requester is refused even with cpuDeviceId set: only PEs stand in for devices', (t) => {
  const r = rig({ cpuDeviceId: 0 }, 0);
  r.m.bus.write(r.base + GITS.TRANSLATER, 4, EV, { requester: 'gic', id: 0x100 });
  r.m.runFor(10_000);
  t.deepEqual(r.lpis.of('set'), []);
  t.is(r.its.translator.lastError, 0x010330);
});
