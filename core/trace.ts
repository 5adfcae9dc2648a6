/**
 * Typed trace records. Every architectural event is a record `{t, core, el, kind, ...fields}`
 * whose fields are declared per kind in `TraceKinds`; other layers add their kinds by
 * declaration merging (`declare module '../core/trace.js' { interface TraceKinds {...} }`),
 * so core never imports them. Producers test `trace.on` before building a record, so a run
 * with tracing off formats and allocates nothing.
 */
import type { Word } from './bits.js';

export type ExceptionType = 'sync' | 'irq' | 'fiq' | 'serror';

/** Fields of each record kind. Extended by gic/, hypervisor/, guests/ and scenarios/. */
export interface TraceKinds {
  /** An exception was taken to `target` EL from `from` EL. */
  exception: { type: ExceptionType; from: number; target: number; ec: number; esr: number; elr: number; far: number };
  /** ERET from `from` EL to `to` EL, resuming at `elr`. */
  eret: { from: number; to: number; elr: number; illegal: boolean };
  /** A PE data access that reached an MMIO region. */
  mmio: { addr: number; size: number; write: boolean; value: Word; region: string };
  /** A PE entered WFI low-power state (or WFE). */
  'wfi-sleep': { wfe: boolean };
  /**
   * A PE left WFI/WFE because of `reason`: 'interrupt', 'event' (SEV), or 'monitor' (another
   * requester's write cleared its global exclusive-monitor mark: a WFE wake-up event).
   */
  'wfi-wake': { reason: string; slept: number };
  /** The PE powered on (reset or PSCI CPU_ON) at `entry`, EL `startEl`. */
  'cpu-on': { entry: number; startEl: number; by: number };
  /** The PE powered off (PSCI CPU_OFF). */
  'cpu-off': { reason: string };
  /** The machine stopped (PSCI SYSTEM_OFF). */
  'system-off': { by: number };
  /** A program's generator returned: the PE ran off the end of its code (taken as UNDEFINED). */
  'program-ended': { pc: number };
  /** A generic timer output changed level. */
  timer: { timer: 'phys' | 'virt' | 'hyp-phys'; ppi: number; level: boolean };
  /** A stage-2 walk faulted. */
  's2-fault': { ipa: number; level: number; fsc: number; write: boolean; fetch: boolean };
  /** A TLB invalidation. */
  tlbi: { op: string; vmid: number; ipa: number };
}

export type TraceKind = keyof TraceKinds;

export type TraceRecord = {
  [K in TraceKind]: { t: number; core: number; el: number; kind: K } & TraceKinds[K];
}[TraceKind];

export type TraceOf<K extends TraceKind> = Extract<TraceRecord, { kind: K }>;

export class Trace {
  /** When false nothing is recorded; producers check this before building a record. */
  on: boolean;
  readonly records: TraceRecord[] = [];
  /** Records beyond `limit` are counted here instead of kept. */
  dropped = 0;

  constructor(on = false, readonly limit = 5_000_000) {
    this.on = on;
  }

  emit(r: TraceRecord): void {
    if (this.records.length < this.limit) this.records.push(r);
    else this.dropped++;
  }

  of<K extends TraceKind>(kind: K): TraceOf<K>[] {
    return this.records.filter((r): r is TraceOf<K> => r.kind === kind);
  }

  clear(): void {
    this.records.length = 0;
    this.dropped = 0;
  }

  /** FNV-1a hash of every record, for "one seed, one trace" checks. */
  hash(): string {
    let h = 0x811c9dc5;
    for (const r of this.records) {
      const s = recordText(r);
      for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 0x01000193);
      }
    }
    return (h >>> 0).toString(16).padStart(8, '0');
  }
}

/** A record as one line of text (bigints in hex). */
export function recordText(r: TraceRecord): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
}
