/** Micro-benchmarks of the bare machine: op dispatch and exception round trips. */
import { Machine } from '../core/machine.js';
import { eret, hvc, mrs, msr, nop, type Program } from '../core/ops.js';
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
