/**
 * The emulated ITS's ITE store (hypervisor/vits/ite-store.ts) against the representation it
 * replaced, JS Maps and a Set of records: any sequence of MAPTI-like adds, DISCARD-like removes,
 * forwarding, unforwarding and retargeting gives the same lookups, the same per-device order, the
 * same forwarded order (first forwarded per LPI included), and an iteration over the forwarded
 * events interrupted by changes goes on exactly as a Set iterator does.
 */
import test from 'ava';
import fc from 'fast-check';
import { IteStore, type IteList } from '../../hypervisor/vits/ite-store.js';

const VCPUS = 3;

interface Rec {
  readonly dev: number;
  readonly ev: number;
  readonly intid: number;
  icid: number;
  /** -1 none, else vCPU. */
  target: number;
  fwd: boolean;
  slot: number;
}

type Op =
  | { k: 'add'; dev: number; ev: number; intid: number; icid: number }
  | { k: 'remove'; pick: number }
  | { k: 'forward'; pick: number; v: number }
  | { k: 'soft'; pick: number; v: number }
  | { k: 'unforward'; pick: number }
  | { k: 'retarget'; pick: number; v: number }
  | { k: 'icid'; pick: number; icid: number }
  | { k: 'iterStep' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('add' as const), dev: fc.integer({ min: 0, max: 3 }), ev: fc.integer({ min: 0, max: 40 }), intid: fc.integer({ min: 8192, max: 8196 }), icid: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('forward' as const), pick: fc.nat(), v: fc.integer({ min: 0, max: VCPUS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('soft' as const), pick: fc.nat(), v: fc.integer({ min: 0, max: VCPUS - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unforward' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('retarget' as const), pick: fc.nat(), v: fc.integer({ min: 0, max: VCPUS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('icid' as const), pick: fc.nat(), icid: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.constant({ k: 'iterStep' as const }) },
);

test('property: the ITE store answers as Maps and a Set of ITE records, and its forwarded iteration goes on as a Set iterator when changed under it', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
      const store = new IteStore(VCPUS);
      const lists = new Map<number, IteList>();
      const listOf = (dev: number): IteList => {
        let l = lists.get(dev);
        if (l === undefined) lists.set(dev, (l = { head: -1, size: 0 }));
        return l;
      };
      // The reference: the old representation.
      const devices = new Map<number, Map<number, Rec>>();
      const forwarded = new Set<Rec>();
      const all = (): Rec[] => [...devices.values()].flatMap((m) => [...m.values()]);
      // One iteration of each, advanced by 'iterStep' and changed under by the other ops.
      let refIter: Iterator<Rec> | null = null;
      let cur = -1;
      let curSeq = -1;
      let started = false;
      for (const op of ops) {
        const live = all();
        const pick = (n: number): Rec | undefined => (live.length === 0 ? undefined : live[n % live.length]);
        switch (op.k) {
          case 'add': {
            const m = devices.get(op.dev) ?? new Map<number, Rec>();
            devices.set(op.dev, m);
            if (m.has(op.ev)) break;
            const slot = store.add(listOf(op.dev), op.dev, op.ev, op.intid, op.icid);
            m.set(op.ev, { dev: op.dev, ev: op.ev, intid: op.intid, icid: op.icid, target: -1, fwd: false, slot });
            break;
          }
          case 'remove': {
            const r = pick(op.pick);
            if (r === undefined) break;
            devices.get(r.dev)!.delete(r.ev);
            store.remove(listOf(r.dev), r.slot);
            if (r.fwd) {
              forwarded.delete(r);
              store.unforward(r.slot);
            } else store.clearSoft(r.slot);
            store.free(r.slot);
            break;
          }
          case 'forward': {
            const r = pick(op.pick);
            if (r === undefined || r.target >= 0) break;
            r.fwd = true;
            r.target = op.v;
            forwarded.add(r);
            store.forward(r.slot, op.v);
            break;
          }
          case 'soft': {
            const r = pick(op.pick);
            if (r === undefined || r.fwd) break;
            r.target = op.v;
            store.setSoft(r.slot, op.v);
            break;
          }
          case 'unforward': {
            const r = pick(op.pick);
            if (r === undefined || !r.fwd) break;
            r.fwd = false;
            r.target = -1;
            forwarded.delete(r);
            store.unforward(r.slot);
            break;
          }
          case 'retarget': {
            const r = pick(op.pick);
            if (r === undefined || !r.fwd) break;
            r.target = op.v;
            store.retarget(r.slot, op.v);
            break;
          }
          case 'icid': {
            const r = pick(op.pick);
            if (r === undefined) break;
            r.icid = op.icid;
            store.setIcid(r.slot, op.icid);
            break;
          }
          case 'iterStep': {
            if (!started) {
              started = true;
              refIter = forwarded[Symbol.iterator]();
              cur = store.firstForwarded();
            } else if (cur >= 0) cur = store.nextForwarded(cur, curSeq);
            const want = refIter!.next();
            if (want.done) t.is(cur, -1, 'both iterations end together');
            else t.is(cur, want.value.slot, 'the iteration visits the event a Set iterator visits');
            if (cur >= 0) curSeq = store.seq(cur);
            else started = false;
            break;
          }
        }
        // Lookups, records and per-device order.
        t.is(store.count, all().length);
        for (const [dev, m] of devices) {
          t.deepEqual(store.slotsOf(listOf(dev)), [...m.values()].map((r) => r.slot));
          for (let ev = 0; ev <= 40; ev++) t.is(store.find(dev, ev), m.get(ev)?.slot ?? -1);
        }
        for (const r of all()) {
          t.is(store.deviceId(r.slot), r.dev);
          t.is(store.eventId(r.slot), r.ev);
          t.is(store.intid(r.slot), r.intid);
          t.is(store.icid(r.slot), r.icid);
          t.is(store.target(r.slot), r.target);
          t.is(store.isForwarded(r.slot), r.fwd);
        }
        // Forwarded order, per LPI and per vCPU.
        t.is(store.forwardedCount, forwarded.size);
        const order = [...forwarded];
        for (let i = 1; i < order.length; i++) t.true(store.seq(order[i - 1]!.slot) < store.seq(order[i]!.slot));
        for (let intid = 8192; intid <= 8196; intid++) t.is(store.firstForwardedOf(intid), order.find((r) => r.intid === intid)?.slot ?? -1);
        const firsts = new Map<number, number>();
        for (const r of order) if (!firsts.has(r.intid)) firsts.set(r.intid, r.slot);
        t.deepEqual(store.firstForwardedByLpi(), [...firsts]);
        for (let v = 0; v < VCPUS; v++) t.is(store.hasForwardedTo(v), order.some((r) => r.target === v));
      }
    }),
    { numRuns: 150 },
  );
});

test('an iteration over the forwarded events suspended at one that is then unforwarded, with the next one, goes on at the first still forwarded after it', (t) => {
  const store = new IteStore(1);
  const list: IteList = { head: -1, size: 0 };
  const [a, b, c] = [0, 1, 2].map((ev) => store.add(list, 5, ev, 8192 + ev, 0)) as [number, number, number];
  for (const s of [a, b, c]) store.forward(s, 0);
  const at = store.firstForwarded();
  t.is(at, a);
  const seq = store.seq(at);
  store.unforward(a);
  store.unforward(b);
  // Forwarded again: now after c, as a Set re-adds at the end.
  store.forward(a, 0);
  t.is(store.nextForwarded(at, seq), c);
  t.is(store.nextForwarded(c, store.seq(c)), a);
  t.is(store.nextForwarded(a, store.seq(a)), -1);
});
