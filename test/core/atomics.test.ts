/**
 * Synchronization instructions (Arm ARM B2.9, C6): LDXR/STXR and the exclusive monitors, the
 * FEAT_LSE atomics, LDAR/STLR, CLREX, SEVL and the WFE wake-up by a cleared global monitor.
 * Several PEs share memory and interleave at instruction granularity, so a lost update shows.
 */
import test from 'ava';
import fc from 'fast-check';
import { COST_PROFILES, DEFAULT_COSTS } from '../../core/costs.js';
import { EC, ESR, FSC, ISS_DABT } from '../../core/esr.js';
import { SimEvent } from '../../core/events.js';
import { RESERVATION_GRANULE } from '../../core/exclusive-monitor.js';
import { Machine, type MachineConfig } from '../../core/machine.js';
import {
  cas,
  clrex,
  eret,
  ldadd,
  ldar,
  ldaxr,
  ldclr,
  ldeor,
  ldr,
  ldset,
  ldxr,
  mrs,
  msr,
  ORD_ACQUIRE,
  ORD_RELEASE,
  sev,
  sevl,
  setx,
  stlr,
  stlxr,
  str,
  stxr,
  svc,
  swp,
  wfe,
  work,
  type Program,
} from '../../core/ops.js';
import { PeState, ProgramError } from '../../core/pe.js';
import type { AccessAttrs } from '../../core/bus.js';
import { ELR_EL1, ESR_EL1, FAR_EL1 } from '../../core/sysregs.js';
import { cpuOff, setup } from '../helpers/harness.js';

const CODE = 0x4000_0000;
/** Shared data, each in its own reservation granule. */
const COUNTER = 0x4800_0000;
const LOCK = 0x4800_1000;
const DATA = 0x4800_2000;
const DEV = 0x0900_0000;

/** A machine whose `cores` PEs all start at EL2 at time 0, PE i running `program(i)`. */
function machine(cores: number, program: (i: number) => Program, cfg: MachineConfig = {}): Machine {
  const m = new Machine({ cores, trace: true, ...cfg });
  for (let i = 0; i < cores; i++) {
    const entry = CODE + i * 0x1000;
    m.code.install(entry, () => program(i), `core${i}`);
    m.pes[i]!.powerOn(entry, 2, 0);
  }
  return m;
}

function allOff(m: Machine): boolean {
  return m.pes.every((p) => p.state === PeState.Off);
}

// ---------------------------------------------------------------- increment loops

/** `n` increments of the 4-byte COUNTER with an LDXR/STXR retry loop, `gap` cycles between load and store. */
function* incExclusive(n: number, gap: number): Program {
  for (let k = 0; k < n; k++) {
    for (;;) {
      const v: number = yield ldxr(COUNTER, 4, 1);
      yield work(gap);
      const status: number = yield stxr(COUNTER, v + 1, 4, 2, 3);
      if (status === 0) break;
    }
  }
  yield* cpuOff();
}

/** The same with a plain LDR/STR: nothing stops another PE's update landing in between. */
function* incPlain(n: number, gap: number): Program {
  for (let k = 0; k < n; k++) {
    const v: number = yield ldr(COUNTER, 4, 1);
    yield work(gap);
    yield str(COUNTER, v + 1, 4, 1);
  }
  yield* cpuOff();
}

function* incLdadd(n: number, gap: number): Program {
  for (let k = 0; k < n; k++) {
    yield ldadd(COUNTER, 1, 4, ORD_ACQUIRE | ORD_RELEASE, 1);
    yield work(gap);
  }
  yield* cpuOff();
}

function* incCas(n: number, gap: number): Program {
  for (let k = 0; k < n; k++) {
    let v: number = yield ldr(COUNTER, 4, 1);
    for (;;) {
      yield work(gap);
      const old: number = yield cas(COUNTER, v, v + 1, 4, ORD_ACQUIRE, 2, 3);
      if (old === v) break;
      v = old;
    }
  }
  yield* cpuOff();
}

const N = 200;
const GAP = 7;

