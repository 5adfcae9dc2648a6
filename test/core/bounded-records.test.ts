/**
 * Bounded recording: an MSI device (core/msi-device.ts) and a guest's delivery log
 * (guests/delivery-log.ts) always count, and keep their records all, none, or the last N
 * (a ring). A record that was not kept is an error to read, never a stale value.
 */
import test from 'ava';
import { Machine } from '../../core/machine.js';
import { MsiDevice, type RecordKeep } from '../../core/msi-device.js';
import { DeliveryLog } from '../../guests/delivery-log.js';

const DOORBELL = 0x0900_0000;

function device(record: RecordKeep | undefined, count: number, onWrite?: (i: number, t: number, e: number) => void): MsiDevice {
  const m = new Machine({ seed: 3 });
  m.bus.addMmio('doorbell', DOORBELL, 0x1000, { read: () => 0, write: () => undefined });
  const dev = new MsiDevice(m, { deviceId: 1, doorbell: DOORBELL, events: [5, 6, 7], pattern: { kind: 'periodic', period: 100 }, count, ...(record !== undefined ? { record } : {}), ...(onWrite !== undefined ? { onWrite } : {}) });
  dev.start();
  m.run(1e12);
  return dev;
}

test("MsiDevice keeps every record by default ('all')", (t) => {
  const dev = device(undefined, 1000);
  t.deepEqual(dev.recording, 'all');
  t.is(dev.sent, 1000);
  t.is(dev.kept, 1000);
  t.is(dev.firstKept, 0);
  t.is(dev.timeOf(999), 100_000);
  t.is(dev.eventOf(999), 5);
  t.is(dev.writeTimes.length, 1000);
  // No write 1000 yet: absent, as before.
  t.true(Number.isNaN(dev.timeOf(1000)));
  t.is(dev.eventOf(1000), -1);
});

test("MsiDevice 'none' counts every write and keeps no record; reading one throws", (t) => {
  const seen: number[] = [];
  const dev = device('none', 500, (i, time, e) => {
    if (i < 3) seen.push(i, time, e);
  });
  t.is(dev.sent, 500);
  t.is(dev.kept, 0);
  t.is(dev.firstKept, 500);
  t.is(dev.recordSlots, 0);
  t.throws(() => dev.timeOf(0), { instanceOf: RangeError, message: /write 0 was not kept.*keeps no records/ });
  t.throws(() => dev.eventOf(499), { instanceOf: RangeError });
  t.throws(() => dev.writeTimes, { message: /writeTimes needs every record/ });
  t.throws(() => dev.writtenEvents, { message: /writtenEvents needs every record/ });
  // The hook saw every write as it happened, records or not.
  t.deepEqual(seen, [0, 100, 5, 1, 200, 6, 2, 300, 7]);
});

test('MsiDevice {last: N} keeps the last N writes in a ring that never grows past N', (t) => {
  const all = device('all', 1000);
  for (const n of [1, 7, 300]) {
    const dev = device({ last: n }, 1000);
    t.deepEqual(dev.recording, { last: n });
    t.is(dev.sent, 1000);
    t.is(dev.kept, n);
    t.is(dev.recordSlots, n, `ring of ${n}`);
    t.is(dev.firstKept, 1000 - n);
    for (let i = dev.firstKept; i < 1000; i++) {
      t.is(dev.timeOf(i), all.timeOf(i));
      t.is(dev.eventOf(i), all.eventOf(i));
    }
    t.throws(() => dev.timeOf(999 - n), { instanceOf: RangeError, message: new RegExp(`keeps the last ${n} \\(writes ${1000 - n} to 999\\)`) });
    t.throws(() => dev.writeTimes, { message: /only the last/ });
  }
  // Fewer writes than the ring holds: all kept, arrays only as large as needed.
  const few = device({ last: 100_000 }, 10);
  t.is(few.kept, 10);
  t.true(few.recordSlots <= 256);
  t.is(few.timeOf(0), 100);
});

test('MsiDevice rejects a malformed record option, and setRecording after the first write', (t) => {
  const m = new Machine({});
  const cfg = { deviceId: 1, doorbell: DOORBELL, events: [0], pattern: { kind: 'periodic' as const, period: 10 } };
  t.throws(() => new MsiDevice(m, { ...cfg, record: { last: 0 } }), { message: /record: expected 'all', 'none' or \{last: N\}/ });
  t.throws(() => new MsiDevice(m, { ...cfg, record: { last: 2.5 } }));
  t.throws(() => new MsiDevice(m, { ...cfg, record: 'some' as RecordKeep }));
  const dev = new MsiDevice(m, { ...cfg, count: 3 });
  dev.setRecording('none');
  dev.start();
  m.run(1e6);
  t.is(dev.sent, 3);
  t.throws(() => dev.setRecording('all'), { message: /setRecording after 3 writes/ });
});

function fill(log: DeliveryLog, n: number): void {
  for (let i = 0; i < n; i++) log.push(8192 + (i % 3), i % 2, 1000 + i);
}

test("DeliveryLog keeps every record by default; counts are counters whatever is kept", (t) => {
  const log = new DeliveryLog();
  fill(log, 2000);
  t.is(log.length, 2000);
  t.is(log.kept, 2000);
  t.is(log.intid.length, 2000);
  t.is(log.counterAt(1999), 2999);
  t.deepEqual([...log.counts()], [
    [8192, 667],
    [8193, 667],
    [8194, 666],
  ]);
  t.throws(() => log.intidAt(2000), { instanceOf: RangeError, message: /no delivery 2000/ });
  t.throws(() => log.cpuAt(-1), { instanceOf: RangeError });

  const none = new DeliveryLog({ keep: 'none' });
  fill(none, 2000);
  t.is(none.length, 2000);
  t.is(none.kept, 0);
  t.is(none.recordSlots, 0);
  t.deepEqual([...none.counts()], [...log.counts()]);
  t.throws(() => none.intidAt(0), { instanceOf: RangeError, message: /delivery 0 was not kept \(it keeps no records\)/ });
  t.throws(() => none.intid, { message: /intid needs every record/ });
  t.throws(() => none.counter, { message: /counter needs every record/ });
});

test('DeliveryLog {last: N} is a ring of N; a sink sees every delivery as it is pushed', (t) => {
  const got: number[] = [];
  const log = new DeliveryLog({ keep: { last: 50 }, sink: { delivered: (intid, cpu, counter) => void got.push(intid, cpu, counter) } });
  fill(log, 5000);
  t.is(log.length, 5000);
  t.is(log.kept, 50);
  t.is(log.recordSlots, 50);
  t.is(log.firstKept, 4950);
  for (let i = 4950; i < 5000; i++) {
    t.is(log.intidAt(i), 8192 + (i % 3));
    t.is(log.cpuAt(i), i % 2);
    t.is(log.counterAt(i), 1000 + i);
  }
  t.throws(() => log.counterAt(4949), { instanceOf: RangeError, message: /keeps the last 50 \(deliveries 4950 to 4999\)/ });
  t.throws(() => log.cpu, { message: /only the last 50/ });
  t.is(got.length, 3 * 5000);
  t.deepEqual(got.slice(-3), [8192 + (4999 % 3), 1, 5999]);
  t.throws(() => new DeliveryLog({ keep: { last: -1 } }));
});
