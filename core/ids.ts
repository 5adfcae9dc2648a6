/**
 * Ids of runs, VMs and trace flows. nanoid's `customRandom` draws its bytes from the machine's
 * seeded `Random`, never from the host's crypto source, so ids are reproducible.
 */
import { customRandom, urlAlphabet } from 'nanoid';
import type { Random } from './random.js';

export type IdSource = () => string;

/** Returns a generator of `size`-character ids drawn from `rng`. */
export function idSource(rng: Random, size = 10): IdSource {
  return customRandom(urlAlphabet, size, (bytes) => {
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) out[i] = rng.u32() & 0xff;
    return out;
  });
}
