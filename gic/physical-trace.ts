/**
 * Trace record kinds of the physical GIC (distributor, redistributors, CPU interfaces, LPIs),
 * declared here once and emitted by the files of the physical GIC. Every emit is guarded by
 * `if (m.trace.on)`, so a run without tracing builds no record.
 *
 * `core` in these records is the PE the event concerns (the target of a pending interrupt, the
 * PE that acknowledged it), or -1 when there is none; `el` is that PE's EL at the time.
 */
import type {} from '../core/trace.js';

/** How an interrupt became pending. */
export type GicPendingCause = 'line' | 'edge' | 'register' | 'sgi' | 'lpi' | 'lpi-scan';

declare module '../core/trace.js' {
  interface TraceKinds {
    /** An SGI/PPI/SPI/LPI became pending. `pe` = target PE (-1: an SPI routed to no PE). */
    'gic-pending': { intid: number; pe: number; cause: GicPendingCause };
    /** ICC_IAR0/1 returned `intid` (acknowledge: pending -> active, or pending cleared for an LPI). */
    'gic-ack': { intid: number; pe: number; group: number; priority: number };
    /** ICC_EOIR0/1: priority drop of `dropped` (the running priority before the write). */
    'gic-eoi': { intid: number; pe: number; group: number; dropped: number; deactivated: boolean };
    /** An SGI/PPI/SPI left the active state. */
    'gic-deactivate': { intid: number; pe: number; by: 'eoir' | 'dir' | 'hw' };
    /** ICC_SGI0R/SGI1R/ASGI1R write: `targets` are PE indices. */
    'gic-sgi': { intid: number; pe: number; group: number; targets: number[] };
    /** LPI bookkeeping at redistributor `pe`: dropped on arrival, config fetched, invalidated, moved. */
    'gic-lpi': { intid: number; pe: number; what: 'dropped' | 'fill' | 'inv' | 'invall' | 'scan' | 'moved' | 'cleared'; detail: number };
    /** A write the model ignores (RAZ/WI, UNPREDICTABLE resolved as ignore, bad width/alignment). */
    'gic-ignored': { block: string; what: string; value: number };
    /** GICR_WAKER.ProcessorSleep changed. */
    'gic-waker': { pe: number; asleep: boolean };
  }
}
