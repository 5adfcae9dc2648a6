/**
 * The delivery check (scenarios/delivery-check.ts) on its own, fed by hand: the rules that decide
 * delivered, coalesced (merged while pending), undelivered, duplicated and misdelivered, and a
 * property over random correct executions (a single pending bit per LPI, guest acknowledges at
 * random times, the injected path's lag between arrival and guest-visible pending): no violation,
 * every accepted MSI accounted for once. The same property with a planted fault (the last MSI of
 * one key never reaches the guest) is caught every time.
 */
import test from 'ava';
import fc from 'fast-check';
import type { MsiDevice } from '../../core/msi-device.js';
import type { PE } from '../../core/pe.js';
import { cpuAffinity } from '../../drivers/affinity.js';
import { DeliveryCheck } from '../../scenarios/delivery-check.js';

/** A check over device 1 of VM 0 (VMID 1), EventID e -> vCPU e % 2, vINTID 8224 + e; time set by hand. */
function rig(events = 2): { check: DeliveryCheck; clock: { t: number }; msi: (e: number, at: number, arriveAt?: number) => void; ack: (vcpu: number, vintid: number, at: number, vmid?: number) => void } {
  const clock = { t: 0 };
  const dev = { sent: 0 } as { sent: number };
  const check = new DeliveryCheck([{ device: dev as unknown as MsiDevice, deviceId: 1, vm: 0, events: Array.from({ length: events }, (_, e) => ({ vcpu: e % 2, vintid: 8224 + e })) }], {
    vmOfVmid: new Map([[1, 0]]),
    now: () => clock.t,
  });
  const pes = [0, 1].map((i) => ({ index: i, vttbr: 1n << 48n, vmpidr: 0x80000000 + cpuAffinity(i) }));
  return {
    check,
    clock,
    msi: (e, at, arriveAt = at + 100) => {
      clock.t = at;
      dev.sent++;
      check.accepted(1, e);
      clock.t = arriveAt;
      check.translated(1, e, true);
    },
    ack: (vcpu, vintid, at, vmid = 1) => {
      clock.t = at;
      const pe = pes[vcpu]!;
      pe.vttbr = BigInt(vmid) << 48n;
      check.ack(pe as unknown as PE, vintid);
    },
  };
}

test('one MSI, one acknowledge: delivered, latency from the write', (t) => {
  const r = rig();
  r.msi(0, 1000);
  r.ack(0, 8224, 1500);
  const { counts, violations } = r.check.finish();
  t.deepEqual(violations, []);
  t.like(counts, { sent: 1, accepted: 1, delivered: 1, coalesced: 0, undelivered: 0, duplicated: 0, misdelivered: 0 });
  t.is(r.check.records[0]!.ackTime - r.check.records[0]!.writeTime, 500);
});

test('two MSIs before one acknowledge: one delivered, one merged while pending', (t) => {
  const r = rig();
  r.msi(0, 1000);
  r.msi(0, 1200);
  r.ack(0, 8224, 1500);
  const { counts, violations } = r.check.finish();
  t.deepEqual(violations, []);
  t.like(counts, { delivered: 1, coalesced: 1, undelivered: 0 });
});

test('the injected path lag: an MSI that arrived before an acknowledge but reached the guest after it is delivered by the next one', (t) => {
  const r = rig();
  r.msi(0, 1000);
  r.msi(0, 1100);
  r.ack(0, 8224, 1500);
  // No new MSI: the second acknowledge is the lagging second MSI's.
  r.ack(0, 8224, 2500);
  const { counts, violations } = r.check.finish();
  t.deepEqual(violations, []);
  t.like(counts, { delivered: 2, coalesced: 0, duplicated: 0 });
});

test('an acknowledge takes the first MSI that arrived since the previous one; older leftovers count as merged', (t) => {
  const r = rig();
  r.msi(0, 1000);
  r.msi(0, 1100); // merges with the first
  r.ack(0, 8224, 1500);
  r.msi(0, 2000);
  r.ack(0, 8224, 2600);
  const { counts } = r.check.finish();
  t.like(counts, { delivered: 2, coalesced: 1 });
  // The second delivery's latency is from its own MSI (written at 2000), not the merged one.
  t.is(r.check.records[1]!.writeTime, 2000);
});

test('an MSI after the last acknowledge is undelivered, and named', (t) => {
  const r = rig();
  r.msi(1, 1000);
  r.ack(1, 8225, 1500);
  r.msi(1, 3000);
  const { counts, violations } = r.check.finish();
  t.like(counts, { delivered: 1, undelivered: 1 });
  t.is(violations.length, 1);
  t.regex(violations[0]!, /^vm0 vINTID 8225 \(device 1 EventID 1 -> vcpu1\): 1 MSI never acknowledged \(the first written at cycle 3000; its last acknowledge at cycle 1500\)$/);
  t.is(r.check.outstanding, 1);
});

test('an acknowledge with nothing to deliver is a duplicate', (t) => {
  const r = rig();
  r.msi(0, 1000);
  r.ack(0, 8224, 1500);
  r.ack(0, 8224, 1600);
  const { counts, violations } = r.check.finish();
  t.like(counts, { delivered: 1, duplicated: 1 });
  t.regex(violations[0]!, /acknowledged at cycle 1600 on vcpu0 with no MSI left to deliver \(a duplicate\)/);
});

