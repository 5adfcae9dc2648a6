/**
 * A spinlock for software on several cores: a ticket lock in memory, built on the ISA's atomics as Linux's
 * arm64 ticket lock was (arch/arm64/include/asm/spinlock.h before the move to qspinlock, v4.x):
 *
 *   lock:    LDADDA  w, [lock], #0x10000     take a ticket: `next` += 1, the old word comes back
 *            if old.owner == old.next: held
 *            SEVL                             so that the first WFE falls through
 *         1: WFE
 *            LDAXRH  owner, [lock]            marks the exclusive monitor on the lock's granule
 *            if owner != ticket: goto 1       the unlock's store clears the mark: a WFE wake-up event
 *   unlock:  LDRH    owner, [lock]
 *            STLRH   owner + 1, [lock]        (a store-release: the critical section happens before)
 *
 * The lock word is 32 bits in the owner's memory, `owner` in [15:0] and `next` in [31:16]
 * (both wrap at 2^16), alone in its 64-byte reservation granule (core/exclusive-monitor.ts) so
 * that nothing else wakes its waiters. Waiters are served in ticket order (fair), and a waiter
 * sleeps in WFE instead of hammering memory: both as on hardware.
 *
 * What it costs is part of what the model shows: the ops are charged by the cost model, and the
 * time from taking a ticket to owning the lock is counted per lock (acquisitions, contended ones,
 * total and longest spin) and, with tracing on, a contended acquisition is recorded by a
 * 'lock-wait' record when the ticket shows the lock held and a 'lock-acquired' one when it is
 * owned (one spin slice on the core's track in the Perfetto export). The counting reads the
 * simulated time (observation only); it adds no op.
 *
 * Callers hold a lock only with interrupts masked (the shipped hypervisor runs with PSTATE.I = 1 at
 * EL2 except in its idle loop), as Linux's raw_spin_lock_irqsave does, so no handler on the same
 * core can try to take a lock its interrupted code holds. (Arm ARM DDI 0487: LDADD, LDAXR and STLR in
 * the A64 instruction descriptions; the exclusive monitors in "Synchronization and semaphores";
 * WFE, SEVL and the event a monitor's clearing generates in "Wait for Event mechanism and Send
 * event".)
 */
import { ldadd, ldaxr, ldr, ORD_ACQUIRE, sevl, stlr, wfe, type Program } from '../core/ops.js';
import type { Trace } from '../core/trace.js';
import type { PhysHeap } from './heap.js';
import './trace-kinds.js';

/** What software built on this library observes of the model (observation only: it adds no op). */
export interface DriverEnv {
  readonly trace: Trace;
  /** The simulated time, in cycles. */
  now(): number;
}

/** Lock statistics of one lock or a class of locks (cycles of the core clock). */
export class LockStats {
  acquisitions = 0;
  /** Acquisitions that found the lock held and had to wait. */
  contended = 0;
  /** Cycles from taking a ticket to owning the lock, summed over the acquisitions. */
  spinCycles = 0;
  maxSpin = 0;

  add(spin: number): void {
    this.acquisitions++;
    if (spin > 0) {
      this.contended++;
      this.spinCycles += spin;
      if (spin > this.maxSpin) this.maxSpin = spin;
    }
  }
}

/** Transfer registers the lock code uses (scratch registers x10 and x11). */
const RT_TICKET = 10;
const RT_OWNER = 11;

export class Spinlock {
  readonly stats = new LockStats();

  constructor(
    /** For statistics and the trace: 'its', 'vmovp', 'vmovp vm0', 'vpe 3'... */
    readonly name: string,
    /** The class whose statistics this lock also adds to (the table reports classes). */
    readonly cls: LockStats,
    /** Physical address of the lock word (64-byte aligned). */
    readonly pa: number,
    private readonly env: DriverEnv,
    /** The exception level its users run at (for the trace record). */
    readonly el = 2,
  ) {}

  /** A lock at a fresh 64-byte granule of `heap`. */
  static alloc(heap: PhysHeap, name: string, cls: LockStats, env: DriverEnv, el = 2): Spinlock {
    return new Spinlock(name, cls, heap.alloc(64, 64), env, el);
  }

  /** Takes the lock (waiting in WFE while another core holds it); `core` is the caller's, for the record. */
  *acquire(core: number): Program {
    const env = this.env;
    const t0 = env.now();
    const old: number = yield ldadd(this.pa, 0x10000, 4, ORD_ACQUIRE, RT_TICKET);
    const ticket = old >>> 16;
    let owner = old & 0xffff;
    const waited = owner !== ticket;
    if (waited) {
      if (env.trace.on) env.trace.emit({ t: env.now(), core, el: this.el, kind: 'lock-wait', lock: this.name, ticket, owner });
      yield sevl();
      while (owner !== ticket) {
        yield wfe();
        owner = yield ldaxr(this.pa, 2, RT_OWNER);
      }
    }
    const spin = waited ? env.now() - t0 : 0;
    this.stats.add(spin);
    this.cls.add(spin);
    if (waited && env.trace.on) env.trace.emit({ t: env.now(), core, el: this.el, kind: 'lock-acquired', lock: this.name, ticket, cycles: spin });
  }

  /** Releases the lock: the next ticket owns it. */
  *release(): Program {
    const owner: number = yield ldr(this.pa, 2, RT_OWNER);
    yield stlr(this.pa, (owner + 1) & 0xffff, 2, RT_OWNER);
  }

  /** Runs `body` with the lock held. */
  *with<T>(core: number, body: Program<T>): Program<T> {
    yield* this.acquire(core);
    const r: T = yield* body;
    yield* this.release();
    return r;
  }
}
