/**
 * Cycle counts pass 2^31 after about 1.07 simulated seconds at 2 GHz. V8 keeps an integer
 * field that has only held small integers (31-bit "Smis") untagged; the first larger value
 * changes the field's representation for every object of that shape, which deoptimises all
 * the code that touched them, at once, in the middle of a run (a window crossing 2^31 cycles
 * cost 5-7x a normal one). Storing a non-integer once, when the object is built, gives the
 * field its final (double) representation before any code is compiled against it; the value is
 * then reset, so nothing observable changes.
 */
export function doubleField<T extends object>(o: T, key: keyof T & string): void {
  const r = o as Record<string, unknown>;
  const v = r[key];
  r[key] = 0.5;
  r[key] = v;
}