test('misdelivered: on the wrong vCPU, an LPI no event of the VM becomes, or in another VM', (t) => {
  const r = rig();
  r.msi(0, 1000);
  r.ack(1, 8224, 1500); // event 0 targets vcpu0
  r.ack(0, 9000, 1600); // no event becomes 9000
  r.ack(0, 8225, 1700, 2); // a VM the check does not know
  r.ack(0, 27, 1800); // the virtual timer: not a device event, not counted
  const { counts, violations } = r.check.finish();
  t.like(counts, { delivered: 0, misdelivered: 3, undelivered: 0 });
  t.is(violations.length, 3);
  t.regex(violations[0]!, /by vcpu1, but its event targets vcpu0/);
  t.regex(violations[1]!, /acknowledged vINTID 9000 .* no device event of that VM/);
  t.regex(violations[2]!, /a VM the run does not know/);
});

test('an MSI the ITS drops although its event is assigned is undelivered', (t) => {
  const r = rig();
  r.clock.t = 100;
  r.check.accepted(1, 0);
  r.check.translated(1, 0, false);
  const { counts, violations } = r.check.finish();
  t.like(counts, { accepted: 1, undelivered: 1 });
  t.regex(violations[0]!, /the ITS dropped the MSI written at cycle 100/);
});

/** A correct execution: per key, MSIs arrive; each becomes guest-visible after a lag (in order); the guest acknowledges what is pending at random times. */
interface Execution {
  readonly msis: { e: number; write: number; arrive: number }[];
  readonly acks: { e: number; t: number }[];
}

function execute(gaps: readonly number[][], lags: readonly number[], ackDelays: readonly number[], plant: boolean): Execution {
  const msis: Execution['msis'] = [];
  const acks: Execution['acks'] = [];
  gaps.forEach((g, e) => {
    let t = 1000 * (e + 1);
    let visibleAt = -Infinity;
    let pending = false;
    let pendingSince = 0;
    const injections: number[] = [];
    g.forEach((gap, i) => {
      t += gap;
      const arrive = t + 50;
      msis.push({ e, write: t, arrive });
      // Guest-visible pending after a lag, never before an earlier MSI's.
      visibleAt = Math.max(visibleAt, arrive + lags[(e * 7 + i) % lags.length]!);
      if (!(plant && e === 0 && i === g.length - 1)) injections.push(visibleAt);
    });
    // The guest acknowledges each pending episode some time after it becomes visible; arrivals while pending merge.
    let k = 0;
    while (k < injections.length) {
      pending = true;
      pendingSince = injections[k]!;
      const at = pendingSince + 1 + ackDelays[(e * 5 + k) % ackDelays.length]!;
      // Everything visible by the acknowledge merges into it.
      while (k < injections.length && injections[k]! <= at) k++;
      acks.push({ e, t: at });
      pending = false;
    }
    void pending;
  });
  return { msis, acks };
}

function feed(x: Execution, events: number): ReturnType<DeliveryCheck['finish']> {
  const r = rig(events);
  type Ev = { t: number; order: number; run: () => void };
  const evs: Ev[] = [];
  // Writes, arrivals and acknowledges in time order (writes and arrivals first at equal times, as the machine runs events before PEs).
  const dev = r.check.devices[0]!.device as unknown as { sent: number };
  for (const m of x.msis) {
    evs.push({ t: m.write, order: 0, run: () => ((r.clock.t = m.write), dev.sent++, r.check.accepted(1, m.e)) });
    evs.push({ t: m.arrive, order: 1, run: () => ((r.clock.t = m.arrive), r.check.translated(1, m.e, true)) });
  }
  for (const a of x.acks) evs.push({ t: a.t, order: 2, run: () => r.ack(a.e % 2, 8224 + a.e, a.t) });
  evs.sort((a, b) => a.t - b.t || a.order - b.order);
  // Translations complete in acceptance order per device (the ITS's FIFO).
  for (const ev of evs) ev.run();
  return r.check.finish();
}

const execution = fc.record({
  gaps: fc.array(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 4 }),
  lags: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 8 }),
  ackDelays: fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 8 }),
});

test('property: a correct execution has no violation and accounts for every MSI once', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(execution, ({ gaps, lags, ackDelays }) => {
        const x = execute(gaps, lags, ackDelays, false);
        // Arrivals of one device are in write order (one FIFO in the ITS): keep the generator's writes increasing.
        x.msis.sort((a, b) => a.write - b.write);
        const { counts, violations } = feed(x, gaps.length);
        if (violations.length > 0) throw new Error(violations.join('; '));
        if (counts.delivered !== x.acks.length) throw new Error(`${counts.delivered} delivered, ${x.acks.length} acknowledges`);
        if (counts.delivered + counts.coalesced + counts.undelivered !== x.msis.length) throw new Error('an MSI counted twice or not at all');
      }),
      { seed: 12, numRuns: 300 },
    ),
  );
});

test('property with a planted fault: the last MSI of one key never reaches the guest; the check always names it', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(execution, ({ gaps, lags, ackDelays }) => {
        const x = execute(gaps, lags, ackDelays, true);
        x.msis.sort((a, b) => a.write - b.write);
        // Only a fault the architecture cannot explain: the lost MSI arrived after the guest's last acknowledge of its key.
        const last = x.msis.filter((m) => m.e === 0).at(-1)!;
        const lastAck = Math.max(-Infinity, ...x.acks.filter((a) => a.e === 0).map((a) => a.t));
        fc.pre(last.arrive > lastAck);
        const { counts, violations } = feed(x, gaps.length);
        if (counts.undelivered < 1 || !violations.some((v) => v.includes('vINTID 8224'))) throw new Error(`not caught: ${JSON.stringify(counts)}`);
      }),
      { seed: 13, numRuns: 300 },
    ),
  );
});
