/**
 * The `op protocol` rows of the core benchmark compare host time for one op sequence written
 * four ways; they compare like with like only if every way runs the same ops. Same simulated
 * cycles, same op costs: the same number of ops in the same run. (Host time is not asserted.)
 */
import test from 'ava';
import { benchProtocol } from '../../bench/core-bench.js';

test('op protocol rows: a top-level generator, yield* and call sub-programs and a hand-written iterator run the same number of ops in the same cycles', (t) => {
  const rows = benchProtocol(3000);
  t.deepEqual(
    rows.map((r) => r.name),
    [
      'op protocol: generator, top level',
      'op protocol: sub-program 3 levels down, yield*',
      'op protocol: sub-program 3 levels down, call',
      'op protocol: hand-written iterator',
    ],
  );
  const counts = new Set(rows.map((r) => r.count));
  t.is(counts.size, 1, `op counts: ${rows.map((r) => `${r.name} ${r.count}`).join(', ')}`);
  t.true(rows[0]!.count > 1000, `ops run: ${rows[0]!.count}`);
});
