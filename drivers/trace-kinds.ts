/** Trace records the driver library emits. */
declare module '../core/trace.js' {
  interface TraceKinds {
    /** A core took ticket `ticket` of a spinlock that `owner`'s holder has (drivers/spinlock.ts): it spins. */
    'lock-wait': { lock: string; ticket: number; owner: number };
    /** The core that waited owns the lock, `cycles` after taking its ticket. */
    'lock-acquired': { lock: string; ticket: number; cycles: number };
  }
}
export {};
