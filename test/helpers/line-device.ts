/** A test device that drives one PE interrupt input: writing 1 to offset 0 raises it, 0 lowers it. */
import type { Machine } from '../../core/machine.js';
import { LINE_IRQ } from '../../core/pe.js';

export const LINE_DEV = 0x0900_0000;

export function addLineDevice(m: Machine, pe = 0, line = LINE_IRQ): void {
  m.bus.addMmio('line-dev', LINE_DEV, 0x1000, {
    read: () => ((m.pes[pe]!.lines & line) !== 0 ? 1 : 0),
    write: (_off, _size, v) => m.pes[pe]!.setLine(line, Number(v) !== 0),
  });
}
