/**
 * The profile summary of `npm run bench -- --profile` weighs every sample the same: the sampler
 * stalls after a garbage collection, and weighting a sample by the time to the next one charged
 * that stall to the garbage collector (bench/profile.ts).
 */
import test from 'ava';
import { summarise, type CpuProfile } from '../../bench/profile.js';

const frame = (functionName: string) => ({ functionName, url: 'file:///x/core/pe.ts', lineNumber: 0, columnNumber: 0 });

test('profile summary: a sample followed by a sampler stall counts as one sample, not as the stall', (t) => {
  // Three samples: exec, (garbage collector), exec; 100 us apart except 9.8 ms after the collection.
  const p: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('exec'), hitCount: 2 },
      { id: 3, callFrame: frame('(garbage collector)'), hitCount: 1 },
    ],
    startTime: 0,
    endTime: 10_000,
    samples: [2, 3, 2],
    timeDeltas: [100, 100, 9_800],
  };
  const s = summarise(p);
  t.is(s.samples, 3);
  const share = (name: string): number => s.functions.find((f) => f.name === name)?.share ?? 0;
  const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;
  t.true(near(share('exec'), 2 / 3), `exec ${share('exec')}`);
  t.true(near(share('(garbage collector)'), 1 / 3), `GC ${share('(garbage collector)')}`);
  t.true(near(s.totalMs, 10), `total ${s.totalMs} ms`);
});
