/**
 * The online latency matcher (scenarios/online-latency.ts) and its histogram
 * (scenarios/histogram.ts): fed MSIs and deliveries in the order a run produces them, it gives
 * the offline matcher's counts exactly and its percentiles within the histogram's stated error,
 * with memory bounded by what is outstanding.
 */
import test from 'ava';
import fc from 'fast-check';
import { bucketOf, bucketRange, LogHistogram, RELATIVE_ERROR, RELATIVE_WIDTH } from '../../scenarios/histogram.js';
import { matchLatencies, percentile, type MsiRecord } from '../../scenarios/latency.js';
import { OnlineLatency } from '../../scenarios/online-latency.js';

test('histogram buckets: 128 per power of two, each at most 1/128 of its lower bound wide, contiguous', (t) => {
  t.is(RELATIVE_WIDTH, 1 / 128);
  t.is(RELATIVE_ERROR, 1 / 256);
  for (const v of [1, 2, 3, 1000, 1024, 1025, 2 ** 40, 0.75, 2 ** -10, 123_456.5]) {
    const { low, width } = bucketRange(bucketOf(v));
    t.true(low <= v && v < low + width, `${v} in [${low}, ${low + width})`);
    t.true(width <= low / 128, `${v}: width ${width}`);
  }
  // Powers of two open a bucket; the value just below closes the previous one.
  for (let e = -16; e < 64; e++) {
    const b = bucketOf(2 ** e);
    t.is(bucketRange(b).low, 2 ** e);
    t.is(bucketOf(2 ** e * (1 - 2 ** -52)), b - 1);
    const r = bucketRange(b - 1);
    if (e > -16) t.is(r.low + r.width, 2 ** e);
  }
  t.is(bucketOf(0), 0);
  t.is(bucketOf(2 ** -20), 0);
  t.throws(() => new LogHistogram().record(-1), { instanceOf: RangeError });
  t.throws(() => new LogHistogram().record(NaN), { instanceOf: RangeError });
});

test('histogram: exact count, sum, min, max and mean; percentiles within 1/256 of the exact nearest rank', (t) => {
  const empty = new LogHistogram();
  t.true(Number.isNaN(empty.percentile(50)) && Number.isNaN(empty.max) && Number.isNaN(empty.mean));
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.double({ min: 1, max: 1e12, noNaN: true }), fc.integer({ min: 1, max: 2 ** 40 }).map((x) => x / 2)), { minLength: 1, maxLength: 400 }),
      fc.constantFrom(0, 1, 25, 50, 90, 99, 99.9, 100),
      (xs, p) => {
        const h = new LogHistogram();
        for (const x of xs) h.record(x);
        const s = Float64Array.from(xs);
        const exact = percentile(s, p);
        const got = h.percentile(p);
        if (Math.abs(got - exact) > exact * RELATIVE_ERROR) return false;
        return h.count === xs.length && h.max === Math.max(...xs) && h.min === Math.min(...xs) && h.sum === xs.reduce((a, b) => a + b, 0);
      },
    ),
    { numRuns: 300 },
  );
  // A single value, or all values equal: reported exactly (clamped to [min, max]).
  const one = new LogHistogram();
  for (let i = 0; i < 10; i++) one.record(1234.5);
  t.is(one.percentile(50), 1234.5);
  t.is(one.percentile(99), 1234.5);
  const m = new LogHistogram();
  m.merge(one);
  m.record(1);
  t.is(m.count, 11);
  t.is(m.min, 1);
});

/** MSIs and deliveries in the order a run feeds them: by time, MSIs before deliveries at equal times. */
interface Ev {
  readonly msi: boolean;
  readonly key: number;
  readonly time: number;
}

const evArb = fc.record({ msi: fc.boolean(), key: fc.integer({ min: 1, max: 4 }), time: fc.integer({ min: 0, max: 4000 }).map((x) => x / 2) });

