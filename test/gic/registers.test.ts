/**
 * Register layouts and read-back values of the physical GIC: every codec round-trips and matches
 * known values from the IHI 0069 register descriptions; every MMIO register table is sorted and
 * non-overlapping; what a program at EL1 reads from GICD/GICR/ICC registers matches the
 * documented layouts; reserved space and bad accesses are RAZ/WI and never throw.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Layout, FieldMap, Word } from '../../core/bits.js';
import { checkRegions } from '../../core/regions.js';
import { ldr, mrs, msr, str, type Program } from '../../core/ops.js';
import { initRedistributor } from '../../drivers/gic-init.js';
import { gicConfig, redistributorSize, type GicConfig } from '../../gic/config.js';
import * as R from '../../gic/gic-registers.js';
import { ICC_BPR0_EL1, ICC_BPR1_EL1, ICC_CTLR_EL1, ICC_RPR_EL1 } from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { bootEl1, buildGicMachine, gicd, gicr, gicrSgi, type GicMachine } from '../helpers/gic-harness.js';

// ---------------------------------------------------------------- codecs

const LAYOUTS: Layout<FieldMap, Word>[] = [
  R.GICD_CTLR, R.GICD_TYPER, R.GIC_IIDR, R.GIC_PIDR2, R.GICD_IROUTER, R.GICR_CTLR, R.GICR_TYPER, R.GICR_WAKER,
  R.GICR_PROPBASER, R.GICR_PENDBASER, R.GICR_LPIR, R.GICR_SYNCR, R.LPI_CONFIG, R.ICC_CTLR, R.ICC_SGIR, R.ICC_INTID,
  R.ICC_PRIORITY, R.ICC_BPR, R.ICC_IGRPEN,
] as unknown as Layout<FieldMap, Word>[];

for (const layout of LAYOUTS) {
  test(`${layout.name}: encode/decode round-trips`, (t) => {
    const arb = fc.record(Object.fromEntries(layout.fields.map((f) => [f.name, fc.maxSafeNat().map((x) => x % 2 ** f.width)])));
    t.notThrows(() =>
      fc.assert(
        fc.property(arb, (vals) => {
          const v = layout.encode(vals);
          const back = layout.decode(v);
          if (JSON.stringify(back) !== JSON.stringify(Object.fromEntries(layout.fields.map((f) => [f.name, vals[f.name]])))) return false;
          // And the raw value survives a decode/encode.
          const again = layout.encode(back);
          return typeof v === 'bigint' ? again === v : again === v;
        }),
        { numRuns: 200, seed: 11 },
      ),
    );
  });
}

test('known values from IHI 0069 (ICC_*, GICD_*, GICR_* and the LPI configuration byte)', (t) => {
  t.is(R.GICD_CTLR.encode({ EnableGrp0: 1, EnableGrp1: 1, ARE: 1, DS: 1 }), 0x53);
  t.is(R.GICD_CTLR.encode({ RWP: 1 }), 0x80000000);
  t.is(R.GICD_TYPER.encode({ ITLinesNumber: 2, LPIS: 1, DVIS: 1, IDbits: 15 }), 2 | (1 << 17) | (1 << 18) | (15 << 19));
  t.is(R.GICD_TYPER.encode({ A3V: 1, No1N: 1, RSS: 1 }), (1 << 24) + (1 << 25) + (1 << 26));
  t.is(R.GIC_IIDR.encode({ Implementer: 0x43b, ProductID: 2 }), 0x0200043b);
  t.is(R.GIC_PIDR2.encode({ ArchRev: 4 }), 0x40);
  t.is(R.GICD_IROUTER.encode({ Interrupt_Routing_Mode: 1 }), 0x80000000);
  t.is(R.GICD_IROUTER.encode({ Aff3: 1, Aff2: 2, Aff1: 3, Aff0: 4 }), 2 ** 32 + 0x020304);
  t.is(R.GICR_CTLR.encode({ EnableLPIs: 1, RWP: 1, UWP: 1 }), 0x80000009);
  t.is(R.GICR_TYPER.encode({ PLPIS: 1, VLPIS: 1, Dirty: 1, DirectLPI: 1, Last: 1 }), 0x1fn);
  t.is(R.GICR_TYPER.encode({ Processor_Number: 3 }), 0x300n);
  t.is(R.GICR_TYPER.encode({ Aff0: 2, Aff1: 1, Aff3: 0xab }), (0xabn << 56n) | (1n << 40n) | (2n << 32n));
  t.is(R.GICR_WAKER.encode({ ProcessorSleep: 1, ChildrenAsleep: 1 }), 0x6);
  t.is(R.GICR_PROPBASER.encode({ IDbits: 15, PA: 0x49000, Shareability: 1, InnerCache: 7, OuterCache: 1 }), (1n << 56n) | 0x49000000n | 0x400n | 0x380n | 0xfn);
  t.is(R.GICR_PENDBASER.encode({ PA: 0x4c00, PTZ: 1 }), (1n << 62n) | 0x4c000000n);
  t.is(R.LPI_CONFIG.encode({ Priority: 0xa0 >> 2, Group1: 1, Enable: 1 }), 0xa3);
  t.is(R.ICC_CTLR.encode({ EOImode: 1, PRIbits: 4, IDbits: 1, A3V: 1 }), 0x2 | 0x400 | 0x800 | 0x8000);
  t.is(R.ICC_CTLR.encode({ CBPR: 1, PMHE: 1, SEIS: 1, RSS: 1, ExtRange: 1 }), 0x1 | 0x40 | 0x4000 | 0x40000 | 0x80000);
  t.is(R.ICC_SGIR.encode({ INTID: 1, TargetList: 1 }), 0x1000001n);
  t.is(R.ICC_SGIR.encode({ IRM: 1, Aff2: 5, RS: 2, Aff3: 0xab, Aff1: 7 }), (1n << 40n) | (5n << 32n) | (2n << 44n) | (0xabn << 48n) | (7n << 16n));
  t.is(R.ICC_INTID.encode({ INTID: 0xffffff }), 0xffffff);
  t.is(R.ICC_BPR.encode({ BinaryPoint: 7 }), 7);
});

// ---------------------------------------------------------------- register tables

for (const version of [3, 4] as const) {
  test(`GICv${version}: every register table is sorted, non-overlapping and inside its frame`, (t) => {
    const g = buildGicMachine({ cores: 4, gic: { version } });
    const blocks = [g.gic.distributor.block, ...g.gic.redistributors.flatMap((r) => [r.rdBlock, r.sgiBlock]), ...g.gic.vlpiFrames.map((f) => f.block)];
    t.is(blocks.length, version === 4 ? 13 : 9);
    for (const b of blocks) {
      t.notThrows(() => checkRegions(b.name, b.size, b.regions), b.name);
      for (let i = 1; i < b.regions.length; i++) t.true(b.regions[i]!.offset >= b.regions[i - 1]!.offset + b.regions[i - 1]!.length, `${b.name}.${b.regions[i]!.name}`);
    }
    // The redistributor regions tile the GICR space contiguously.
    const map = g.m.bus.map.filter((r) => r.name.startsWith('gicr'));
    t.is(map.length, 4 * (version === 4 ? 4 : 2));
    t.is(map[map.length - 1]!.base + map[map.length - 1]!.size - g.cfg.gicrBase, 4 * redistributorSize(version));
  });
}

// ---------------------------------------------------------------- read-back from software

interface ReadBack {
  gicdTyper: number;
  gicdIidr: number;
  gicdPidr2: number;
  gicdCtlr: number;
  gicdCtlrAfterZero: number;
  reserved: number[];
  gicrTyper: bigint[];
  gicrTyperLo: number[];
  gicrTyperHi: number[];
  gicrIidr: number;
  gicrPidr2: number;
  wakerReset: number;
  wakerAwake: number;
  icfgr0: number;
  iccCtlr: number;
  iccCtlrAfterWrite: number;
  bpr0: number;
  bpr1: number;
  bpr1Cbpr: number;
  rpr: number;
  prioByte: number;
  prioWord: number;
  gicdPrivatePrio: number;
  irouter: bigint;
  propbaser: bigint;
  pendbaser: bigint;
  propbaserAfterEnable: bigint;
  vlpi: number;
}

function readBack(cfgOver: Partial<GicConfig>): { r: ReadBack; g: GicMachine } {
  const g = buildGicMachine({ cores: 4, gic: cfgOver });
  const cfg = g.cfg;
  const r = { gicrTyper: [], gicrTyperLo: [], gicrTyperHi: [], reserved: [] } as unknown as ReadBack;
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe !== 0) {
        yield* cpuOff();
        return;
      }
      r.gicdTyper = yield ldr(gicd(cfg, 0x0004));
      r.gicdIidr = yield ldr(gicd(cfg, 0x0008));
      r.gicdPidr2 = yield ldr(gicd(cfg, 0xffe8));
      r.gicdCtlr = yield ldr(gicd(cfg, 0x0000));
      yield str(gicd(cfg, 0x0000), 0);
      r.gicdCtlrAfterZero = yield ldr(gicd(cfg, 0x0000));
      // Reserved space, TYPER2 (GICv4.1 only), GICD copies of INTIDs 0-31, ITARGETSR, SGIR, a bad width.
      for (const off of [0x0010, 0x000c, 0x0080, 0x0100, 0x0800, 0x0f00, 0x0c00, 0x5000]) {
        yield str(gicd(cfg, off), 0xffffffff);
        r.reserved.push(yield ldr(gicd(cfg, off)));
      }
      r.reserved.push(yield ldr(gicd(cfg, 0x0000), 1));
      for (let p = 0; p < 4; p++) {
        r.gicrTyper.push(yield ldr(gicr(cfg, p, 0x0008), 8));
        r.gicrTyperLo.push(yield ldr(gicr(cfg, p, 0x0008)));
        r.gicrTyperHi.push(yield ldr(gicr(cfg, p, 0x000c)));
      }
      r.gicrIidr = yield ldr(gicr(cfg, 0, 0x0004));
      r.gicrPidr2 = yield ldr(gicr(cfg, 0, 0xffe8));
      r.wakerReset = yield ldr(gicr(cfg, 0, 0x0014));
      yield* initRedistributor(cfg.gicrBase);
      r.wakerAwake = yield ldr(gicr(cfg, 0, 0x0014));
      r.icfgr0 = yield ldr(gicrSgi(cfg, 0, 0x0c00));
      r.iccCtlr = yield mrs(ICC_CTLR_EL1);
      yield msr(ICC_CTLR_EL1, 0xffffffff);
      r.iccCtlrAfterWrite = yield mrs(ICC_CTLR_EL1);
      yield msr(ICC_CTLR_EL1, 0);
      yield msr(ICC_BPR0_EL1, 0);
      yield msr(ICC_BPR1_EL1, 0);
      r.bpr0 = yield mrs(ICC_BPR0_EL1);
      r.bpr1 = yield mrs(ICC_BPR1_EL1);
      yield msr(ICC_BPR0_EL1, 4);
      yield msr(ICC_CTLR_EL1, R.ICC_CTLR.encode({ CBPR: 1 }));
      r.bpr1Cbpr = yield mrs(ICC_BPR1_EL1);
      yield msr(ICC_CTLR_EL1, 0);
      r.rpr = yield mrs(ICC_RPR_EL1);
      yield str(gicd(cfg, 0x0400 + 33), 0xff, 1);
      r.prioByte = yield ldr(gicd(cfg, 0x0400 + 33), 1);
      yield str(gicd(cfg, 0x0400 + 36), 0x12345678);
      r.prioWord = yield ldr(gicd(cfg, 0x0400 + 36));
      yield str(gicd(cfg, 0x0400 + 4), 0xa0a0a0a0);
      r.gicdPrivatePrio = yield ldr(gicd(cfg, 0x0400 + 4));
      yield str(gicd(cfg, 0x6000 + 8 * 40), 0xffff_ffff_ffff_ffffn, 8);
      r.irouter = yield ldr(gicd(cfg, 0x6000 + 8 * 40), 8);
      yield str(gicr(cfg, 0, 0x0070), R.GICR_PROPBASER.encode({ PA: 0x49000, IDbits: 15, InnerCache: 7, Shareability: 1 }), 8);
      yield str(gicr(cfg, 0, 0x0078), R.GICR_PENDBASER.encode({ PA: 0x4c00, PTZ: 1, Shareability: 1 }), 8);
      r.propbaser = yield ldr(gicr(cfg, 0, 0x0070), 8);
      r.pendbaser = yield ldr(gicr(cfg, 0, 0x0078), 8);
      yield str(gicr(cfg, 0, 0x0000), 1);
      yield str(gicr(cfg, 0, 0x0070), 0n, 8);
      r.propbaserAfterEnable = yield ldr(gicr(cfg, 0, 0x0070), 8);
      r.vlpi = yield ldr(gicr(cfg, 0, 0x20078));
      yield* cpuOff();
    },
  }));
  g.m.run(10_000_000);
  return { r, g };
}

for (const version of [3, 4] as const) {
  for (const idBits of [16, 24]) {
    test(`GICv${version}, ${idBits}-bit INTIDs: ID and type registers read back their documented layouts`, (t) => {
      const { r } = readBack({ version, idBits, spis: 64 });
      const typer = R.GICD_TYPER.decode(r.gicdTyper);
      t.like(typer, { ITLinesNumber: 2, CPUNumber: 0, ESPI: 0, SecurityExtn: 0, num_LPIs: 0, MBIS: 0, LPIS: 1, DVIS: version === 4 ? 1 : 0, IDbits: idBits - 1, A3V: 1, No1N: 0, RSS: 0 });
      t.is(R.GIC_IIDR.get(r.gicdIidr, 'Implementer'), 0x43b);
      t.is(r.gicrIidr, r.gicdIidr);
      t.is(R.GIC_PIDR2.get(r.gicdPidr2, 'ArchRev'), version);
      t.is(R.GIC_PIDR2.get(r.gicrPidr2, 'ArchRev'), version);
      t.is(r.gicdCtlr, R.GICD_CTLR.encode({ ARE: 1, DS: 1 }), 'ARE and DS RAO, groups disabled, RWP 0');
      t.is(r.gicdCtlrAfterZero, R.GICD_CTLR.encode({ ARE: 1, DS: 1 }));
      for (let p = 0; p < 4; p++) {
        const d = R.GICR_TYPER.decode(r.gicrTyper[p]!);
        t.like(d, { PLPIS: 1, VLPIS: version === 4 ? 1 : 0, Dirty: version === 4 ? 1 : 0, DirectLPI: 1, Last: p === 3 ? 1 : 0, Processor_Number: p, Aff0: p, Aff1: 0, Aff2: 0, Aff3: 0 });
        t.is(BigInt(r.gicrTyperLo[p]!) | (BigInt(r.gicrTyperHi[p]!) << 32n), r.gicrTyper[p]!, 'two 32-bit halves = the 64-bit read');
      }
      const ctlr = R.ICC_CTLR.decode(r.iccCtlr);
      t.like(ctlr, { CBPR: 0, EOImode: 0, PMHE: 0, PRIbits: 4, IDbits: idBits > 16 ? 1 : 0, SEIS: 0, A3V: 1, RSS: 0, ExtRange: 0 });
      t.is(r.iccCtlrAfterWrite, r.iccCtlr + R.ICC_CTLR.encode({ CBPR: 1, EOImode: 1 }), 'only CBPR and EOImode are writable');
    });
  }
}

test('reset and RAZ/WI behaviour read back from software', (t) => {
  const { r, g } = readBack({});
  t.deepEqual(r.reserved, [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.true(g.m.trace.of('gic-ignored').some((x) => x.what.includes('width')), 'the byte read of GICD_CTLR was reported');
  t.is(r.wakerReset, R.GICR_WAKER.encode({ ProcessorSleep: 1, ChildrenAsleep: 1 }));
  t.is(r.wakerAwake, 0);
  t.is(r.icfgr0, 0xaaaaaaaa, 'SGIs are edge-triggered, RAO/WI');
  t.is(r.bpr0, 2, 'minimum BPR0 with 5 priority bits');
  t.is(r.bpr1, 3, 'minimum BPR1 = minimum BPR0 + 1');
  t.is(r.bpr1Cbpr, 5, 'with CBPR, BPR1 reads BPR0 + 1');
  t.is(r.rpr, 0xff);
  t.is(r.prioByte, 0xf8, 'unimplemented priority bits RAZ/WI');
  t.is(r.prioWord, 0x10305078);
  t.is(r.gicdPrivatePrio, 0, 'GICD priorities of INTIDs 0-31 are RAZ/WI with ARE = 1');
  t.is(r.irouter, 0xff_80ff_ffffn, 'IROUTER keeps Aff0-Aff3 and IRM; the RES0 bits read 0');
  t.is(r.propbaser, R.GICR_PROPBASER.encode({ PA: 0x49000, IDbits: 15, InnerCache: 7, Shareability: 1 }));
  t.is(r.pendbaser, R.GICR_PENDBASER.encode({ PA: 0x4c00, Shareability: 1 }), 'PTZ reads as 0');
  t.is(r.propbaserAfterEnable, r.propbaser, 'PROPBASER is read-only once EnableLPIs = 1');
  t.is(r.vlpi, 0, 'VLPI_base is RAZ/WI for now');
});
