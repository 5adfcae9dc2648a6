/**
 * LPIs from memory (IHI 0069H §5.1 "LPIs"): configuration and pending tables in RAM, the
 * redistributor's configuration cache and its invalidation (GICR_INVLPIR/INVALLR), no active
 * state, the pending-table scan at EnableLPIs, the configuration fetch latency, DirectLPI
 * (GICR_SETLPIR/CLRLPIR) and the `LpiPort` the ITS uses.
 */
import test from 'ava';
import fc from 'fast-check';
import { SimEvent } from '../../core/events.js';
import { daifclr, daifset, DAIF_I, eret, ldr, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../../drivers/gic-init.js';
import { enableLpis, invalidateAllLpis, invalidateLpi, lpiConfigByte } from '../../drivers/lpi.js';
import { gicConfig, redistributorSize } from '../../gic/config.js';
import { GICD_CTLR } from '../../gic/gic-registers.js';
import { ICC_DIR_EL1, ICC_EOIR1_EL1, ICC_HPPIR1_EL1, ICC_IAR1_EL1, ICC_RPR_EL1 } from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { bootEl1, buildGicMachine, DIST_OPTIONS, gicd, gicr, idle, TABLES, type GicMachine } from '../helpers/gic-harness.js';

const PROP = TABLES;
const pendOf = (pe: number): number => 0x4c00_0000 + pe * 0x0040_0000;

const cfgByte = (prio: number, enabled = true): number => lpiConfigByte(prio, enabled);

interface LpiRun {
  /** Distributor INTID bits (GICD_TYPER.IDbits + 1). */
  gicIdBits?: number;
  /** PROPBASER.IDbits + 1 (default: the GIC's). */
  idBits?: number;
  ptz?: boolean;
  /** PEs that enable LPIs (default [0]); the others stop after waking their redistributor. */
  lpiPes?: number[];
  eoiMode?: boolean;
  /** Memory written before boot, as a loader would. */
  prepare?: (g: GicMachine) => void;
  /** Runs on each LPI PE after init, with IRQs masked; `acks` are the INTIDs acknowledged so far, per PE. */
  body?: (pe: number, acks: number[][]) => Program;
  /** After ICC_IAR1_EL1 in the IRQ handler; return false to skip the EOI. */
  onAck?: (pe: number, intid: number) => Program<boolean | void>;
  /** "ITS" events: [time, action]. */
  events?: (g: GicMachine) => [number, () => void][];
}

interface LpiResult {
  g: GicMachine;
  acks: number[][];
  rprs: number[][];
}

function runLpi(r: LpiRun): LpiResult {
  const g = buildGicMachine({ cores: 4, gic: { idBits: r.gicIdBits ?? 16 } });
  const { m, cfg } = g;
  const idBits = r.idBits ?? cfg.idBits;
  const lpiPes = r.lpiPes ?? [0];
  const acks: number[][] = [[], [], [], []];
  const rprs: number[][] = [[], [], [], []];
  r.prepare?.(g);
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) yield* initDistributor(cfg.gicdBase, DIST_OPTIONS);
      const rd: number = yield* initRedistributor(cfg.gicrBase);
      if (!lpiPes.includes(pe)) {
        yield* cpuOff();
        return;
      }
      yield* enableLpis(rd, { prop: PROP, idBits }, pendOf(pe), r.ptz ?? true);
      yield* initCpuInterface({ eoiMode: r.eoiMode === true ? 1 : 0 });
      if (r.body) yield* r.body(pe, acks);
      yield daifclr(DAIF_I);
      yield* idle();
    },
    irq: function* (): Program {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      acks[pe]!.push(iar);
      rprs[pe]!.push(yield mrs(ICC_RPR_EL1));
      const eoi = r.onAck ? yield* r.onAck(pe, iar) : true;
      if (iar !== 1023 && eoi !== false) yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
  }));
  for (const [t, fn] of r.events?.(g) ?? []) m.events.schedule(new SimEvent('its', 0, fn), t);
  m.run(50_000_000);
  return { g, acks, rprs };
}

/** Writes configuration bytes into RAM before boot. */
function writeConfig(g: GicMachine, entries: [number, number][]): void {
  for (const [intid, byte] of entries) g.m.bus.memory.write8(PROP + intid - 8192, byte);
}

const pendingBit = (g: GicMachine, pe: number, intid: number): boolean => ((g.m.bus.memory.read8(pendOf(pe) + (intid >>> 3)) >>> (intid & 7)) & 1) === 1;