for (const cores of [2, 4]) {
  test(`${cores} PEs incrementing a shared counter ${N} times each with LDXR/STXR lose no update; STXR retries happened`, (t) => {
    const m = machine(cores, () => incExclusive(N, GAP));
    m.run(1e8);
    t.true(allOff(m));
    t.is(m.bus.memory.read32(COUNTER), cores * N);
    const fails = m.pes.reduce((s, p) => s + p.counters.exclusiveFails, 0);
    t.true(fails > 0, 'the PEs contended: some STXR failed and retried');
    t.is(m.monitors.marks, 0);
  });

  test(`${cores} PEs incrementing with plain LDR/STR lose updates (the race the exclusives close)`, (t) => {
    const m = machine(cores, () => incPlain(N, GAP));
    m.run(1e8);
    t.true(allOff(m));
    const v = m.bus.memory.read32(COUNTER);
    t.true(v < cores * N, `final ${v}`);
    t.true(v >= N);
  });

  test(`${cores} PEs incrementing with LDADDAL lose no update`, (t) => {
    const m = machine(cores, () => incLdadd(N, GAP));
    m.run(1e8);
    t.true(allOff(m));
    t.is(m.bus.memory.read32(COUNTER), cores * N);
  });

  test(`${cores} PEs incrementing with a CASA loop lose no update`, (t) => {
    const m = machine(cores, () => incCas(N, GAP));
    m.run(1e8);
    t.true(allOff(m));
    t.is(m.bus.memory.read32(COUNTER), cores * N);
  });
}

test('property: random work between the ops of LDXR/STXR, LDADD and CAS increments on 2-4 PEs never loses an update', (t) => {
  const perCore = fc.record({
    gaps: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 12 }),
    kinds: fc.array(fc.constantFrom('xr', 'axr', 'ldadd', 'cas'), { minLength: 1, maxLength: 6 }),
    start: fc.nat({ max: 50 }),
  });
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(perCore, { minLength: 2, maxLength: 4 }), fc.integer({ min: 5, max: 30 }), (plans, n) => {
        const succeeded = plans.map(() => 0);
        const m = machine(plans.length, function* (i): Program {
          const { gaps, kinds, start } = plans[i]!;
          let g = 0;
          const gap = (): number => gaps[g++ % gaps.length]!;
          yield work(start);
          for (let k = 0; k < n; k++) {
            const kind = kinds[k % kinds.length]!;
            if (kind === 'ldadd') {
              yield ldadd(COUNTER, 1, 4, 0, 1);
            } else if (kind === 'cas') {
              let v: number = yield ldr(COUNTER, 4, 1);
              for (;;) {
                yield work(gap());
                const old: number = yield cas(COUNTER, v, v + 1, 4, 0, 2, 3);
                if (old === v) break;
                v = old;
              }
            } else {
              for (;;) {
                const v: number = yield kind === 'axr' ? ldaxr(COUNTER, 4, 1) : ldxr(COUNTER, 4, 1);
                yield work(gap());
                const status: number = yield kind === 'axr' ? stlxr(COUNTER, v + 1, 4, 2, 3) : stxr(COUNTER, v + 1, 4, 2, 3);
                if (status === 0) break;
              }
            }
            succeeded[i]!++;
            yield work(gap());
          }
          yield* cpuOff();
        });
        m.run(1e8);
        return allOff(m) && m.bus.memory.read32(COUNTER) === plans.length * n && succeeded.every((s) => s === n);
      }),
      { numRuns: 60, seed: 20261124 },
    ),
  );
});

// ---------------------------------------------------------------- a spinlock waiting in WFE

/** Linux's shape: SEVL; 1: WFE; LDAXR; CBNZ 1b; STXR; CBNZ 1b. */
function* lock(addr: number): Program {
  yield sevl();
  for (;;) {
    yield wfe();
    const v: number = yield ldaxr(addr, 4, 1);
    if (v !== 0) continue;
    const status: number = yield stxr(addr, 1, 4, 2, 3);
    if (status === 0) return;
  }
}

