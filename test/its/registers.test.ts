/**
 * GITS registers read and written by a program at EL2 through MMIO (IHI 0069, the GITS_*
 * register descriptions): TYPER
 * values, BASER read-only and writable fields, unimplemented BASERs, CBASER/CWRITER/CREADR
 * rules, CTLR.Quiescent, ID registers, and known values of the register layouts.
 */
import test from 'ava';
import { ldr, str } from '../../core/ops.js';
import { checkRegions } from '../../core/regions.js';
import { ItsCmd } from '../../gic/its/commands.js';
import {
  GITS, GITS_BASER, GITS_CBASER, GITS_CREADR, GITS_CTLR, GITS_CWRITER, GITS_SIZE, GITS_TYPER, baserAddress,
} from '../../gic/its/its-registers.js';
import { CMDQ, ITT_AREA, layout, makeRig, rigDriver, run } from '../helpers/its-rig.js';

test('GITS_TYPER: Physical, Virtual on GICv4 only, 12-byte ITEs, ID_bits/Devbits from the configuration, PTA, HCC, CIL = 0, VMOVP', (t) => {
  for (const [version, pta, hcc] of [[4, false, 0], [3, true, 4]] as const) {
    const rig = makeRig({ version, its: { deviceIdBits: 20, eventIdBits: 12, pta, hcc } });
    let typer = 0n;
    let lo = 0;
    let hi = 0;
    run(rig, function* () {
      typer = yield ldr(rig.base + GITS.TYPER, 8);
      lo = yield ldr(rig.base + GITS.TYPER, 4);
      hi = yield ldr(rig.base + GITS.TYPER + 4, 4);
    });
    t.is(typer, (BigInt(hi) << 32n) | BigInt(lo));
    const f = GITS_TYPER.decode(Number(typer));
    t.like(f, {
      Physical: 1, Virtual: version === 4 ? 1 : 0, CCT: 0, ITT_entry_size: 11, ID_bits: 11, Devbits: 19, SEIS: 0,
      PTA: pta ? 1 : 0, HCC: hcc, CIDbits: 0, CIL: 0, VMOVP: version === 4 ? 1 : 0, MPAM: 0, VSGI: 0, VMAPP: 0, SVPET: 0, nID: 0,
    });
  }
});

test('GITS_TYPER known value for the default GICv4 configuration (16 DeviceID and EventID bits, PTA = 0)', (t) => {
  const rig = makeRig();
  let typer = 0n;
  run(rig, function* () {
    typer = yield ldr(rig.base + GITS.TYPER, 8);
  });
  // Physical | Virtual | ITT_entry_size 11 << 4 | ID_bits 15 << 8 | Devbits 15 << 13 | VMOVP << 37
  t.is(typer, 0x1n | 0x2n | (11n << 4n) | (15n << 8n) | (15n << 13n) | (1n << 37n));
  t.is(typer, 0x20_0001_efb3n);
});

test('GITS_BASER<n>: Type and Entry_Size are read-only, the rest reads back as written; BASER3-7 are RAZ/WI', (t) => {
  const rig = makeRig();
  const all = 0xffff_ffff_ffff_ffffn;
  const got: bigint[] = [];
  run(rig, function* () {
    for (let n = 0; n < 8; n++) got.push(yield ldr(rig.base + GITS.BASER + 8 * n, 8));
    for (let n = 0; n < 8; n++) yield str(rig.base + GITS.BASER + 8 * n, all, 8);
    for (let n = 0; n < 8; n++) got.push(yield ldr(rig.base + GITS.BASER + 8 * n, 8));
    // 32-bit halves reach the same register.
    yield str(rig.base + GITS.BASER + 4, 0, 4);
    got.push(yield ldr(rig.base + GITS.BASER, 8));
  });
  const types = got.slice(0, 8).map((v) => GITS_BASER.get(v, 'Type'));
  t.deepEqual(types, [1, 4, 2, 0, 0, 0, 0, 0]); // Devices, Collections, vPEs
  t.deepEqual(got.slice(0, 3).map((v) => GITS_BASER.get(v, 'Entry_Size')), [7, 7, 7]);
  const after = got.slice(8, 16);
  for (let n = 0; n < 3; n++) {
    t.like(GITS_BASER.decode(after[n]!), { Type: [1, 4, 2][n], Entry_Size: 7, Valid: 1, Indirect: 1, Size: 0xff, Page_Size: 3, Shareability: 3, InnerCache: 7, OuterCache: 7 });
    t.is(GITS_BASER.get(after[n]!, 'PA'), 2 ** 36 - 1);
  }
  t.deepEqual(after.slice(3), [0n, 0n, 0n, 0n, 0n]);
  t.is(got[16]! >> 32n, (BigInt(GITS_BASER.encode({ Type: 1, Entry_Size: 7 })) >> 32n)); // upper half cleared, RO fields kept
});

