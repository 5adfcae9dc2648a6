/**
 * Delivery latency: from the MSI write (recorded by the device) to the start of the guest's
 * handler (the virtual counter the guest kernel read on entry, converted to cycles).
 *
 * Matching, per guest LPI: deliveries and MSIs are both in time order; a delivery whose handler
 * started at time h consumes every unmatched MSI written at or before h - pipeline, where
 * `pipeline` is the time from an MSI write to the interrupt being pending plus the time from
 * the acknowledge to the handler's counter read (ITS translation + ICC_IAR1 cost): an MSI
 * written later could not have been pending when this delivery was acknowledged. The oldest
 * consumed MSI gives the latency; the others merged with it while the LPI was pending (LPIs
 * are edges without an active state, so a second MSI while the first is still pending is one
 * delivery) and are counted as coalesced.
 */
export interface MsiRecord {
  /** Guest LPI the MSI becomes. */
  readonly key: number;
  readonly time: number;
}

export interface DeliveryRecord {
  readonly key: number;
  readonly time: number;
}

export interface LatencyResult {
  /** Latency of each delivery that matched an MSI, in cycles, in delivery order. */
  readonly latencies: Float64Array;
  readonly delivered: number;
  readonly coalesced: number;
  /** MSIs not (yet) delivered at the end. */
  readonly undelivered: number;
  /** Deliveries with no MSI before them (should be 0). */
  readonly unmatched: number;
  /** For each latency: the index in `msis` of the MSI it starts from and in `deliveries` of the delivery. */
  readonly msiIndex: Int32Array;
  readonly deliveryIndex: Int32Array;
}

export function matchLatencies(msis: readonly MsiRecord[], deliveries: readonly DeliveryRecord[], pipeline = 0): LatencyResult {
  // Per key, the indices of its MSIs in time order (stable: equal times keep input order).
  const byKey = new Map<number, number[]>();
  msis.forEach((m, i) => {
    let q = byKey.get(m.key);
    if (q === undefined) byKey.set(m.key, (q = []));
    q.push(i);
  });
  for (const q of byKey.values()) q.sort((a, b) => msis[a]!.time - msis[b]!.time);
  const head = new Map<number, number>();
  const lat: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  let coalesced = 0;
  let unmatched = 0;
  const order = deliveries.map((_, i) => i).sort((a, b) => deliveries[a]!.time - deliveries[b]!.time);
  for (const di of order) {
    const d = deliveries[di]!;
    const q = byKey.get(d.key);
    let i = head.get(d.key) ?? 0;
    const horizon = d.time - pipeline;
    if (q === undefined || i >= q.length || msis[q[i]!]!.time > horizon) {
      unmatched++;
      continue;
    }
    lat.push(d.time - msis[q[i]!]!.time);
    from.push(q[i]!);
    to.push(di);
    i++;
    while (i < q.length && msis[q[i]!]!.time <= horizon) {
      coalesced++;
      i++;
    }
    head.set(d.key, i);
  }
  let undelivered = 0;
  for (const [k, q] of byKey) undelivered += q.length - (head.get(k) ?? 0);
  return { latencies: Float64Array.from(lat), delivered: deliveries.length, coalesced, undelivered, unmatched, msiIndex: Int32Array.from(from), deliveryIndex: Int32Array.from(to) };
}

/** Percentile (nearest rank) of an unsorted sample; NaN when empty. */
export function percentile(sample: Float64Array, p: number): number {
  if (sample.length === 0) return NaN;
  const s = Float64Array.from(sample).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}