test('a test-and-set spinlock (LDAXR/STXR, WFE, STLR) makes a plain read-modify-write safe on 4 PEs; waiters sleep and wake on the monitor', (t) => {
  const n = 40;
  const m = machine(4, function* (): Program {
    for (let k = 0; k < n; k++) {
      yield* lock(LOCK);
      const v: number = yield ldr(COUNTER, 4, 1);
      yield work(50);
      yield str(COUNTER, v + 1, 4, 1);
      yield stlr(LOCK, 0, 4, 1);
      yield work(20);
    }
    yield* cpuOff();
  });
  m.run(1e8);
  t.true(allOff(m));
  t.is(m.bus.memory.read32(COUNTER), 4 * n);
  t.is(m.bus.memory.read32(LOCK), 0);
  const wakes = m.trace.of('wfi-wake');
  t.true(wakes.length > 0);
  t.true(wakes.every((w) => w.reason === 'monitor'), 'only the release (a store to the lock granule) woke the waiters');
});

// ---------------------------------------------------------------- WFE and the global monitor

test('a PE in WFE after LDAXR wakes (reason "monitor") when another PE stores to the marked granule', (t) => {
  let wokeAt = -1;
  const m = machine(2, function* (i): Program {
    if (i === 0) {
      yield ldaxr(LOCK, 4, 1);
      yield wfe();
      wokeAt = m.pes[0]!.now;
    } else {
      yield work(1000);
      yield str(LOCK + 8, 0, 4, 1); // another word of the same 64-byte granule
    }
    yield* cpuOff();
  });
  m.run(1e6);
  const wakes = m.trace.of('wfi-wake').filter((w) => w.core === 0);
  t.deepEqual(wakes.map((w) => w.reason), ['monitor']);
  t.true(wakes[0]!.t >= 1000 && wakes[0]!.t < 1010, `woke at ${wakes[0]!.t}`);
  t.is(wokeAt, wakes[0]!.t + m.costs.wfiWake);
  t.is(m.pes[0]!.eventRegister, false, 'the wake-up consumed the event');
});

test('a PE in WFE stays asleep through stores to other granules and wakes on SEV', (t) => {
  const m = machine(2, function* (i): Program {
    if (i === 0) {
      yield ldaxr(LOCK, 4, 1);
      yield wfe();
    } else {
      yield work(1000);
      yield str(LOCK + RESERVATION_GRANULE, 1, 4, 1);
      yield str(LOCK - 4, 1, 4, 1);
      yield work(2000);
      yield sev();
    }
    yield* cpuOff();
  });
  m.run(2000);
  t.is(m.pes[0]!.state, PeState.Wfe);
  m.run(1e6);
  const wakes = m.trace.of('wfi-wake').filter((w) => w.core === 0);
  t.deepEqual(wakes.map((w) => w.reason), ['event']);
  t.true(wakes[0]!.t > 3000);
});

test('a cleared global monitor sets the event register of a running PE: its next WFE falls through', (t) => {
  const m = machine(2, function* (i): Program {
    if (i === 0) {
      yield ldxr(LOCK, 8, 1);
      yield work(2000); // PE 1 stores meanwhile
      yield wfe();
    } else {
      yield work(500);
      yield str(LOCK, 1, 8, 1);
    }
    yield* cpuOff();
  });
  m.run(1e6);
  t.true(allOff(m));
  t.is(m.trace.of('wfi-sleep').filter((r) => r.core === 0).length, 0);
});

test('SEVL sets only the own event register: the first WFE falls through, the second sleeps', (t) => {
  const m = machine(2, function* (i): Program {
    if (i === 0) {
      yield sevl();
      yield wfe();
      yield wfe();
    } else {
      yield work(100);
      yield wfe(); // PE 0's SEVL did not reach PE 1
    }
    yield* cpuOff();
  });
  m.run(1e6);
  t.deepEqual(
    m.trace.of('wfi-sleep').map((r) => r.core).sort(),
    [0, 1],
  );
  t.is(m.pes[0]!.state, PeState.Wfe);
  t.is(m.pes[1]!.state, PeState.Wfe);
});

