/**
 * Software that builds stage-2 translation tables: a program (it runs on a PE at EL2 and
 * every descriptor read and write is a charged LDR/STR) that maps IPA ranges using 2 MB
 * blocks where alignment allows and 4 KB pages elsewhere. It uses the same descriptor codec
 * as the walker in stage2.ts. Hypervisors and tests share it.
 */
import { S2_DESC, s2Leaf, s2Table, VTCR } from './stage2.js';
import { ldr, str, type Program } from './ops.js';

/** VTCR_EL2 this builder's tables expect: 39-bit IPA (T0SZ 25), start at level 1, 4 KB granule, 40-bit PA. */
export const S2_VTCR = VTCR.encode({ T0SZ: 25, SL0: 1, IRGN0: 1, ORGN0: 1, SH0: 3, TG0: 0, PS: 2 });
export const S2_START_LEVEL = 1;
export const S2_IPA_LIMIT = 2 ** 39;

/** Hands out zeroed, 4 KB-aligned pages of table memory (bookkeeping on the software side). */
export type PageAllocator = () => number;

const BLOCK_2M = 2 * 1024 * 1024;

/**
 * Maps [ipa, ipa + size) to [pa, pa + size) with `perms` (S2_READ | S2_WRITE | S2_EXEC).
 * `root` is the level-1 table (the VTTBR_EL2 base). Existing mappings are overwritten; the
 * caller issues the TLBI a change needs.
 */
export function* s2Map(root: number, ipa: number, pa: number, size: number, perms: number, alloc: PageAllocator, device = false): Program {
  if (ipa % 4096 !== 0 || pa % 4096 !== 0 || size % 4096 !== 0) throw new Error('s2Map: addresses and size must be 4 KB aligned');
  if (ipa + size > S2_IPA_LIMIT) throw new Error(`s2Map: IPA range ends beyond 2^39`);
  let off = 0;
  while (off < size) {
    const i = ipa + off;
    const p = pa + off;
    const block = i % BLOCK_2M === 0 && p % BLOCK_2M === 0 && size - off >= BLOCK_2M;
    const leafLevel = block ? 2 : 3;
    let table = root;
    for (let level = S2_START_LEVEL; level < leafLevel; level++) {
      const shift = 12 + 9 * (3 - level);
      const slot = table + (Math.floor(i / 2 ** shift) % 512) * 8;
      const d: bigint = yield ldr(slot, 8, 9);
      if (S2_DESC.get(d, 'Valid') === 1 && S2_DESC.get(d, 'Type') === 1) {
        table = S2_DESC.get(d, 'OA') * 4096;
      } else {
        const next = alloc();
        yield str(slot, s2Table(next), 8, 9);
        table = next;
      }
    }
    const shift = 12 + 9 * (3 - leafLevel);
    yield str(table + (Math.floor(i / 2 ** shift) % 512) * 8, s2Leaf(p, perms, leafLevel, device), 8, 9);
    off += block ? BLOCK_2M : 4096;
  }
}