test('GITS_BASER<n> at reset: Type and Entry_Size, Page_Size = 64 KB (CHOICE, as QEMU; kvm-unit-tests expects it), not Valid, everything else 0', (t) => {
  for (const version of [4, 3] as const) {
    const rig = makeRig({ version });
    const got: bigint[] = [];
    let written = 0n;
    run(rig, function* () {
      for (let n = 0; n < 8; n++) got.push(yield ldr(rig.base + GITS.BASER + 8 * n, 8));
      // The reset value does not stick: a driver asking for 4 KB pages gets them.
      yield str(rig.base + GITS.BASER, GITS_BASER.encode({ Page_Size: 0 }), 8);
      written = yield ldr(rig.base + GITS.BASER, 8);
    });
    const reset = (type: number): bigint => GITS_BASER.encode({ Type: type, Entry_Size: 7, Page_Size: 2 });
    t.deepEqual(got, [reset(1), reset(4), version === 4 ? reset(2) : 0n, 0n, 0n, 0n, 0n, 0n], `GICv${version}`);
    t.is(got[0], 0x0107_0000_0000_0200n); // Type 1 [58:56], Entry_Size 7 [52:48], Page_Size 0b10 [9:8]
    t.is(GITS_BASER.get(got[0]!, 'Valid'), 0);
    t.is(written, GITS_BASER.encode({ Type: 1, Entry_Size: 7, Page_Size: 0 }));
  }
});

test('GITS_BASER<n> and GITS_CBASER are read-only while GITS_CTLR.Enabled = 1; a GICv3 ITS has no vPE table', (t) => {
  const rig = makeRig({ version: 3 });
  const d = rigDriver(rig);
  let baser0 = 0n;
  let cbaser = 0n;
  let baser2 = 0n;
  run(rig, function* () {
    yield* d.init(layout());
    baser0 = yield ldr(rig.base + GITS.BASER, 8);
    cbaser = yield ldr(rig.base + GITS.CBASER, 8);
    yield str(rig.base + GITS.BASER, 0n, 8);
    yield str(rig.base + GITS.CBASER, 0n, 8);
    yield str(rig.base + GITS.BASER + 16, 0xffff_ffff_ffff_ffffn, 8);
    baser2 = yield ldr(rig.base + GITS.BASER + 16, 8);
    t.is(yield ldr(rig.base + GITS.BASER, 8), baser0);
    t.is(yield ldr(rig.base + GITS.CBASER, 8), cbaser);
  });
  t.is(GITS_BASER.get(baser0, 'Valid'), 1);
  t.is(baser2, 0n);
});

