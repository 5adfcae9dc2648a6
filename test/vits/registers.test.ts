/**
 * The emulated ITS's registers as a guest reads and writes them through stage-2 data aborts
 * (IHI 0069, the GITS_* register descriptions): the ID registers, the tables the library's ITS
 * driver set up by probing GITS_BASER<n> (Page_Size and Indirect read back), the rules that keep
 * GITS_BASER and GITS_CBASER fixed while the ITS is enabled, the refusal to enable it without
 * valid tables, GITS_CWRITER offsets beyond the queue, and GITS_TRANSLATER writes (ignored).
 */
import test from 'ava';
import { toBig, toNum } from '../../core/bits.js';
import { checkRegions } from '../../core/regions.js';
import { ldr, str, type Program } from '../../core/ops.js';
import { BaserType, GITS, GITS_BASER, GITS_CBASER, GITS_CTLR, GITS_CWRITER, GITS_IIDR, GITS_PIDR2, GITS_SIZE, GITS_TYPER } from '../../gic/its/its-registers.js';
import type { KernelCpu } from '../../guests/kernel.js';
import { GUEST_GITS } from '../../hypervisor/layout.js';
import { rig, settle, step, TWO_DEVICES, type ScriptKernel } from './rig.js';

const at = (off: number): number => GUEST_GITS + off;

test('the guest sees a GICv3 ITS: ID registers, tables as its driver set them up, and the enable, base and queue rules', (t) => {
  const steps = [
    function* (k: ScriptKernel, _cpu: KernelCpu): Program {
      const n = k.notes;
      n['typer'] = toNum((yield ldr(at(GITS.TYPER), 8, 2)) as bigint);
      n['typer lo'] = yield ldr(at(GITS.TYPER), 4, 2);
      n['iidr'] = yield ldr(at(GITS.IIDR), 4, 2);
      n['pidr2'] = yield ldr(at(GITS.PIDR2), 4, 2);
      n['ctlr'] = yield ldr(at(GITS.CTLR), 4, 2);
      const baser: bigint[] = [];
      for (let i = 0; i < 8; i++) baser.push(toBig((yield ldr(at(GITS.BASER + 8 * i), 8, 2)) as bigint));
      n['baser'] = baser;
      // Enabled: GITS_BASER0 and GITS_CBASER are read-only.
      yield str(at(GITS.BASER), 0n, 8, 2);
      n['baser0 after write'] = toBig((yield ldr(at(GITS.BASER), 8, 2)) as bigint);
      const cbaser = toBig((yield ldr(at(GITS.CBASER), 8, 2)) as bigint);
      yield str(at(GITS.CBASER), 0n, 8, 2);
      n['cbaser kept'] = toBig((yield ldr(at(GITS.CBASER), 8, 2)) as bigint) === cbaser;
      // A CWRITER beyond the 64 KB queue is ignored.
      const cw = toNum((yield ldr(at(GITS.CWRITER), 8, 2)) as bigint);
      yield str(at(GITS.CWRITER), GITS_CWRITER.encode({ Offset: 0x10000 / 32 }), 8, 2);
      n['cwriter kept'] = toNum((yield ldr(at(GITS.CWRITER), 8, 2)) as bigint) === cw;
      // GITS_TRANSLATER from a CPU: ignored.
      yield str(at(GITS.TRANSLATER), 0, 4, 2);
      // Disabled, then refused while a table is invalid; enabled again once it is valid.
      yield str(at(GITS.CTLR), 0, 4, 2);
      n['ctlr disabled'] = yield ldr(at(GITS.CTLR), 4, 2);
      const b0 = baser[0]!;
      yield str(at(GITS.BASER), GITS_BASER.set(b0, 'Valid', 0), 8, 2);
      yield str(at(GITS.CTLR), GITS_CTLR.encode({ Enabled: 1 }), 4, 2);
      n['ctlr refused'] = yield ldr(at(GITS.CTLR), 4, 2);
      // Page_Size 16 KB and Indirect read back as written while disabled; Type and Entry_Size do not change.
      yield str(at(GITS.BASER), GITS_BASER.encode({ Page_Size: 1, Indirect: 1, Type: 7, Entry_Size: 31, Size: 2, PA: 0x4080_0000 / 0x1000 }), 8, 2);
      n['baser0 16K'] = toBig((yield ldr(at(GITS.BASER), 8, 2)) as bigint);
      yield str(at(GITS.BASER), b0, 8, 2);
      yield str(at(GITS.CTLR), GITS_CTLR.encode({ Enabled: 1 }), 4, 2);
      n['ctlr enabled'] = yield ldr(at(GITS.CTLR), 4, 2);
    },
  ];
  const r = rig('injected', { devices: TWO_DEVICES, steps });
  step(r, 1);
  settle(r, 50);
  const n = r.kernel.notes;
  const typer = GITS_TYPER.decode(n['typer'] as number);
  t.like(typer, { Physical: 1, Virtual: 0, ITT_entry_size: 7, ID_bits: 15, Devbits: 15, PTA: 0, CIL: 0, CIDbits: 0, HCC: 0, SEIS: 0 });
  t.is(n['typer lo'], (n['typer'] as number) % 2 ** 32, 'a 32-bit read of the low half');
  t.like(GITS_IIDR.decode(n['iidr'] as number), { Implementer: 0x43b });
  t.is(GITS_PIDR2.get(n['pidr2'] as number, 'ArchRev'), 3);
  t.like(GITS_CTLR.decode(n['ctlr'] as number), { Enabled: 1, Quiescent: 0 });
  const baser = n['baser'] as bigint[];
  t.like(GITS_BASER.decode(baser[0]!), { Type: BaserType.Devices, Entry_Size: 7, Valid: 1, Indirect: 1, Page_Size: 2 });
  t.like(GITS_BASER.decode(baser[1]!), { Type: BaserType.Collections, Entry_Size: 7, Valid: 1, Indirect: 0 });
  t.deepEqual(baser.slice(2), [0n, 0n, 0n, 0n, 0n, 0n], 'GITS_BASER2-7 RAZ');
  // The library driver learnt the same by probing.
  const dt = r.kernel.its!.tables.get(BaserType.Devices)!;
  t.like(dt, { indirect: true, pageBytes: 0x10000, entryBytes: 8, ids: 2 ** 16 });
  t.is(r.kernel.its!.ittEntryBytes, 8);
  t.is(n['baser0 after write'], baser[0]);
  t.true(n['cbaser kept'] as boolean);
  t.true(n['cwriter kept'] as boolean);
  t.like(GITS_CTLR.decode(n['ctlr disabled'] as number), { Enabled: 0, Quiescent: 1 });
  t.is(GITS_CTLR.get(n['ctlr refused'] as number, 'Enabled'), 0, 'not enabled with GITS_BASER0.Valid = 0');
  t.like(GITS_BASER.decode(n['baser0 16K'] as bigint), { Page_Size: 1, Indirect: 1, Size: 2, Type: BaserType.Devices, Entry_Size: 7, Valid: 0 });
  t.is(GITS_CTLR.get(n['ctlr enabled'] as number, 'Enabled'), 1);
  t.is(r.vits!.stats.translaterWrites, 1);
  t.is(r.kernel.log.length, 0, 'a GITS_TRANSLATER store delivers nothing');
  t.is(r.vits!.stats.badAccesses, 0);
  t.is(GITS_CBASER.get(r.vits!.cbaser, 'Valid'), 1);
  t.notThrows(() => checkRegions('vgits', GITS_SIZE, r.vits!.block.regions), 'the register table is sorted and does not overlap');
});
