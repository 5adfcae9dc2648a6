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
import { Op, type Program } from './ops.js';

export const THREAD_BASE = 2 ** 47;
export const THREAD_SPAN = 8192;
const POS_WINDOW = 1024;

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

  constructor(
    readonly id: number,
    readonly gen: Program<unknown>,
    /** Entry address the thread started at (for diagnostics). */
    readonly entry: number,
    /** Human-readable name of the entry, if the code map has one. */
    readonly label: string,
  ) {}

  get base(): number {
    return THREAD_BASE + this.id * THREAD_SPAN;
  }

  get pc(): number {
    return this.base + (this.pos % POS_WINDOW) * 4;
  }

  /** Keeps a copy of `op` as the held op (ops from builders are shared scratch records). */
  hold(op: Op): void {
    if (this.held === op) return;
    const buf = this.heldBuf ?? (this.heldBuf = new Op());
    buf.copyFrom(op);
    this.held = buf;
  }
}

export class ThreadTable {
  private readonly live = new Map<number, Thread>();
  private nextId = 0;

  create(gen: Program<unknown>, entry: number, label: string): Thread {
    const t = new Thread(this.nextId++, gen, entry, label);
    this.live.set(t.id, t);
    return t;
  }

  release(t: Thread): void {
    t.finished = true;
    this.live.delete(t.id);
  }

  get count(): number {
    return this.live.size;
  }

  /**
   * Resolves a PC in the thread window: the thread and the distance (in ops) from its
   * current position, or undefined when the PC names no live thread.
   */
  resolve(pc: number): { thread: Thread; delta: number } | undefined {
    const rel = pc - THREAD_BASE;
    if (rel < 0 || rel % 4 !== 0) return undefined;
    const id = Math.floor(rel / THREAD_SPAN);
    const t = this.live.get(id);
    if (t === undefined) return undefined;
    const off = (rel % THREAD_SPAN) / 4;
    const delta = off - (t.pos % POS_WINDOW);
    return { thread: t, delta };
  }
}

export function isThreadPc(pc: number): boolean {
  return pc >= THREAD_BASE && pc < THREAD_BASE * 2;
}