test('GITS_CBASER: writing it (ITS disabled) resets CREADR to 0; CWRITER offsets beyond the queue are ignored', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const seen: number[] = [];
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(ItsCmd.SYNC({ RDbase: 0 }), ItsCmd.SYNC({ RDbase: 0 }));
    seen.push(GITS_CREADR.get(yield ldr(rig.base + GITS.CREADR, 4), 'Offset'));
    yield str(rig.base + GITS.CTLR, 0, 4);
    // Beyond the 4 KB queue: ignored.
    yield str(rig.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: 0x1000 / 32 }), 4);
    seen.push(GITS_CWRITER.get(yield ldr(rig.base + GITS.CWRITER, 4), 'Offset'));
    yield str(rig.base + GITS.CBASER, GITS_CBASER.encode({ Valid: 1, Size: 1, PA: CMDQ / 0x1000 }), 8);
    seen.push(yield ldr(rig.base + GITS.CREADR, 4));
    // The queue is now 8 KB: offset 0x1000 is accepted.
    yield str(rig.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: 0x1000 / 32 }), 4);
    seen.push(GITS_CWRITER.get(yield ldr(rig.base + GITS.CWRITER, 4), 'Offset'));
  });
  t.deepEqual(seen, [2, 2, 0, 0x80]);
});

test('GITS_CBASER: a write that shrinks the queue resets CWRITER to CREADR, so the ITS does not run round the ring forever', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const seen: number[] = [];
  run(rig, function* () {
    yield* d.init(layout());
    // CWRITER in the second 4 KB of an 8 KB queue (slot 200), then disable and shrink the queue to 4 KB.
    yield str(rig.base + GITS.CTLR, 0, 4);
    yield str(rig.base + GITS.CBASER, GITS_CBASER.encode({ Valid: 1, Size: 1, PA: CMDQ / 0x1000 }), 8);
    yield str(rig.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: 200 }), 8);
    yield str(rig.base + GITS.CBASER, GITS_CBASER.encode({ Valid: 1, Size: 0, PA: CMDQ / 0x1000 }), 8);
    seen.push(GITS_CWRITER.get(yield ldr(rig.base + GITS.CWRITER, 4), 'Offset'), GITS_CREADR.get(yield ldr(rig.base + GITS.CREADR, 4), 'Offset'));
    yield str(rig.base + GITS.CTLR, GITS_CTLR.encode({ Enabled: 1 }), 4);
  });
  const before = rig.its.commandsExecuted;
  rig.m.runFor(2_000_000);
  t.deepEqual(seen, [0, 0]);
  // Nothing queued: the enabled ITS executes nothing (before the fix: thousands of commands).
  t.is(rig.its.commandsExecuted - before, 0);
});

test('GITS_CBASER: the RES0 bits [62], [58:56], [52] and [9:8] read as zero whatever was written', (t) => {
  const rig = makeRig();
  let back = 0n;
  run(rig, function* () {
    yield str(rig.base + GITS.CBASER, 0xffff_ffff_ffff_ffffn, 8);
    back = yield ldr(rig.base + GITS.CBASER, 8);
  });
  const res0 = (1n << 62n) | (7n << 56n) | (1n << 52n) | (3n << 8n);
  t.is(back & res0, 0n);
  // Every named field keeps what was written.
  t.is(back, 0xffff_ffff_ffff_ffffn & ~res0);
  t.like(GITS_CBASER.decode(back), { Valid: 1, InnerCache: 7, OuterCache: 7, Shareability: 3, Size: 0xff, PA: 2 ** 40 - 1 });
});

test('GITS_CTLR: Enabled reads back, Quiescent = 1 only when disabled with nothing in flight; commands queued while disabled run at enable', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const ctlr: number[] = [];
  run(rig, function* () {
    ctlr.push(yield ldr(rig.base + GITS.CTLR, 4));
    yield* d.init(layout({ enable: false }));
    yield* d.write([ItsCmd.MAPC({ ICID: 1, RDbase: 0, V: 1 }), ItsCmd.INVALL({ ICID: 1 })]);
    yield* d.publish();
    ctlr.push(yield ldr(rig.base + GITS.CTLR, 4));
    t.is(rig.lpis.calls.length, 0);
    yield str(rig.base + GITS.CTLR, 1, 4);
    ctlr.push(yield ldr(rig.base + GITS.CTLR, 4)); // a command is in flight
    yield* d.drain();
    yield str(rig.base + GITS.CTLR, 0, 4);
    ctlr.push(yield ldr(rig.base + GITS.CTLR, 4));
  });
  const q = GITS_CTLR.encode({ Quiescent: 1 });
  const en = GITS_CTLR.encode({ Enabled: 1 });
  t.deepEqual(ctlr, [q, q, en, q]);
  t.deepEqual(rig.lpis.calls.map((c) => c.op), ['invall']);
});