test('LPIs set pending through LpiPort are delivered with their configured priorities, pending state in the table', (t) => {
  const seen: { before: number[]; after: number[] } = { before: [], after: [] };
  const { acks, rprs, g } = runLpi({
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)], [8300, cfgByte(0x60)]]),
    events: (gm) => [[60_000, () => (gm.gic.setLpiPending(0, 8200), gm.gic.setLpiPending(0, 8300))]],
    body: function* (pe) {
      if (pe !== 0) return;
      yield work(100_000);
      // The pending table in memory, as software sees it: bytes 8200/8 and 8300/8.
      seen.before.push(yield ldr(pendOf(0) + (8200 >>> 3), 1), yield ldr(pendOf(0) + (8300 >>> 3), 1));
    },
  });
  t.deepEqual(acks[0], [8300, 8200]);
  t.deepEqual(rprs[0], [0x60, 0xa0]);
  t.deepEqual(seen.before, [1 << (8200 & 7), 1 << (8300 & 7)]);
  t.false(pendingBit(g, 0, 8200));
  t.false(pendingBit(g, 0, 8300));
  t.false(g.gic.isLpiPending(0, 8200));
});

test('an LPI has no active state: it can be pending again while its handler runs and is retaken after the priority drop alone (EOImode = 1, no DIR)', (t) => {
  let again = 0;
  const { acks, g } = runLpi({
    eoiMode: true,
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)]]),
    events: (gm) => [[60_000, () => gm.gic.setLpiPending(0, 8200)]],
    onAck: function* (_pe, intid) {
      if (intid === 8200 && again++ === 0) {
        // GICR_SETLPIR (DirectLPI): pending again while "running"; equal priority cannot preempt.
        yield str(gicr(gicConfig(), 0, 0x0040), 8200n, 8);
        yield work(1000);
      }
      // DIR has no effect on an LPI.
      yield msr(ICC_DIR_EL1, intid);
    },
  });
  t.deepEqual(acks[0], [8200, 8200]);
  t.true(g.m.trace.of('gic-ignored').some((r) => r.what === 'DIR of INTID 8200'));
});

test('disabling an LPI in the configuration table has no effect until GICR_INVLPIR, and then it does', (t) => {
  const cfg = gicConfig();
  const counts: number[] = [];
  let pendingWhileDisabled = -1;
  const { acks } = runLpi({
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)]]),
    body: function* (pe, acks) {
      if (pe !== 0) return;
      yield daifclr(DAIF_I);
      const fire = function* (): Program {
        yield str(gicr(cfg, 0, 0x0040), 8200n, 8);
        yield work(3000);
      };
      yield* fire();
      counts.push(acks[0]!.length);
      // Disable it in memory: the redistributor still uses its cached (enabled) byte.
      yield str(PROP + 8200 - 8192, cfgByte(0xa0, false), 1);
      yield* fire();
      counts.push(acks[0]!.length);
      // After the invalidation the new byte applies.
      yield* invalidateLpi(gicr(cfg, 0, 0), 8200);
      yield* fire();
      counts.push(acks[0]!.length);
      pendingWhileDisabled = yield ldr(pendOf(0) + (8200 >>> 3), 1);
      // Enabling it in memory again changes nothing until the next invalidation...
      yield str(PROP + 8200 - 8192, cfgByte(0xa0, true), 1);
      yield work(3000);
      counts.push(acks[0]!.length);
      // ...which re-reads the byte of the pending LPI and delivers it.
      yield* invalidateLpi(gicr(cfg, 0, 0), 8200);
      yield work(3000);
      counts.push(acks[0]!.length);
      yield daifset(DAIF_I);
    },
  });
  t.deepEqual(counts, [1, 2, 2, 2, 3]);
  t.is(pendingWhileDisabled, 1 << (8200 & 7), 'a disabled LPI stays pending in the table');
  t.deepEqual(acks[0], [8200, 8200, 8200]);
});

test('a priority change applies after GICR_INVALLR, not before', (t) => {
  const cfg = gicConfig();
  const order: number[][] = [];
  const { acks } = runLpi({
    prepare: (gm) => writeConfig(gm, [[8500, cfgByte(0x80)], [8600, cfgByte(0x90)]]),
    body: function* (pe, acks) {
      if (pe !== 0) return;
      const both = function* (): Program {
        yield str(gicr(cfg, 0, 0x0040), 8600n, 8);
        yield str(gicr(cfg, 0, 0x0040), 8500n, 8);
        yield work(2000);
        const n = acks[0]!.length;
        yield daifclr(DAIF_I);
        yield work(5000);
        yield daifset(DAIF_I);
        order.push(acks[0]!.slice(n));
      };
      yield* both();
      yield str(PROP + 8500 - 8192, cfgByte(0xc0), 1);
      yield str(PROP + 8600 - 8192, cfgByte(0x40), 1);
      yield* both();
      yield* invalidateAllLpis(gicr(cfg, 0, 0));
      yield* both();
    },
  });
  t.deepEqual(order, [[8500, 8600], [8500, 8600], [8600, 8500]]);
  t.is(acks[0]!.length, 6);
});