// ---------------------------------------------------------------- when STXR fails

/** LDXR of `addr`, `between` in the middle (with 1000 cycles of work), STXR of `stAddr`; returns the status. */
function exclusivePair(between: (m: Machine) => Program | null, stAddr = COUNTER, opts: { other?: (m: Machine) => Program; setupMachine?: (m: Machine) => void } = {}) {
  const out = { status: -1, m: undefined as unknown as Machine };
  const m = machine(opts.other ? 2 : 1, function* (i): Program {
    if (i === 1) {
      yield* opts.other!(m);
      return;
    }
    yield ldxr(COUNTER, 4, 1);
    const mid = between(m);
    if (mid !== null) yield* mid;
    yield work(1000);
    out.status = yield stxr(stAddr, 0xabcd, 4, 2, 3);
    yield* cpuOff();
  });
  opts.setupMachine?.(m);
  m.bus.memory.write32(COUNTER, 5);
  m.run(1e6);
  out.m = m;
  return out;
}

test('STXR with nothing in between succeeds: status 0 and the value stored', (t) => {
  const { status, m } = exclusivePair(() => null);
  t.is(status, 0);
  t.is(m.bus.memory.read32(COUNTER), 0xabcd);
});

test('STXR fails (status 1, no store) when another PE stored to the granule between LDXR and STXR', (t) => {
  const { status, m } = exclusivePair(() => null, COUNTER, {
    other: function* () {
      yield work(300);
      yield str(COUNTER + 60, 0x77, 4, 1);
      yield* cpuOff();
    },
  });
  t.is(status, 1);
  t.is(m.bus.memory.read32(COUNTER), 5);
  t.is(m.bus.memory.read32(COUNTER + 60), 0x77);
});

test('STXR still succeeds when another PE stored to a different granule or only read the word', (t) => {
  const { status, m } = exclusivePair(() => null, COUNTER, {
    other: function* () {
      yield work(300);
      yield str(COUNTER + RESERVATION_GRANULE, 0x77, 4, 1);
      yield ldr(COUNTER, 4, 1);
      yield ldxr(COUNTER + 2 * RESERVATION_GRANULE, 4, 1);
      yield* cpuOff();
    },
  });
  t.is(status, 0);
  t.is(m.bus.memory.read32(COUNTER), 0xabcd);
});

test('STXR fails when another PE completed its own exclusive pair on the granule in between', (t) => {
  const { status, m } = exclusivePair(() => null, COUNTER, {
    other: function* () {
      yield work(300);
      const v: number = yield ldxr(COUNTER, 4, 1);
      const s: number = yield stxr(COUNTER, v + 1, 4, 2, 3);
      if (s !== 0) throw new Error('the other PE should have won');
      yield* cpuOff();
    },
  });
  t.is(status, 1);
  t.is(m.bus.memory.read32(COUNTER), 6);
});

test('STXR fails after a write by another bus master (device DMA through write, GIC tables through write32/write8) to the granule', (t) => {
  const dev: AccessAttrs = { requester: 'device', id: 3 };
  const gic: AccessAttrs = { requester: 'gic', id: 0 };
  const writers: [string, (m: Machine) => void, number][] = [
    ['device write', (m) => m.bus.write(COUNTER + 8, 8, 1n, dev), 1],
    ['gic write32', (m) => m.bus.write32(COUNTER + 4, 1, gic), 1],
    ['device write8', (m) => m.bus.write8(COUNTER + 63, 1, dev), 1],
    ['device write to the next granule', (m) => m.bus.write(COUNTER + 64, 4, 1, dev), 0],
    ['device write straddling into the granule', (m) => m.bus.write(COUNTER - 2, 4, 0x10000, dev), 1],
  ];
  for (const [what, write, expected] of writers) {
    const { status, m } = exclusivePair(() => null, COUNTER, {
      setupMachine: (m) => m.events.schedule(new SimEvent('dma', 0, () => write(m)), 500),
    });
    t.is(status, expected, what);
    t.is(m.bus.memory.read32(COUNTER) === 0xabcd, expected === 0, what);
  }
});

