/**
 * Threads: the running continuations of programs, and the program counters that name them.
 *
 * Real code is resumed from a PC and its registers; our programs are generators, so a
 * suspended program is a generator object. Each thread gets a block of the address space
 * (8 KB, from THREAD_BASE up) and its PC is `base + 4 * (pos mod 1024)`, where `pos` counts
 * the ops it has fetched. ELR_ELx holds such a PC when an exception interrupts a thread, and
 * EL2 code can save it, restore it, add 4 to it and ERET to it exactly as real code does:
 * ERET to the same PC retries the held op, to PC + 4 skips it (completing it with the value
 * the handler left in its transfer register). Any other PC inside the window names no
 * executable code and takes an Instruction Abort.
 *
 * Thread PCs are a model artefact: they are never translated by stage 2 (the code was
 * fetched, and checked, when the thread started at a real entry address).
 */
import { doubleField } from './double-field.js';
import { Op, type Program } from './ops.js';

export const THREAD_BASE = 2 ** 47;
export const THREAD_SPAN = 8192;
const POS_WINDOW = 1024;
/*
 * The PC arithmetic below (every exception entry reads a thread's PC, every ERET resolves one)
 * writes these three as literals, named in comments: a module-level constant is a context load
 * and a TDZ check per use and is never constant-folded (core/pe.ts says more), so a division by
 * THREAD_SPAN stayed a division instead of a multiplication by 2^-13. Checked at load.
 */
if (THREAD_BASE !== 140737488355328 || THREAD_SPAN !== 8192 || POS_WINDOW !== 1024) throw new Error('core/threads.ts: a literal differs from its constant');

/** What the next fetch delivers to the generator. */
export const Result = { None: 0, Number: 1, Big: 2, Raw: 3 } as const;
export type Result = (typeof Result)[keyof typeof Result];

export class Thread {
  /** Index of the next op to fetch, or of the held op. */
  pos = 0;
  /** An op fetched but not executed (trapped, faulted, or WORK in progress). */
  held: Op | null = null;
  private heldBuf: Op | null = null;
  /** Transfer register whose value the next fetch delivers, and how to convert it. */
  pendRt = 0;
  pendKind: Result = Result.None;
  /** Remaining cycles of a WORK op in progress. */
  workLeft = 0;
  finished = false;
  /** Index of the PE running this thread, or -1 while it is suspended. */
  owner = -1;
  /**
   * The callers of `gen` suspended in a sub-program call (`call` in ops.ts), innermost last:
   * `gen` is the running sub-program and `callers[0..depth)` the programs waiting for it.
   */
  readonly callers: Program<unknown>[] = [];
  depth = 0;

  constructor(
    /** Unique for the life of the machine (a recycled record gets a new id). */
    public id: number,
    public gen: Program<unknown>,
    /** Entry address the thread started at (for diagnostics). */
    public entry: number,
    /** Human-readable name of the entry, if the code map has one. */
    public label: string,
  ) {
    doubleField(this, 'id');
  }

  /** Reinitialises a recycled record for a new program. */
  reset(id: number, gen: Program<unknown>, entry: number, label: string): void {
    this.id = id;
    this.gen = gen;
    this.entry = entry;
    this.label = label;
    this.pos = 0;
    this.held = null;
    this.pendRt = 0;
    this.pendKind = Result.None;
    this.workLeft = 0;
    this.finished = false;
    this.owner = -1;
    this.depth = 0;
  }

  get base(): number {
    return 140737488355328 /* THREAD_BASE */ + this.id * 8192 /* THREAD_SPAN */;
  }

  get pc(): number {
    return this.base + (this.pos % 1024) /* POS_WINDOW */ * 4;
  }

  /** Keeps a copy of `op` as the held op (ops from builders are shared scratch records). */
  hold(op: Op): void {
    if (this.held === op) return;
    const buf = this.heldBuf ?? (this.heldBuf = new Op());
    buf.copyFrom(op);
    this.held = buf;
  }
}

/**
 * Live threads, by id. Ids grow forever (so a stale PC never names a newer thread); live
 * threads sit in a power-of-two slot array at `id & mask` (an id whose slot is taken is
 * skipped; the array doubles when half full). Finished records are recycled, so starting a
 * handler allocates only its generator.
 */
export class ThreadTable {
  private slots: (Thread | undefined)[] = new Array<Thread | undefined>(64);
  private mask = 63;
  private live = 0;
  private nextId = 0;
  private readonly pool: Thread[] = [];

  constructor() {
    // One id per thread started (per exception taken) for the life of the machine: past 2^31 in a
    // long run, so the count and the records' ids get their double representation now (double-field.ts).
    doubleField(this as unknown as { nextId: number }, 'nextId');
  }

  create(gen: Program<unknown>, entry: number, label: string): Thread {
    // Skip ids whose slot a long-lived thread holds; grow only when the table is crowded.
    if (this.live * 2 >= this.mask) this.grow();
    let id = this.nextId++;
    while (this.slots[id & this.mask] !== undefined) id = this.nextId++;
    let t = this.pool.pop();
    if (t === undefined) t = new Thread(id, gen, entry, label);
    else t.reset(id, gen, entry, label);
    this.slots[id & this.mask] = t;
    this.live++;
    return t;
  }

  release(t: Thread): void {
    if (t.finished) return;
    t.finished = true;
    const slot = t.id & this.mask;
    if (this.slots[slot] === t) this.slots[slot] = undefined;
    this.live--;
    t.gen = DONE;
    // Drop the suspended callers (no program of a finished thread runs again).
    for (let i = 0; i < t.depth; i++) t.callers[i] = DONE;
    t.depth = 0;
    this.pool.push(t);
  }

  private grow(): void {
    const old = this.slots;
    this.mask = this.mask * 2 + 1;
    this.slots = new Array<Thread | undefined>(this.mask + 1);
    for (const t of old) if (t !== undefined) this.slots[t.id & this.mask] = t;
  }

  get count(): number {
    return this.live;
  }

  /** Distance (in ops) from the resolved thread's position to the PC `resolve` was given. */
  delta = 0;

  /**
   * Resolves a PC in the thread window: the live thread it names (with `delta` set to the
   * distance from its current position), or undefined.
   */
  resolve(pc: number): Thread | undefined {
    const rel = pc - 140737488355328 /* THREAD_BASE */;
    if (rel < 0) return undefined;
    // The block and the offset in it by division and subtraction, exact for rel < 2^53: `%` of a
    // double beyond 32 bits is a call into the runtime (fmod) in V8, and rel is above 2^47.
    const id = Math.floor(rel / 8192 /* THREAD_SPAN */);
    const off = rel - id * 8192 /* THREAD_SPAN */;
    // Not a multiple of 4 (or not an integer, or NaN): not an op's PC.
    if ((off & 3) !== 0 || (off | 0) !== off) return undefined;
    const t = this.slots[id & this.mask];
    if (t === undefined || t.id !== id || t.finished) return undefined;
    this.delta = off / 4 - (t.pos % 1024) /* POS_WINDOW */;
    return t;
  }
}

/** The generator a recycled record holds until reused. */
const DONE: Program<unknown> = (function* (): Program<unknown> {
  return undefined;
})();

export function isThreadPc(pc: number): boolean {
  return pc >= 140737488355328 /* THREAD_BASE */ && pc < 281474976710656 /* THREAD_BASE * 2 */;
}