for (const ptz of [false, true]) {
  test(`EnableLPIs with PTZ = ${ptz ? 1 : 0} ${ptz ? 'ignores' : 'reads'} pending bits already in the table`, (t) => {
    const { acks } = runLpi({
      ptz,
      prepare: (gm) => {
        writeConfig(gm, [[8195, cfgByte(0x90)], [9000, cfgByte(0x50)]]);
        gm.m.bus.memory.write8(pendOf(0) + (8195 >>> 3), 1 << (8195 & 7));
        gm.m.bus.memory.write8(pendOf(0) + (9000 >>> 3), 1 << (9000 & 7));
      },
    });
    t.deepEqual(acks[0], ptz ? [] : [9000, 8195]);
  });
}

test('an LPI whose configuration is not cached is presented lpiConfigFetch cycles later; once cached, at once', (t) => {
  const { g, acks } = runLpi({
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)]]),
    events: (gm) => [
      [60_000, () => gm.gic.setLpiPending(0, 8200)],
      [90_000, () => gm.gic.setLpiPending(0, 8200)],
    ],
  });
  t.deepEqual(acks[0], [8200, 8200]);
  const m = g.m;
  const fills = m.trace.of('gic-lpi').filter((r) => r.what === 'fill');
  t.is(fills.length, 1);
  t.is(fills[0]!.t, 60_000 + m.costs.lpiConfigFetch);
  const ack = m.trace.of('gic-ack');
  t.true(ack[0]!.t >= 60_000 + m.costs.lpiConfigFetch + m.costs.signalLatency);
  t.true(ack[1]!.t >= 90_000 + m.costs.signalLatency && ack[1]!.t < 90_000 + m.costs.lpiConfigFetch + 200);
});

test('LPIs are dropped while EnableLPIs = 0 and beyond PROPBASER.IDbits', (t) => {
  const results: boolean[] = [];
  runLpi({
    idBits: 14,
    prepare: (gm) => {
      results.push(gm.gic.setLpiPending(0, 8192));
      writeConfig(gm, [[16383, cfgByte(0xa0)]]);
    },
    events: (gm) => [
      [60_000, () => results.push(gm.gic.setLpiPending(0, 16383), gm.gic.setLpiPending(0, 16384), gm.gic.setLpiPending(1, 8192), gm.gic.setLpiPending(0, 8191))],
    ],
  });
  t.deepEqual(results, [false, true, false, false, false]);
});

test('GICR_CLRLPIR clears a pending LPI before it is taken, in memory too', (t) => {
  const cfg = gicConfig();
  let byte = -1;
  const { acks } = runLpi({
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)]]),
    body: function* (pe) {
      if (pe !== 0) return;
      yield str(gicr(cfg, 0, 0x0040), 8200n, 8);
      yield work(1000);
      yield str(gicr(cfg, 0, 0x0048), 8200n, 8);
      byte = yield ldr(pendOf(0) + (8200 >>> 3), 1);
    },
  });
  t.is(byte, 0);
  t.deepEqual(acks[0], []);
});

test('ICC_HPPIR1_EL1 reports the highest-priority pending LPI; IAR1 then acknowledges it', (t) => {
  let hppir = -1;
  const { acks } = runLpi({
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)], [8201, cfgByte(0x98)]]),
    events: (gm) => [[60_000, () => (gm.gic.setLpiPending(0, 8200), gm.gic.setLpiPending(0, 8201))]],
    body: function* (pe) {
      if (pe !== 0) return;
      yield work(100_000);
      hppir = yield mrs(ICC_HPPIR1_EL1);
    },
  });
  t.is(hppir, 8201);
  t.deepEqual(acks[0], [8201, 8200]);
});

test('LPIs are Group 1: GICD_CTLR.EnableGrp1 = 0 holds them back', (t) => {
  const cfg = gicConfig();
  const counts: number[] = [];
  const { acks } = runLpi({
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)]]),
    body: function* (pe, acks) {
      if (pe !== 0) return;
      yield str(gicd(cfg, 0), GICD_CTLR.encode({ ARE: 1 }));
      yield str(gicr(cfg, 0, 0x0040), 8200n, 8);
      yield daifclr(DAIF_I);
      yield work(3000);
      counts.push(acks[0]!.length);
      yield str(gicd(cfg, 0), GICD_CTLR.encode({ ARE: 1, EnableGrp1: 1 }));
      yield work(3000);
      counts.push(acks[0]!.length);
    },
  });
  t.deepEqual(counts, [0, 1]);
});