test('STXR fails after CLREX', (t) => {
  const { status, m } = exclusivePair(function* () {
    yield clrex();
  });
  t.is(status, 1);
  t.is(m.bus.memory.read32(COUNTER), 5);
});

test('CHOICE: a PE\'s own plain store to its marked granule makes its STXR fail', (t) => {
  const { status, m } = exclusivePair(function* () {
    yield str(COUNTER + 16, 1, 4, 4);
  });
  t.is(status, 1);
  t.is(m.bus.memory.read32(COUNTER), 5);
});

test('STXR to a different granule than the LDXR fails; to another address of the same granule succeeds (CHOICE)', (t) => {
  const other = exclusivePair(() => null, COUNTER + RESERVATION_GRANULE);
  t.is(other.status, 1);
  t.is(other.m.bus.memory.read32(COUNTER + RESERVATION_GRANULE), 0);
  const same = exclusivePair(() => null, COUNTER + 32);
  t.is(same.status, 0);
  t.is(same.m.bus.memory.read32(COUNTER + 32), 0xabcd);
});

test('a second LDXR moves the mark: STXR to the first granule then fails', (t) => {
  const { status } = exclusivePair(function* () {
    yield ldxr(COUNTER + RESERVATION_GRANULE, 4, 4);
  });
  t.is(status, 1);
});

test('STXR fails after an exception return between LDXR and STXR (SVC handled at EL1, ERET); succeeds without it', (t) => {
  const run = (withSvc: boolean): { status: number; value: number } => {
    let status = -1;
    const m = setup({
      el: 1,
      el1Vectors: { curSpx: { sync: function* () { yield eret(); } } },
      main: function* () {
        yield ldxr(COUNTER, 4, 1);
        if (withSvc) yield svc(1);
        status = yield stxr(COUNTER, 9, 4, 2, 3);
        yield* cpuOff();
      },
    });
    m.run(1e6);
    return { status, value: m.bus.memory.read32(COUNTER) };
  };
  t.deepEqual(run(false), { status: 0, value: 9 });
  t.deepEqual(run(true), { status: 1, value: 0 });
});

// ---------------------------------------------------------------- LSE results and wrapping

test('8-byte atomics return bigint and wrap at 2^64; CAS returns the old value whether or not it swaps', (t) => {
  const seen: unknown[] = [];
  const W = DATA;
  const m = machine(1, function* (): Program {
    seen.push(yield ldadd(W, 3n, 8)); // 2^64 - 2 + 3 = 1
    seen.push(yield ldadd(W, -1, 8)); // 1 + (2^64 - 1) = 0
    seen.push(yield swp(W, 0x8000_0000_0000_0000n, 8, ORD_RELEASE));
    seen.push(yield cas(W, 0x8000_0000_0000_0000n, 5n, 8, ORD_ACQUIRE | ORD_RELEASE)); // swaps
    seen.push(yield cas(W, 4n, 6n, 8)); // compare fails: no store
    seen.push(yield ldclr(W, 4n, 8)); // 5 & ~4 = 1
    seen.push(yield ldset(W, 0xf0n, 8)); // 0xf1
    seen.push(yield ldeor(W, 0xffn, 8)); // 0x0e
    seen.push(yield ldxr(W, 8, 1));
    seen.push(yield stxr(W, 2n ** 64n - 1n, 8, 2, 3));
    seen.push(yield ldar(W, 8, 1));
    yield* cpuOff();
  });
  m.bus.memory.write64(W, 2n ** 64n - 2n);
  m.run(1e6);
  t.deepEqual(seen, [2n ** 64n - 2n, 1n, 0n, 0x8000_0000_0000_0000n, 5n, 5n, 1n, 0xf1n, 0x0en, 0, 2n ** 64n - 1n]);
  t.is(m.bus.memory.read64(W), 2n ** 64n - 1n);
});

