/**
 * The core's plain system registers (no side effects: what MSR writes, MRS reads back) as slots
 * of a per-PE array, so that an access is an array index resolved when the handler is defined
 * instead of a string-keyed Map look-up per access. A slot holds `undefined` until the first
 * write: the reading handler then gives the register's reset value (pe-sysregs.ts).
 */
import type { Word } from './bits.js';

/** Every plain register, by name; its index is its slot. */
export const PLAIN_NAMES: readonly string[] = [
  'SCTLR_EL1', 'CPACR_EL1', 'TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1', 'AFSR0_EL1', 'AFSR1_EL1', 'PAR_EL1',
  'MAIR_EL1', 'AMAIR_EL1', 'CONTEXTIDR_EL1', 'TPIDR_EL1', 'SP_EL0', 'TPIDR_EL0', 'TPIDRRO_EL0',
  'SCTLR_EL2', 'CPTR_EL2', 'HSTR_EL2', 'TTBR0_EL2', 'TCR_EL2', 'MAIR_EL2', 'TPIDR_EL2', 'SP_EL1',
];

const SLOTS = new Map<string, number>(PLAIN_NAMES.map((n, i) => [n, i]));

/** The slot of the plain register `name`; throws for a register that is not plain. */
export function plainSlot(name: string): number {
  const s = SLOTS.get(name);
  if (s === undefined) throw new Error(`${name} is not a plain system register (core/plain-sysregs.ts)`);
  return s;
}

export const SLOT_SCTLR_EL1 = plainSlot('SCTLR_EL1');

/** A new PE's slots: every register not yet written. */
export function newPlainSlots(): (Word | undefined)[] {
  return new Array<Word | undefined>(PLAIN_NAMES.length).fill(undefined);
}

/** The plain registers of one PE by name (set-up and tests; the handlers index the slots). */
export class PlainRegs {
  constructor(private readonly slots: (Word | undefined)[]) {}

  /** The value last written, or undefined before the first write. */
  get(name: string): Word | undefined {
    return this.slots[plainSlot(name)];
  }

  set(name: string, v: Word): this {
    this.slots[plainSlot(name)] = v;
    return this;
  }
}
