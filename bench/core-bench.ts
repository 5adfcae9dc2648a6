/** Micro-benchmarks of the bare machine: op dispatch, the op protocol, exception round trips. */
import { Machine } from '../core/machine.js';
import * as ops from '../core/ops.js';
import { eret, hvc, mrs, msr, nop, type Op, type Program } from '../core/ops.js';
import { ELR_EL2, SPSR_EL2, VBAR_EL2, TPIDR_EL1 } from '../core/sysregs.js';
import { MODE, PSR_DAIF } from '../core/pstate.js';

export interface BenchRow {
  name: string;
  unit: string;
  perSecond: number;
  nsPer: number;
  count: number;
  hostMs: number;
}

function time(name: string, unit: string, count: () => number, body: () => void): BenchRow {
  const t0 = performance.now();
  body();
  const hostMs = performance.now() - t0;
  const n = count();
  return { name, unit, count: n, hostMs, perSecond: (n / hostMs) * 1000, nsPer: (hostMs * 1e6) / n };
}

/** Simple ops (NOP, MRS/MSR of a plain register) at EL1. */
export function benchOps(n: number): BenchRow {
  const m = new Machine();
  m.code.install(0x4000_0000, function* (): Program {
    for (let i = 0; i < n; i += 3) {
      yield nop();
      const v: number = yield mrs(TPIDR_EL1, 1);
      yield msr(TPIDR_EL1, v + 1, 1);
    }
    for (;;) yield nop();
  });
  m.boot(0x4000_0000, { el: 1 });
  return time('PE ops (nop/mrs/msr)', 'ops', () => m.pes[0]!.counters.ops, () => m.run(n * 3));
}

/** The three ops of `benchOps`, as a sub-program. */
function* threeOps(): Program {
  yield nop();
  const v: number = yield mrs(TPIDR_EL1, 1);
  yield msr(TPIDR_EL1, v + 1, 1);
}

function* viaYieldStar(depth: number): Program {
  if (depth === 0) yield* threeOps();
  else yield* viaYieldStar(depth - 1);
}

/**
 * `benchOps`' ops from a hand-written iterator: a state machine that reuses one result object,
 * no generator. Not a way to write programs (Program is a generator type): it measures what
 * the generator protocol itself costs per op, the resumption and the result object, against
 * a program that has neither.
 */
class ThreeOpsMachine {
  private state = 0;
  private readonly result: IteratorResult<Op, void> = { value: nop(), done: false };
  next(v?: unknown): IteratorResult<Op, void> {
    const r = this.result as { value: Op; done: false };
    if (this.state === 0) {
      this.state = 1;
      r.value = nop();
    } else if (this.state === 1) {
      this.state = 2;
      r.value = mrs(TPIDR_EL1, 1);
    } else {
      this.state = 0;
      r.value = msr(TPIDR_EL1, (v as number) + 1, 1);
    }
    return r;
  }
}

/**
 * The op protocol per op (the ops of `benchOps`, NOP/MRS/MSR at EL1), by how the program is
 * written: a generator yielding them itself, the same three in a sub-program 3 levels below it
 * through `yield*` and through `call` (ops.ts; when the checkout has it), and a hand-written
 * iterator that is no generator (docs/speed-work.md "What bounds it now").
 */
export function benchProtocol(n: number): BenchRow[] {
  const run = (name: string, entry: () => Program<unknown>): BenchRow => {
    const m = new Machine();
    m.code.install(0x4000_0000, entry);
    m.boot(0x4000_0000, { el: 1 });
    return time(name, 'ops', () => m.pes[0]!.counters.ops, () => m.run(n * 3));
  };
  const rows = [
    run('op protocol: generator, top level', function* (): Program {
      // threeOps' body written out, not `yield* threeOps()`: this row is the ops with no sub-program.
      for (;;) {
        yield nop();
        const v: number = yield mrs(TPIDR_EL1, 1);
        yield msr(TPIDR_EL1, v + 1, 1);
      }
    }),
    run('op protocol: sub-program 3 levels down, yield*', function* (): Program {
      for (;;) yield* viaYieldStar(1);
    }),
  ];
  // `call` arrived with the speed work: a checkout from before it (bench --base) has none.
  const call = (ops as { call?: (sub: Program<unknown>) => Op }).call;
  if (call !== undefined) {
    function* viaCall(depth: number): Program {
      if (depth === 0) yield call!(threeOps());
      else yield call!(viaCall(depth - 1));
    }
    rows.push(
      run('op protocol: sub-program 3 levels down, call', function* (): Program {
        for (;;) yield call(viaCall(1));
      }),
    );
  }
  rows.push(run('op protocol: hand-written iterator', () => new ThreeOpsMachine() as unknown as Program<unknown>));
  return rows;
}

/** HVC from EL1 to EL2 and ERET back. */
export function benchHypercalls(n: number): BenchRow {
  const m = new Machine();
  m.code.installVectors(0x4000_0800, { lower64: { sync: function* (): Program { yield eret(); } } });
  m.code.install(0x4000_0000, function* (): Program {
    yield msr(VBAR_EL2, 0x4000_0800);
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, 0x4001_0000);
    yield eret();
  });
  m.code.install(0x4001_0000, function* (): Program {
    for (;;) yield hvc(0);
  });
  m.boot(0x4000_0000);
  const pe = m.pes[0]!;
  return time('HVC round trips (EL1->EL2->EL1)', 'calls', () => pe.counters.exceptions[2]!, () => {
    while (pe.counters.exceptions[2]! < n) m.runFor(1e6);
  });
}
