/** The statistics the benchmarks take over their repetitions: the fastest one, and the median. */

/** The sample of least `cost` (the first of equal ones): a benchmark's best repetition. */
export function fastest<T>(samples: readonly T[], cost: (s: T) => number): T {
  if (samples.length === 0) throw new RangeError('fastest: no samples');
  let best: T = samples[0]!;
  let least = cost(best);
  for (const s of samples) {
    const c = cost(s);
    if (c < least) {
      best = s;
      least = c;
    }
  }
  return best;
}

/** The median of `xs`: the middle value, the upper of the two middle ones for an even count. */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}