test('moveAllPending (MOVALL) moves every pending LPI to another redistributor, tables included', (t) => {
  let movedAt = 0;
  const { acks, g } = runLpi({
    lpiPes: [0, 1],
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0)], [8300, cfgByte(0xa0)]]),
    body: function* (pe) {
      // PE 0 keeps IRQs masked for a long time; its LPIs are moved away meanwhile.
      if (pe === 0) yield work(300_000);
    },
    events: (gm) => [
      [100_000, () => (gm.gic.setLpiPending(0, 8300), gm.gic.setLpiPending(0, 8200))],
      [
        150_000,
        () => {
          movedAt = gm.m.now;
          t.true(pendingBit(gm, 0, 8200) && pendingBit(gm, 0, 8300), 'pending at RD 0 before the move');
          gm.gic.moveAllPending(0, 1);
          t.false(pendingBit(gm, 0, 8200) || pendingBit(gm, 0, 8300), 'cleared at RD 0');
          t.true(pendingBit(gm, 1, 8200) && pendingBit(gm, 1, 8300), 'pending at RD 1');
        },
      ],
    ],
  });
  t.true(movedAt > 0);
  t.deepEqual(acks, [[], [8200, 8300], [], []]);
  t.false(pendingBit(g, 1, 8200));
});

test('rdFromRdbase: PTA = 0 names a processor number, PTA = 1 the RD frame address >> 16', (t) => {
  const g = buildGicMachine({ cores: 4 });
  const cfg = g.cfg;
  const stride = redistributorSize(cfg.version);
  t.is(g.gic.rdFromRdbase(2, false), 2);
  t.is(g.gic.rdFromRdbase(4, false), -1);
  t.is(g.gic.rdFromRdbase((cfg.gicrBase + 3 * stride) / 65536, true), 3);
  t.is(g.gic.rdFromRdbase((cfg.gicrBase + 0x10000) / 65536, true), -1, 'SGI_base is not an RD frame');
  t.is(g.gic.rdFromRdbase((cfg.gicrBase + 4 * stride) / 65536, true), -1);
  t.is(g.gic.rdFromRdbase(0, true), -1);
});

test('24-bit INTIDs: the highest LPI works like the lowest', (t) => {
  const top = 2 ** 24 - 1;
  const { acks } = runLpi({
    gicIdBits: 24,
    prepare: (gm) => writeConfig(gm, [[top, cfgByte(0x40)], [8192, cfgByte(0x40)]]),
    events: (gm) => [[60_000, () => (gm.gic.setLpiPending(0, top), gm.gic.setLpiPending(0, 8192))]],
  });
  t.deepEqual(acks[0], [8192, top]);
});

test('property: pending LPIs are acknowledged by priority, then by INTID, each exactly once', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ intid: fc.integer({ min: 8192, max: 65535 }), prio: fc.integer({ min: 0, max: 0x1d }) }), { selector: (x) => x.intid, minLength: 1, maxLength: 24 }),
        fc.integer({ min: 0, max: 0x1e }),
        (lpis, raised) => {
          // Priorities in steps of 8 (5 priority bits); below the PMR of 0xF0.
          const withPrio = lpis.map((l) => ({ intid: l.intid, prio: l.prio * 8 }));
          const { acks } = runLpi({
            prepare: (gm) => writeConfig(gm, withPrio.map((l) => [l.intid, cfgByte(l.prio)] as [number, number])),
            events: (gm) => [[60_000, () => withPrio.forEach((l) => gm.gic.setLpiPending(0, l.intid))]],
            body: function* (pe) {
              if (pe === 0) yield work(100_000 + raised);
            },
          });
          const want = withPrio.slice().sort((a, b) => a.prio - b.prio || a.intid - b.intid).map((l) => l.intid);
          return JSON.stringify(acks[0]) === JSON.stringify(want);
        },
      ),
      { numRuns: 25, seed: 7 },
    ),
  );
});

test('GICR_SYNCR.Busy is 1 while an invalidation re-fetches a pending LPI, then 0', (t) => {
  const cfg = gicConfig();
  const busy: number[] = [];
  runLpi({
    prepare: (gm) => writeConfig(gm, [[8200, cfgByte(0xa0, false)], [8201, cfgByte(0xa0, false)]]),
    body: function* (pe) {
      if (pe !== 0) return;
      // A pending LPI that is disabled (not a candidate): the invalidation must fetch its byte again.
      yield str(gicr(cfg, 0, 0x0040), 8200n, 8);
      yield work(1000);
      yield str(gicr(cfg, 0, 0x00a0), 8200n, 8);
      busy.push(yield ldr(gicr(cfg, 0, 0x00c0)));
      busy.push(yield ldr(gicr(cfg, 0, 0x00c0)));
      // Invalidating an LPI that is not pending only drops the cached byte: nothing to wait for.
      yield str(gicr(cfg, 0, 0x00a0), 8201n, 8);
      busy.push(yield ldr(gicr(cfg, 0, 0x00c0)));
    },
  });
  t.deepEqual(busy, [1, 0, 0]);
});
