/**
 * Delivery latency as the examples' tests report it: for each MSI a device wrote (trace record
 * 'msi-write'), the cycles until the guest acknowledged an interrupt (ICV_IAR1_EL1, 'icv-ack').
 * Pairs them in order, so it fits runs where every MSI is delivered on its own (no merging).
 */
import type { Machine } from '../core/machine.js';

/** Latencies, in cycles, of the MSIs written from trace record `from` on (tracing must be on). */
export function msiToAckCycles(m: Machine, from = 0): number[] {
  const writes: number[] = [];
  const acks: number[] = [];
  const recs = m.trace.records;
  for (let i = from; i < recs.length; i++) {
    const r = recs[i]!;
    if (r.kind === 'msi-write') writes.push(r.t);
    else if (r.kind === 'icv-ack') acks.push(r.t);
  }
  return acks.slice(0, writes.length).map((t, i) => t - writes[i]!);
}
