/**
 * The 'msi-write' trace record (core/msi-device.ts): one per write, with the time, the device,
 * its DeviceID, the write's index, the EventID, the doorbell address and size and the bus's
 * answer; nothing when tracing is off.
 */
import test from 'ava';
import { Machine } from '../../core/machine.js';
import { MsiDevice } from '../../core/msi-device.js';

const DOORBELL = 0x0900_0000;

test('with tracing on, every write is an msi-write record carrying the bus status', (t) => {
  const m = new Machine({ trace: true });
  m.bus.addMmio('doorbell', DOORBELL, 0x1000, { read: () => 0, write: () => undefined });
  const dev = new MsiDevice(m, { name: 'nic', deviceId: 42, doorbell: DOORBELL, events: [10, 11], pattern: { kind: 'periodic', period: 500 }, count: 3, size: 2 });
  const lost = new MsiDevice(m, { deviceId: 7, doorbell: 0x1_0000_0000, events: [0], pattern: { kind: 'periodic', period: 700 }, count: 1 });
  dev.start();
  lost.start();
  m.run(1e6);
  t.deepEqual(m.trace.of('msi-write'), [
    { t: 500, core: -1, el: -1, kind: 'msi-write', device: 'nic', deviceId: 42, index: 0, eventId: 10, doorbell: DOORBELL, size: 2, status: 'ok' },
    { t: 700, core: -1, el: -1, kind: 'msi-write', device: 'msi-dev7', deviceId: 7, index: 0, eventId: 0, doorbell: 0x1_0000_0000, size: 4, status: 'decode-error' },
    { t: 1000, core: -1, el: -1, kind: 'msi-write', device: 'nic', deviceId: 42, index: 1, eventId: 11, doorbell: DOORBELL, size: 2, status: 'ok' },
    { t: 1500, core: -1, el: -1, kind: 'msi-write', device: 'nic', deviceId: 42, index: 2, eventId: 10, doorbell: DOORBELL, size: 2, status: 'ok' },
  ]);
  t.is(lost.busErrors, 1);
  // The record's index names the device's write record.
  for (const r of m.trace.of('msi-write').filter((x) => x.deviceId === 42)) t.is(dev.timeOf(r.index), r.t);
});

test('with tracing off, no record', (t) => {
  const m = new Machine({});
  const dev = new MsiDevice(m, { deviceId: 1, doorbell: DOORBELL, events: [1], pattern: { kind: 'periodic', period: 100 }, count: 5 });
  dev.start();
  m.run(1e6);
  t.is(dev.sent, 5);
  t.is(m.trace.records.length, 0);
});
