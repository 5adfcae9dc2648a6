/**
 * The resident vPE's vLPI set (gic/vlpi-resident.ts) against a plain model: after any sequence
 * of arrivals, configuration fetches, clears, table writes and invalidations, `best()` is the
 * lowest `priority * 2^24 + vINTID` over the vLPIs that are pending, whose byte is cached and
 * enabled (priority from the cached byte, unimplemented bits as zero) — whatever the heap's lazy
 * deletion and the kept answer do inside. Also the VPT parse and the PendingLast scan.
 */
import test from 'ava';
import fc from 'fast-check';
import { Machine } from '../../core/machine.js';
import { LpiSet } from '../../gic/lpi-candidates.js';
import { ResidentVlpis } from '../../gic/vlpi-resident.js';

const PROP = 0x4900_0000;
const VPT = 0x4a00_0000;
const PRIO_MASK = 0xf8; // 5 priority bits

type Op =
  | { op: 'pend' | 'fill' | 'clear' | 'inv'; v: number }
  | { op: 'cfg'; v: number; byte: number }
  | { op: 'invall' };

const VINTIDS = [8192, 8193, 8200, 9000, 40000, 65535];
const vintid = fc.constantFrom(...VINTIDS);
// Weighted towards states with several candidates: bytes mostly enabled, fetches completing.
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('pend' as const), v: vintid }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('fill' as const), v: vintid }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('clear' as const), v: vintid }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('cfg' as const), v: vintid, byte: fc.integer({ min: 0, max: 255 }).map((b) => (b % 5 === 0 ? b & ~1 : b | 1)) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('inv' as const), v: vintid }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('invall' as const) }) },
);

test('best() matches a brute-force model over random operation sequences (fast-check)', (t) => {
  let states = 0;
  let withCandidate = 0;
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(arbOp, { minLength: 20, maxLength: 150 }), (ops) => {
        const m = new Machine({});
        const r = new ResidentVlpis(m.bus, { requester: 'gic', id: 0 }, PRIO_MASK);
        r.reset(PROP, 2 ** 16);
        const mem = new Map<number, number>();
        const model = new Map<number, { pending: boolean; filling: boolean; cached: number | undefined }>();
        const get = (v: number) => {
          let e = model.get(v);
          if (e === undefined) model.set(v, (e = { pending: false, filling: false, cached: undefined }));
          return e;
        };
        const want = (): number => {
          let b = -1;
          for (const [v, e] of model) {
            if (!e.pending || e.cached === undefined || (e.cached & 1) === 0) continue;
            const k = (e.cached & 0xfc & PRIO_MASK) * 2 ** 24 + v;
            if (b < 0 || k < b) b = k;
          }
          return b;
        };
        let candidates = 0;
        for (const o of ops) {
          if (o.op === 'cfg') {
            mem.set(o.v, o.byte);
            m.bus.memory.write8(PROP + o.v - 8192, o.byte);
          } else if (o.op === 'pend') {
            const e = get(o.v);
            const res = r.markPending(o.v);
            if (e.pending) {
              if (res !== LpiSet.Already) return false;
            } else {
              e.pending = true;
              if (e.cached === undefined) e.filling = true;
            }
          } else if (o.op === 'fill') {
            const e = get(o.v);
            r.completeFill(o.v);
            if (e.filling) {
              e.filling = false;
              e.cached = mem.get(o.v) ?? 0;
            }
          } else if (o.op === 'clear') {
            r.markClear(o.v);
            get(o.v).pending = false;
          } else {
            const targets = o.op === 'inv' ? [o.v] : [...model.keys()];
            if (o.op === 'inv') r.invalidate(o.v);
            else r.invalidateAll();
            for (const v of targets) {
              const e = get(v);
              if (e.cached === undefined) continue;
              e.cached = e.pending ? (mem.get(v) ?? 0) : undefined;
            }
          }
          // Asked once or twice: the answer must not depend on how often it is asked.
          if (r.best() !== want() || r.best() !== want()) return false;
          if (want() >= 0) candidates++;
        }
        states += ops.length;
        withCandidate += candidates;
        return r.pending === [...model.values()].filter((e) => e.pending).length;
      }),
      { numRuns: 400, seed: 23 },
    ),
  );
  // The sequences reach states with a best vLPI often enough to mean something.
  t.true(withCandidate > states / 8, `${withCandidate} of ${states}`);
});

test('parse reads the VPT from vINTID 8192 to the table limit (the first 1 KB is never used) and caches each byte; anyPendingEnabled looks for an enabled one', (t) => {
  const m = new Machine({});
  const r = new ResidentVlpis(m.bus, { requester: 'gic', id: 0 }, PRIO_MASK);
  const mem = m.bus.memory;
  mem.write8(VPT + 3, 0xff); // IMPLEMENTATION DEFINED area: ignored
  for (const v of [8192, 8195, 16383, 20000]) mem.write8(VPT + (v >>> 3), mem.read8(VPT + (v >>> 3)) | (1 << (v & 7)));
  mem.write8(PROP + 8195 - 8192, 0x81); // enabled, priority 0x80
  mem.write8(PROP + 16383 - 8192, 0x61); // enabled, priority 0x60
  r.reset(PROP, 2 ** 14); // 14 bits: 20000 is beyond the table
  t.is(r.parse(VPT), 3);
  t.is(r.pending, 3);
  t.is(r.best(), 0x60 * 2 ** 24 + 16383);
  t.is(r.cachedConfig(8192), 0);
  t.is(r.cachedConfig(8195), 0x81);
  t.true(r.anyPendingEnabled(VPT));
  mem.write8(PROP + 8195 - 8192, 0x80);
  mem.write8(PROP + 16383 - 8192, 0x60);
  t.false(r.anyPendingEnabled(VPT)); // read from memory, not from the cache
  r.reset(PROP, 2 ** 15);
  mem.write8(PROP + 20000 - 8192, 0x01);
  t.true(r.anyPendingEnabled(VPT));
  r.clear();
  t.is(r.best(), -1);
  t.is(r.pending, 0);
  r.reset(PROP, 8192); // fewer than 14 bits: nothing usable, nothing read
  t.is(r.parse(VPT), 0);
  t.false(r.anyPendingEnabled(VPT));
});