test('1-, 2- and 4-byte atomics return numbers, wrap at their size and leave the neighbouring bytes alone', (t) => {
  const seen: unknown[] = [];
  const B = DATA;
  const H = DATA + 0x100;
  const Wd = DATA + 0x200;
  const m = machine(1, function* (): Program {
    seen.push(yield ldadd(B, 2, 1)); // 0xff + 2 = 0x01
    seen.push(yield ldeor(B + 1, 0xff, 1)); // 0xaa ^ 0xff = 0x55
    seen.push(yield ldadd(H, 5, 2)); // 0xfffe + 5 = 3
    seen.push(yield ldclr(H, 1, 2)); // 3 & ~1 = 2
    seen.push(yield ldset(H, 0x8000, 2)); // 0x8002
    seen.push(yield cas(H, 0x8002, 0x1_2345, 2)); // stores 0x2345 (truncated)
    seen.push(yield swp(H, -1, 2)); // 0xffff
    seen.push(yield ldadd(Wd, 0xffff_ffff, 4)); // 5 + (2^32 - 1) = 4
    seen.push(yield ldadd(Wd, -4, 4)); // 4 - 4 = 0
    seen.push(yield ldxr(Wd, 4, 1));
    seen.push(yield stlxr(Wd, 0x1_0000_0007, 4, 2, 3)); // stores the low 32 bits
    yield* cpuOff();
  });
  m.bus.memory.write8(B, 0xff);
  m.bus.memory.write8(B + 1, 0xaa);
  m.bus.memory.write8(B + 2, 0x33);
  m.bus.memory.write16(H, 0xfffe);
  m.bus.memory.write16(H + 2, 0x4444);
  m.bus.memory.write32(Wd, 5);
  m.bus.memory.write32(Wd + 4, 0x66);
  m.run(1e6);
  t.deepEqual(seen, [0xff, 0xaa, 0xfffe, 3, 2, 0x8002, 0x2345, 5, 4, 0, 0]);
  t.true(seen.every((v) => typeof v === 'number'));
  t.is(m.bus.memory.read8(B), 0x01);
  t.is(m.bus.memory.read8(B + 1), 0x55);
  t.is(m.bus.memory.read8(B + 2), 0x33);
  t.is(m.bus.memory.read16(H), 0xffff);
  t.is(m.bus.memory.read16(H + 2), 0x4444);
  t.is(m.bus.memory.read32(Wd), 7);
  t.is(m.bus.memory.read32(Wd + 4), 0x66);
});

test('atomics leave the old value in the architected register: X<t> for LDADD/SWP, X<s> for CAS (with X<t> the new value)', (t) => {
  const m = machine(1, function* (): Program {
    yield ldadd(DATA, 10, 4, 0, 7);
    yield cas(DATA, 3, 4, 4, 0, 8, 9);
    yield* cpuOff();
  });
  m.bus.memory.write32(DATA, 3);
  m.run(1e6);
  const x = m.pes[0]!.x;
  t.is(x[7], 3);
  t.is(x[8], 13); // CAS compare failed (13 != 3): X<s> holds the old value
  t.is(x[9], 4);
  t.is(m.bus.memory.read32(DATA), 13);
});

// ---------------------------------------------------------------- Device memory, alignment

interface Abort {
  el: number;
  ec: number;
  iss: ReturnType<typeof ISS_DABT.decode>;
  far: number;
}

/** An EL1 synchronous handler that logs the abort, then sets x<reg> = value from `replies` and skips the op. */
function abortHandler(log: Abort[], replies: [number, number | bigint][] = []) {
  return function* (): Program {
    const esr: number = yield mrs(ESR_EL1, 20);
    const far: number = yield mrs(FAR_EL1, 20);
    const elr: number = yield mrs(ELR_EL1, 20);
    log.push({ el: 1, ec: ESR.get(esr, 'EC'), iss: ISS_DABT.decode(ESR.get(esr, 'ISS')), far });
    const r = replies.shift();
    if (r !== undefined) yield setx(r[0], r[1]);
    yield msr(ELR_EL1, elr + 4, 20);
    yield eret();
  };
}

function addDevice(m: Machine, writes: unknown[]): void {
  m.bus.addMmio('dev', DEV, 0x1000, { read: (off) => 0x1200 + off, write: (_o, _s, v) => void writes.push(v) });
}

