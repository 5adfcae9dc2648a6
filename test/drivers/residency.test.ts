/**
 * makeResident's register values (drivers/residency.ts), encoded once per vPE tables and kept:
 * whatever the sequence of IDAI values a hypervisor passes for the same tables (it writes back
 * the IDAI it last read at each residency change), each GICR_VPROPBASER/GICR_VPENDBASER write
 * carries the tables' fields and that call's IDAI.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Op } from '../../core/ops.js';
import { makeResident, type VpeTables } from '../../drivers/residency.js';
import { GICR_VLPI } from '../../gic/mmio-offsets.js';
import { GICR_VPENDBASER, GICR_VPROPBASER } from '../../gic/vlpi-registers.js';

/** The stores `makeResident` (no wait) issues at `frame`: [offset, value] in order. */
function stores(frame: number, t: VpeTables, idai: number): [number, bigint][] {
  const out: [number, bigint][] = [];
  const p = makeResident(frame, t, false, idai);
  for (let r = p.next(); r.done !== true; r = p.next()) {
    const op = r.value as Op;
    out.push([op.addr! - frame, BigInt(op.value!)]);
  }
  return out;
}

test('makeResident writes each call the tables of its vPE and the IDAI it is given, in any order of calls', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ vpe: fc.integer({ min: 0, max: 2 }), idai: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 12 }),
      (calls) => {
        // Three vPEs' tables (64 KB-aligned VPTs, 4 KB-aligned configuration tables), the same objects at every call.
        const tables: VpeTables[] = [0, 1, 2].map((i) => ({ vprop: 0x4000_0000 + i * 0x1000, idBits: 14 + i, vpt: 0x5000_0000 + i * 0x10000 }));
        const frame = 0x0810_0000;
        for (const c of calls) {
          const tb = tables[c.vpe]!;
          const w = stores(frame, tb, c.idai);
          t.deepEqual(w.map(([off]) => off), [GICR_VLPI.VPROPBASER, GICR_VLPI.VPENDBASER]);
          const [prop, pend] = [w[0]![1], w[1]![1]];
          t.is(GICR_VPROPBASER.get(prop, 'PA') * 0x1000, tb.vprop);
          t.is(GICR_VPROPBASER.get(prop, 'IDbits'), tb.idBits - 1);
          t.is(GICR_VPENDBASER.get(pend, 'PA') * 0x10000, tb.vpt);
          t.is(GICR_VPENDBASER.get(pend, 'Valid'), 1);
          t.is(GICR_VPENDBASER.get(pend, 'PendingLast'), 1);
          t.is(GICR_VPENDBASER.get(pend, 'IDAI'), c.idai);
        }
      },
    ),
  );
});
