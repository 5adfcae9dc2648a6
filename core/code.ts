/**
 * The code map: which program starts at which physical address. Loading an image means
 * installing its entry points here, at the PA where the image sits; instruction fetch
 * (after stage 2 for EL1&0) looks the PA up. An address with no code decodes as an
 * UNDEFINED instruction, as garbage in memory would.
 */
import type { EntryFn } from './ops.js';

export interface CodeEntry {
  readonly fn: EntryFn;
  readonly label: string;
}

/** The 16 architected vector entries (Arm ARM DDI 0487, VBAR_ELx and "Exception vectors"), any of which may be left out. */
export interface VectorTable {
  /** Current EL with SP_EL0. */
  curSp0?: Partial<VectorGroup>;
  /** Current EL with SP_ELx. */
  curSpx?: Partial<VectorGroup>;
  /** Lower EL, AArch64. */
  lower64?: Partial<VectorGroup>;
}

export interface VectorGroup {
  sync: EntryFn;
  irq: EntryFn;
  fiq: EntryFn;
  serror: EntryFn;
}

export const VECTOR_GROUP_OFFSET = { curSp0: 0x000, curSpx: 0x200, lower64: 0x400, lower32: 0x600 } as const;
export const VECTOR_TYPE_OFFSET = { sync: 0x000, irq: 0x080, fiq: 0x100, serror: 0x180 } as const;

export class CodeMap {
  private readonly entries = new Map<number, CodeEntry>();

  install(pa: number, fn: EntryFn, label = `code@0x${pa.toString(16)}`): void {
    this.entries.set(pa, { fn, label });
  }

  at(pa: number): CodeEntry | undefined {
    return this.entries.get(pa);
  }

  /** Installs a vector table at `pa` (2 KB aligned, as VBAR_ELx requires). */
  installVectors(pa: number, table: VectorTable, label = 'vectors'): void {
    if (pa % 2048 !== 0) throw new Error(`vector table at 0x${pa.toString(16)} is not 2 KB aligned`);
    for (const g of ['curSp0', 'curSpx', 'lower64'] as const) {
      const group = table[g];
      if (group === undefined) continue;
      for (const t of ['sync', 'irq', 'fiq', 'serror'] as const) {
        const fn = group[t];
        if (fn !== undefined) this.install(pa + VECTOR_GROUP_OFFSET[g] + VECTOR_TYPE_OFFSET[t], fn, `${label}.${g}.${t}`);
      }
    }
  }
}
