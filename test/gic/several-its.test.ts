/**
 * A machine with several ITSs (gic.itsCount): each has its GITS frames at its own base, its own
 * number (GICv4.1: GITS_CTLR.ITS_Number), GITS_TYPER.VMOVP as configured, and translates only
 * the MSIs written to its own GITS_TRANSLATER; VMOVP with ITSList is recorded per SequenceNumber
 * (gic/its/vmovp-sync.ts).
 */
import test from 'ava';
import { toNum } from '../../core/bits.js';
import { createBoard } from '../../gic/board.js';
import { gicConfig, itsBaseOf } from '../../gic/config.js';
import { GITS, GITS_CTLR, GITS_TYPER } from '../../gic/its/its-registers.js';
import { VmovpSync } from '../../gic/its/vmovp-sync.js';

const PE = { requester: 'pe', id: 0 } as const;

test('itsCount = 3: GITS frames 128 KB apart (256 KB on GICv4.1, past each vSGI frame), each answering GITS_TYPER; ITS_Number reads n on GICv4.1 and 0 on GICv4.0; GITS_TYPER.VMOVP follows its.vmovp', (t) => {
  for (const v41 of [true, false]) {
    for (const vmovp of [true, false]) {
      const b = createBoard({ gic: { itsCount: 3, v41, its: { vmovp } } });
      t.is(b.gic.itsList.length, 3);
      t.deepEqual(b.translaters, [0, 1, 2].map((n) => b.config.itsBase + n * (v41 ? 0x40000 : 0x20000) + GITS.TRANSLATER));
      // On GICv4.1 each ITS's vSGI frame (+ 0x20000) is its own, not the next ITS's control frame.
      if (v41) t.is(toNum(b.m.bus.read(itsBaseOf(b.config, 1) - 0x20000 + GITS.TYPER, 8, PE)), 0);
      for (let n = 0; n < 3; n++) {
        const base = itsBaseOf(b.config, n);
        const typer = GITS_TYPER.decode(toNum(b.m.bus.read(base + GITS.TYPER, 8, PE)));
        t.is(typer.Virtual, 1);
        t.is(typer.VMOVP, vmovp ? 1 : 0);
        t.is(GITS_CTLR.get(toNum(b.m.bus.read(base + GITS.CTLR, 4, PE)), 'ITS_Number'), v41 ? n : 0);
      }
    }
  }
  // Nothing answers past the last ITS's frames.
  const b = createBoard({ gic: { itsCount: 2 } });
  t.is(toNum(b.m.bus.read(itsBaseOf(b.config, 2) + GITS.TYPER, 8, PE)), 0);
});

test('a device writes to its own ITS: only that ITS accepts the MSI', (t) => {
  const b = createBoard({ gic: { itsCount: 3 } });
  for (const its of b.gic.itsList) b.m.bus.write(its.base + GITS.CTLR, 4, 1, PE);
  b.m.bus.write(b.translaters[1]!, 4, 7, { requester: 'device', id: 5 });
  t.deepEqual(b.gic.itsList.map((i) => i.translator.accepted), [0, 1, 0]);
});

test('gic.itsCount and gic.its.vmovp are validated, naming the field', (t) => {
  t.is(gicConfig({}).itsCount, 1);
  t.true(gicConfig({}).its.vmovp);
  for (const bad of [0, 5, 1.5]) t.throws(() => gicConfig({ itsCount: bad }), { message: /^gic\.itsCount: / });
  t.throws(() => gicConfig({ its: { vmovp: 1 as unknown as boolean } }), { message: /^gic\.its\.vmovp: / });
  // ITS frames running into the distributor.
  t.throws(() => gicConfig({ itsBase: 0x07ff_0000, itsCount: 1 }), { message: /^gic\.itsCount: / });
});

test('VMOVP with ITSList: a SequenceNumber is complete once every ITS of its list had it; a list not naming its ITS, or disagreeing, is counted', (t) => {
  const s = new VmovpSync();
  s.record(0, 5, 0b111, 3, 1);
  s.record(2, 5, 0b111, 3, 1);
  t.is(s.incomplete, 1);
  s.record(1, 5, 0b111, 3, 1);
  t.is(s.incomplete, 0);
  t.is(s.listErrors, 0);
  // Sent to ITS 0 only, twice with the same number: the first never completed.
  s.record(0, 6, 0b011, 3, 0);
  s.record(0, 6, 0b011, 3, 1);
  t.is(s.abandoned, 1);
  t.is(s.incomplete, 1);
  // ITSList without the ITS that executes it; the same number with another list.
  s.record(2, 7, 0b011, 4, 0);
  s.record(0, 7, 0b111, 4, 0);
  t.is(s.listErrors, 2);
  t.is(s.received, 7);
});