function both(evs: readonly Ev[], pipeline: number) {
  const fed = [...evs].sort((a, b) => a.time - b.time || (a.msi === b.msi ? 0 : a.msi ? -1 : 1));
  const online = new OnlineLatency(pipeline);
  for (const e of fed) (e.msi ? online.msi(e.key, e.time) : online.delivery(e.key, e.time));
  const msis: MsiRecord[] = evs.filter((e) => e.msi);
  const deliveries = evs.filter((e) => !e.msi);
  return { online, offline: matchLatencies(msis, deliveries, pipeline) };
}

test('fed in run order, the online matcher gives matchLatencies: counts exactly, max and mean exactly, percentiles within the stated error', (t) => {
  // fc.assert throws the shrunk counter-example on failure; ava reports it.
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(evArb, { maxLength: 300 }), fc.constantFrom(0, 1, 37.5, 200), (evs, pipeline) => {
        const { online, offline } = both(evs, pipeline);
        const c = online.counts();
        const lat = offline.latencies;
        const sum = lat.reduce((a, b) => a + b, 0);
        const close = (p: number): boolean => {
          const exact = percentile(lat, p);
          const got = online.latency.percentile(p);
          return lat.length === 0 ? Number.isNaN(got) : Math.abs(got - exact) <= exact * RELATIVE_ERROR;
        };
        return (
          c.outOfOrder === 0 &&
          c.matched === lat.length &&
          c.deliveries === offline.delivered &&
          c.coalesced === offline.coalesced &&
          c.undelivered === offline.undelivered &&
          c.unmatched === offline.unmatched &&
          c.msis === evs.filter((e) => e.msi).length &&
          (lat.length === 0 || (online.latency.max === Math.max(...lat) && online.latency.sum === sum)) &&
          close(50) &&
          close(99) &&
          close(100)
        );
      }),
      { numRuns: 500 },
    ),
  );
});

test('the matching rules: oldest MSI gives the latency, later ones up to the horizon coalesce, MSIs inside the pipeline wait for the next delivery', (t) => {
  const o = new OnlineLatency(10);
  o.msi(1, 100);
  o.msi(1, 105);
  o.msi(1, 112); // written after this delivery's horizon (120 - 10): not consumed by it
  o.delivery(1, 120);
  o.delivery(2, 130); // no MSI of key 2
  o.delivery(1, 140);
  o.msi(1, 150);
  const c = o.counts();
  t.deepEqual(c, { msis: 4, deliveries: 3, matched: 2, coalesced: 1, undelivered: 1, unmatched: 1, outOfOrder: 0 });
  t.is(o.latency.max, 28);
  t.is(o.latency.mean, (20 + 28) / 2);
  t.is(o.outstanding, 1);
});

test('inputs out of run order are counted, not silently matched differently', (t) => {
  const late = new OnlineLatency(10);
  late.delivery(1, 100);
  late.msi(1, 50); // offline, the delivery at 100 would have taken it
  t.is(late.counts().outOfOrder, 1);
  const back = new OnlineLatency(0);
  back.msi(1, 50);
  back.msi(1, 40);
  back.delivery(1, 100);
  back.delivery(1, 90);
  t.is(back.counts().outOfOrder, 2);
});

test('memory follows the MSIs outstanding, not the MSIs sent', (t) => {
  const o = new OnlineLatency(5);
  // A million MSIs on 8 keys, each delivered 20 cycles after it was written; bursts of 3 per key coalesce.
  let time = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const key = i % 8;
    time += 1;
    o.msi(key, time);
    if (i >= 8 * 3) o.delivery((i - 24) % 8, time - 0.5);
  }
  const c = o.counts();
  t.is(c.msis, 1_000_000);
  t.is(c.outOfOrder, 0);
  t.true(c.matched > 100_000);
  t.true(o.outstanding <= 64, `outstanding ${o.outstanding}`);
  t.true(o.queueSlots <= 8 * 8, `queue slots ${o.queueSlots}`);
  t.is(o.keyCount, 8);
});
