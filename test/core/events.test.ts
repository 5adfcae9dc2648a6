import test from 'ava';
import fc from 'fast-check';
import { EventQueue, SimEvent } from '../../core/events.js';
import { Random } from '../../core/random.js';
import { idSource } from '../../core/ids.js';

test('events fire in (time, priority, arming order), whatever the arming order', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(fc.array(fc.record({ time: fc.nat({ max: 20 }), prio: fc.nat({ max: 3 }) }), { maxLength: 60 }), (specs) => {
      const q = new EventQueue();
      const fired: number[] = [];
      specs.forEach((s, i) => q.schedule(new SimEvent(`e${i}`, s.prio, () => fired.push(i)), s.time));
      while (q.fireNext());
      const expected = specs.map((s, i) => ({ ...s, i })).sort((a, b) => a.time - b.time || a.prio - b.prio || a.i - b.i).map((x) => x.i);
      return JSON.stringify(fired) === JSON.stringify(expected);
    }),
  ));
});

test('re-arming moves an event, cancelling removes it', (t) => {
  const q = new EventQueue();
  const log: string[] = [];
  const a = new SimEvent('a', 0, () => log.push('a'));
  const b = new SimEvent('b', 0, () => log.push('b'));
  q.schedule(a, 10);
  q.schedule(b, 20);
  q.schedule(a, 30);
  q.cancel(b);
  t.is(q.nextTime(), 30);
  while (q.fireNext());
  t.deepEqual(log, ['a']);
  t.false(a.queued);
});

test('the seeded random source replays from a saved state; ids come from it', (t) => {
  const r = new Random(42);
  r.u32();
  const s = r.save();
  const a = [r.u32(), r.u32(), r.float()];
  r.restore(s);
  t.deepEqual([r.u32(), r.u32(), r.float()], a);
  const ids1 = idSource(new Random(7));
  const ids2 = idSource(new Random(7));
  const ids3 = idSource(new Random(8));
  const x = [ids1(), ids1()];
  t.deepEqual([ids2(), ids2()], x);
  t.notDeepEqual([ids3(), ids3()], x);
  t.is(x[0]!.length, 10);
});