test('LDXR, STXR and LSE atomics to MMIO take a Data Abort at EL1 with DFSC 0x35, ISV 0; ERET to ELR + 4 completes them from the handler\'s registers', (t) => {
  const log: Abort[] = [];
  const got: unknown[] = [];
  const writes: unknown[] = [];
  const m = setup({
    el: 1,
    el1Vectors: { curSpx: { sync: abortHandler(log, [[5, 0x77], [6, 0x88], [8, 1], [9, 3]]) } },
    main: function* () {
      got.push(yield ldxr(DEV + 0x10, 4, 5));
      got.push(yield cas(DEV + 0x18, 0, 1, 8, 0, 6, 7));
      got.push(yield stxr(DEV + 0x20, 3, 4, 8, 9));
      got.push(yield ldadd(DEV + 0x28, 1, 8, 0, 9));
      yield* cpuOff();
    },
  });
  addDevice(m, writes);
  m.run(1e6);
  t.deepEqual(
    log.map((a) => [a.ec, a.iss.ISV, a.iss.WnR, a.iss.DFSC, a.far]),
    [
      [EC.DABT_CUR, 0, 0, 0x35, DEV + 0x10],
      [EC.DABT_CUR, 0, 1, 0x35, DEV + 0x18],
      [EC.DABT_CUR, 0, 1, 0x35, DEV + 0x20],
      [EC.DABT_CUR, 0, 1, 0x35, DEV + 0x28],
    ],
  );
  t.is(FSC.EXCL_ATOMIC, 0x35);
  // Results from the registers the handler set: rt for LDXR/LDADD, rs for CAS and STXR, bigint for 8 bytes.
  t.deepEqual(got, [0x77, 0x88n, 1, 3n]);
  t.deepEqual(writes, [], 'the device saw no access');
  t.is(m.trace.of('mmio').length, 0);
});

test('LDXR to MMIO from EL0 is taken to EL1 as a Data Abort from a lower EL (EC 0x24), DFSC 0x35', (t) => {
  const log: Abort[] = [];
  const m = setup({
    el: 0,
    el1Vectors: { lower64: { sync: abortHandler(log) } },
    main: function* () {
      yield ldxr(DEV, 8, 1);
      yield svc(0);
    },
  });
  addDevice(m, []);
  m.run(20_000);
  t.true(log.length >= 1);
  t.is(log[0]!.ec, EC.DABT_LOW);
  t.is(log[0]!.iss.DFSC, 0x35);
  t.is(log[0]!.iss.ISV, 0);
});

test('LDAR and STLR of MMIO work like LDR and STR (device access, mmio trace), costing the ordering on top', (t) => {
  const writes: unknown[] = [];
  let v: unknown;
  let cost = 0;
  const m = setup({
    el: 1,
    main: function* () {
      v = yield ldar(DEV + 0x40, 4, 3);
      const before = m.pes[0]!.now;
      yield stlr(DEV + 0x48, 0x99, 4, 4);
      cost = m.pes[0]!.now - before;
      yield* cpuOff();
    },
  });
  addDevice(m, writes);
  m.run(1e6);
  t.is(v, 0x1240);
  t.deepEqual(writes, [0x99]);
  t.deepEqual(m.trace.of('mmio').map((r) => [r.addr, r.write]), [[DEV + 0x40, false], [DEV + 0x48, true]]);
  t.is(cost, m.costs.mmioWrite + m.costs.acquireRelease);
});

test('misaligned LDXR, CAS and LDAR take an Alignment fault (DFSC 0x21) even in RAM; misaligned LDR does not', (t) => {
  const log: Abort[] = [];
  let plain: unknown;
  const m = setup({
    el: 1,
    el1Vectors: { curSpx: { sync: abortHandler(log) } },
    main: function* () {
      yield ldxr(DATA + 4, 8, 1);
      yield cas(DATA + 2, 0, 1, 4);
      yield ldar(DATA + 1, 2, 1);
      plain = yield ldr(DATA + 1, 4, 1);
      yield* cpuOff();
    },
  });
  m.bus.memory.write32(DATA, 0x44332211);
  m.run(1e6);
  t.deepEqual(log.map((a) => [a.iss.DFSC, a.iss.WnR, a.far]), [[0x21, 0, DATA + 4], [0x21, 1, DATA + 2], [0x21, 0, DATA + 1]]);
  t.is(plain, 0x443322);
});