test('GITS_IIDR and GITS_PIDR2 identify an Arm-architecture ITS of the configured GIC version; other ID space is RAZ', (t) => {
  for (const version of [3, 4] as const) {
    const rig = makeRig({ version });
    const v: number[] = [];
    run(rig, function* () {
      v.push(yield ldr(rig.base + GITS.IIDR, 4), yield ldr(rig.base + GITS.PIDR2, 4), yield ldr(rig.base + 0xffe0, 4), yield ldr(rig.base + 0x40, 4));
    });
    t.is(v[0]! & 0xfff, 0x43b);
    t.is((v[1]! >> 4) & 0xf, version);
    t.deepEqual(v.slice(2), [0, 0]);
  }
});

test('register layouts: known values and the GITS_BASER address rule for 64 KB pages', (t) => {
  t.is(GITS_CBASER.encode({ Valid: 1, Size: 3, PA: 0x4800_0000 / 0x1000 }), (1n << 63n) | 0x4800_0003n);
  t.is(GITS_CWRITER.encode({ Offset: 5, Retry: 1 }), 0xa1);
  t.is(GITS_CREADR.encode({ Offset: 0x7fff, Stalled: 1 }), 0xfffe1);
  t.is(GITS_BASER.encode({ Valid: 1, Indirect: 1, Type: 4, Entry_Size: 7, Page_Size: 2, Size: 1 }), 0xc407_0000_0000_0201n);
  // 64 KB pages: [47:16] = PA[47:16], [15:12] = PA[51:48].
  t.is(baserAddress(0x4810_0000 / 0x1000, 0x10000), 0x4810_0000);
  t.is(baserAddress(0x4810_0000 / 0x1000 + 0x3, 0x10000), 0x4810_0000 + 3 * 2 ** 48);
  t.is(baserAddress(0x4810_1000 / 0x1000, 0x1000), 0x4810_1000);
  t.is(ITT_AREA % 256, 0);
});

test('the command queue wraps at (CBASER.Size + 1) × 4 KB: 300 commands through a 4 KB queue of 128 slots', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const offsets: number[] = [];
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(ItsCmd.MAPC({ ICID: 0, RDbase: 0, V: 1 }));
    for (let batch = 0; batch < 3; batch++) {
      // At most 127 at a time: software keeps one slot free.
      const v = yield* d.submit(...Array.from({ length: 100 }, () => ItsCmd.INVALL({ ICID: 0 })));
      offsets.push(GITS_CREADR.get(v, 'Offset'));
    }
  });
  t.deepEqual(offsets, [101 % 128, 201 % 128, 301 % 128]);
  t.is(rig.lpis.of('invall').length, 300);
  t.is(rig.its.errorCount, 0);
});

test('the GITS register table is sorted and its regions do not overlap', (t) => {
  const rig = makeRig();
  t.notThrows(() => checkRegions('GITS', GITS_SIZE, rig.its.block.regions));
  const names = rig.its.block.regions.map((r) => r.name);
  t.deepEqual(names, ['GITS_CTLR', 'GITS_IIDR', 'GITS_TYPER', 'GITS_CBASER', 'GITS_CWRITER', 'GITS_CREADR', 'GITS_BASER', 'GITS_PIDR2', 'GITS_TRANSLATER']);
  t.is(rig.its.block.region(GITS.TRANSLATER)!.name, 'GITS_TRANSLATER');
});
