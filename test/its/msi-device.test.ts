/**
 * The MSI device (core/msi-device.ts): seeded, reproducible traffic patterns, stop
 * conditions, the write record, and end-to-end delivery latency through the ITS.
 */
import test from 'ava';
import { Machine } from '../../core/machine.js';
import { MsiDevice, type MsiDeviceConfig, type MsiPattern } from '../../core/msi-device.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS } from '../../gic/its/its-registers.js';
import { ITT_AREA, layout, makeRig, rigDriver, run } from '../helpers/its-rig.js';

/** A bus target that records what arrives, with the requester's attributes. */
function recorder(m: Machine): { base: number; got: [number, number, number, string][] } {
  const got: [number, number, number, string][] = [];
  const base = 0x0900_0000;
  m.bus.addMmio('doorbell', base, 0x1000, {
    read: () => 0,
    write: (_o, _s, v, a) => void got.push([m.now, Number(v), a.id, a.requester]),
  });
  return { base, got };
}

function times(seed: number, pattern: MsiPattern, extra: Partial<MsiDeviceConfig> = {}): number[] {
  const m = new Machine({ seed });
  const r = recorder(m);
  const dev = new MsiDevice(m, { deviceId: 9, doorbell: r.base, events: [1, 2, 3], pattern, count: 200, ...extra });
  dev.start();
  m.run(1e12);
  return Array.from(dev.writeTimes);
}

test('periodic traffic writes every period cycles with round-robin EventIDs and the DeviceID as bus attribute', (t) => {
  const m = new Machine({});
  const r = recorder(m);
  const dev = new MsiDevice(m, { deviceId: 42, doorbell: r.base, events: [10, 11, 12], pattern: { kind: 'periodic', period: 500 }, count: 5 });
  dev.start();
  m.run(1e9);
  t.deepEqual(r.got, [
    [500, 10, 42, 'device'],
    [1000, 11, 42, 'device'],
    [1500, 12, 42, 'device'],
    [2000, 10, 42, 'device'],
    [2500, 11, 42, 'device'],
  ]);
  t.deepEqual(Array.from(dev.writeTimes), [500, 1000, 1500, 2000, 2500]);
  t.deepEqual(Array.from(dev.writtenEvents), [10, 11, 12, 10, 11]);
  t.is(dev.sent, 5);
  t.is(dev.busErrors, 0);
});

test('same seed, same write times; another seed, other times (Poisson, bursts, jittered periodic)', (t) => {
  const patterns: MsiPattern[] = [
    { kind: 'poisson', mean: 1000 },
    { kind: 'bursts', length: 4, spacing: 20, interval: 5000 },
    { kind: 'periodic', period: 1000, jitter: 300 },
  ];
  for (const p of patterns) {
    const a = times(7, p);
    t.is(a.length, 200);
    t.deepEqual(times(7, p), a, p.kind);
    t.notDeepEqual(times(8, p), a, p.kind);
    t.true(a.every((x, i) => i === 0 || x > a[i - 1]!), 'strictly increasing');
  }
});

test('Poisson gaps have the configured mean; bursts are `length` writes `spacing` apart', (t) => {
  const a = times(3, { kind: 'poisson', mean: 1000 }, { count: 4000 });
  const mean = a[a.length - 1]! / a.length;
  t.true(Math.abs(mean - 1000) < 60, `mean gap ${mean}`);
  const b = times(3, { kind: 'bursts', length: 4, spacing: 20, interval: 5000 }, { count: 40 });
  for (let i = 0; i < b.length; i++) {
    const gap = i === 0 ? b[0]! : b[i]! - b[i - 1]!;
    if (i % 4 === 0) t.not(gap, 20, `burst start ${i}`);
    else t.is(gap, 20, `inside burst ${i}`);
  }
});

test('random EventID order is seeded; `until` stops the device; a doorbell nobody decodes counts bus errors', (t) => {
  const events = (seed: number): number[] => {
    const m = new Machine({ seed });
    const r = recorder(m);
    const dev = new MsiDevice(m, { deviceId: 1, doorbell: r.base, events: [1, 2, 3, 4, 5, 6, 7, 8], order: 'random', pattern: { kind: 'periodic', period: 10 }, count: 50 });
    dev.start();
    m.run(1e9);
    return Array.from(dev.writtenEvents);
  };
  t.deepEqual(events(5), events(5));
  t.notDeepEqual(events(5), events(6));
  t.true(new Set(events(5)).size > 4);

  const m = new Machine({});
  const dev = new MsiDevice(m, { deviceId: 1, doorbell: 0x1_0000_0000, events: [0], pattern: { kind: 'periodic', period: 100 }, until: 1050 });
  dev.start();
  m.run(1e9);
  t.is(dev.sent, 10);
  t.is(dev.busErrors, 10);
  t.throws(() => new MsiDevice(m, { deviceId: 1, doorbell: 0, events: [], pattern: { kind: 'poisson', mean: 1 } }));
  t.throws(() => new MsiDevice(m, { deviceId: 1, doorbell: 0, events: [1], pattern: { kind: 'poisson', mean: 0 } }));
});

test('end to end through the ITS: every MSI becomes pending itsTranslate cycles after its write, in order', (t) => {
  const rig = makeRig({ machine: { seed: 11 } });
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(
      ItsCmd.MAPD({ DeviceID: 3, Size: 3, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.MAPC({ ICID: 0, RDbase: 0, V: 1 }),
      ...[0, 1, 2, 3].map((e) => ItsCmd.MAPTI({ DeviceID: 3, EventID: e, pINTID: 8192 + e, ICID: 0 })),
    );
  });
  const dev = new MsiDevice(rig.m, { deviceId: 3, doorbell: rig.base + GITS.TRANSLATER, events: [0, 1, 2, 3], pattern: { kind: 'bursts', length: 8, spacing: 5, interval: 3000 }, count: 64 });
  dev.start();
  rig.m.runFor(1e7);
  const sets = rig.lpis.of('set');
  t.is(sets.length, 64);
  for (let i = 0; i < 64; i++) {
    t.is(sets[i]!.t - dev.timeOf(i), rig.m.costs.itsTranslate);
    t.is(sets[i]!.args[1], 8192 + dev.eventOf(i));
  }
  t.is(rig.its.translator.delivered, 64);
});