test('an exclusive or atomic access nothing decodes is a synchronous external abort (DFSC 0x10)', (t) => {
  const log: Abort[] = [];
  const m = setup({
    el: 1,
    el1Vectors: { curSpx: { sync: abortHandler(log) } },
    main: function* () {
      yield ldxr(0x1_0000_0000, 4, 1);
      yield swp(0x1_0000_0000, 1, 4);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.deepEqual(log.map((a) => [a.ec, a.iss.DFSC, a.iss.WnR]), [[EC.DABT_CUR, 0x10, 0], [EC.DABT_CUR, 0x10, 1]]);
});

// ---------------------------------------------------------------- costs

test('each op charges its cost-table entry, plus acquireRelease for each ordering', (t) => {
  const costs = { exclusiveLoad: 7, exclusiveStore: 11, atomic: 37, acquireRelease: 3 };
  const d: Record<string, number> = {};
  const m = machine(
    1,
    function* (): Program {
      const pe = m.pes[0]!;
      let before = pe.now;
      const took = (name: string): void => {
        d[name] = pe.now - before;
        before = pe.now;
      };
      yield ldxr(DATA, 4, 1);
      took('ldxr');
      yield ldaxr(DATA, 4, 1);
      took('ldaxr');
      yield stxr(DATA, 1, 4, 2, 3);
      took('stxr');
      yield stlxr(DATA, 1, 4, 2, 3); // fails (no mark): same cost
      took('stlxr');
      yield clrex();
      took('clrex');
      yield ldadd(DATA, 1, 4);
      took('ldadd');
      yield ldadd(DATA, 1, 4, ORD_ACQUIRE | ORD_RELEASE);
      took('ldaddal');
      yield cas(DATA, 12345, 1, 4, ORD_RELEASE); // compare fails
      took('casl');
      yield swp(DATA, 1, 8, ORD_ACQUIRE);
      took('swpa');
      yield ldar(DATA, 4, 1);
      took('ldar');
      yield stlr(DATA, 1, 4, 1);
      took('stlr');
      yield sevl();
      took('sevl');
      yield* cpuOff();
    },
    { costs },
  );
  m.run(1e6);
  const c = m.costs;
  t.deepEqual(d, {
    ldxr: 7,
    ldaxr: 10,
    stxr: 11,
    stlxr: 14,
    clrex: c.op,
    ldadd: 37,
    ldaddal: 43,
    casl: 40,
    swpa: 40,
    ldar: c.memRead + 3,
    stlr: c.memWrite + 3,
    sevl: c.op,
  });
  t.is(m.pes[0]!.counters.exclusiveFails, 1);
});

test('the default cost table and every cost profile carry the new entries', (t) => {
  for (const k of ['exclusiveLoad', 'exclusiveStore', 'atomic', 'acquireRelease'] as const) {
    t.true(DEFAULT_COSTS[k] > 0, k);
    // The profiles derived from the default carry its entries; a machine's profile has its own (core/cost-profiles/).
    for (const p of COST_PROFILES) {
      if (p.machine === undefined) t.is(p.costs[k], DEFAULT_COSTS[k], `${p.name}.${k}`);
      else t.true(p.costs[k] > 0, `${p.name}.${k}`);
    }
    t.is(new Machine().costs[k], DEFAULT_COSTS[k]);
  }
});

test('the op-protocol check covers the new builders: yielding an op kept from before is refused', (t) => {
  const m = machine(1, function* (): Program {
    const kept = ldxr(DATA, 4, 1);
    yield ldadd(DATA, 1, 4);
    yield kept;
  });
  t.throws(() => m.run(1e6), { instanceOf: ProgramError });
});
