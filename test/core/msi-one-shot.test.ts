/**
 * One-shot MSIs (core/msi-device.ts `msi(eventId)`): a write now, with the same bus attributes,
 * record, 'msi-write' trace record and write hook as generated traffic; a device without a
 * pattern writes only when asked, and `start()` on it is an error.
 */
import test from 'ava';
import { Machine } from '../../core/machine.js';
import { MsiDevice } from '../../core/msi-device.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS } from '../../gic/its/its-registers.js';
import { ITT_AREA, layout, makeRig, rigDriver, run } from '../helpers/its-rig.js';

const DOORBELL = 0x0900_0000;

/** A bus target recording [time, value, size, requester, id] of every write. */
function recorder(m: Machine): [number, number, number, string, number][] {
  const got: [number, number, number, string, number][] = [];
  m.bus.addMmio('doorbell', DOORBELL, 0x1000, { read: () => 0, write: (_o, size, v, a) => void got.push([m.now, Number(v), size, a.requester, a.id]) });
  return got;
}

test('a device without a pattern writes nothing until msi(), then exactly that write, recorded, traced and hooked', (t) => {
  const m = new Machine({ trace: true });
  const got = recorder(m);
  const hooked: [number, number, number][] = [];
  const dev = new MsiDevice(m, { name: 'nic', deviceId: 42, doorbell: DOORBELL, size: 2, onWrite: (i, time, e) => void hooked.push([i, time, e]) });
  m.runFor(10_000);
  t.is(dev.sent, 0);
  t.deepEqual(got, []);
  dev.msi(7);
  m.runFor(5_000);
  dev.msi(0x1234);
  t.deepEqual(got, [
    [10_000, 7, 2, 'device', 42],
    [15_000, 0x1234, 2, 'device', 42],
  ]);
  t.is(dev.sent, 2);
  t.deepEqual(Array.from(dev.writeTimes), [10_000, 15_000]);
  t.deepEqual(Array.from(dev.writtenEvents), [7, 0x1234]);
  t.deepEqual(hooked, [[0, 10_000, 7], [1, 15_000, 0x1234]]);
  t.deepEqual(m.trace.of('msi-write'), [
    { t: 10_000, core: -1, el: -1, kind: 'msi-write', device: 'nic', deviceId: 42, index: 0, eventId: 7, doorbell: DOORBELL, size: 2, status: 'ok' },
    { t: 15_000, core: -1, el: -1, kind: 'msi-write', device: 'nic', deviceId: 42, index: 1, eventId: 0x1234, doorbell: DOORBELL, size: 2, status: 'ok' },
  ]);
  t.false(dev.active);
  t.is(m.events.size, 0, 'a one-shot write arms nothing');
});

test('start() on a device without a pattern is an error that says what to do', (t) => {
  const m = new Machine({});
  const dev = new MsiDevice(m, { deviceId: 1, doorbell: DOORBELL });
  t.throws(() => dev.start(), { message: 'MsiDevice msi-dev1: start() needs a traffic pattern and this device has none (write MSIs one at a time with msi(eventId))' });
  t.false(dev.active);
});

test('msi() beside a pattern: counted in sent and against count, the pattern keeps its times', (t) => {
  const m = new Machine({});
  const got = recorder(m);
  const dev = new MsiDevice(m, { deviceId: 3, doorbell: DOORBELL, events: [1], pattern: { kind: 'periodic', period: 1000 }, count: 4 });
  dev.start();
  m.run(1500);
  dev.msi(9);
  m.run(1e6);
  t.deepEqual(got.map((g) => [g[0], g[1]]), [[1000, 1], [1500, 9], [2000, 1], [3000, 1]]);
  t.is(dev.sent, 4);
  t.false(dev.active);
});

test('msi() checks its EventID; a write nobody decodes counts a bus error and is traced as such', (t) => {
  const m = new Machine({ trace: true });
  const dev = new MsiDevice(m, { deviceId: 5, doorbell: 0x1_0000_0000 });
  for (const bad of [-1, 1.5, 2 ** 32, NaN]) t.throws(() => dev.msi(bad), { message: /EventID is an integer from 0 to 0xffffffff/ });
  t.is(dev.sent, 0);
  dev.msi(0xffff_ffff);
  t.is(dev.busErrors, 1);
  t.is(dev.eventOf(0), 0xffff_ffff);
  t.is(m.trace.of('msi-write')[0]!.status, 'decode-error');
  // A pattern still needs EventIDs to send.
  t.throws(() => new MsiDevice(m, { deviceId: 1, doorbell: DOORBELL, pattern: { kind: 'poisson', mean: 10 } }), { message: /at least one EventID/ });
  t.throws(() => new MsiDevice(m, { deviceId: 1, doorbell: DOORBELL, events: [-3], pattern: { kind: 'poisson', mean: 10 } }), { message: /EventID is an integer/ });
});

test('a one-shot MSI through the ITS becomes the mapped LPI itsTranslate cycles later', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(
      ItsCmd.MAPD({ DeviceID: 3, Size: 3, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.MAPC({ ICID: 0, RDbase: 1, V: 1 }),
      ItsCmd.MAPTI({ DeviceID: 3, EventID: 5, pINTID: 8197, ICID: 0 }),
    );
  });
  const dev = new MsiDevice(rig.m, { deviceId: 3, doorbell: rig.base + GITS.TRANSLATER });
  dev.msi(5);
  rig.m.runFor(10_000);
  const sets = rig.lpis.of('set');
  t.deepEqual(sets.map((c) => c.args), [[1, 8197]]);
  t.is(sets[0]!.t - dev.timeOf(0), rig.m.costs.itsTranslate);
});
