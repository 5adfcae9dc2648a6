/**
 * The guest every example hypervisor runs: a few instructions at EL1 whose GIC is the virtual
 * CPU interface (with HCR_EL2.IMO = 1, the guest's ICC_* accesses reach ICV_*, IHI 0069,
 * "Virtual interrupt handling and prioritization"). It opens its priority mask, enables Group 1
 * and waits for interrupts in WFI (or computes for `busyCycles` first); its IRQ handler reads
 * ICV_IAR1_EL1, appends the INTID to a log in its memory (computes for `handlerCycles`, if
 * given, with the interrupt Active) and writes ICV_EOIR1_EL1. With several
 * vCPUs, each CPU logs to its own log (TPIDR_EL1 says which CPU it is, as the hypervisor set it).
 */
import { daifclr, DAIF_I, eret, ldadd, mrs, msr, str, wfi, work, type Program } from '../core/ops.js';
import { TPIDR_EL1, VBAR_EL1 } from '../core/sysregs.js';
import type { Board } from '../gic/board.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1 } from '../gic/sysregs.js';

/** Bytes of one CPU's log: a count, then the INTIDs read. */
const LOG_BYTES = 0x10_0000;

export interface TinyGuest {
  /** Where its code starts (the ELR_EL2 to ERET to). */
  readonly entry: number;
  /** Where its logs are (CPU i at log + i * LOG_BYTES). */
  readonly log: number;
  /** Cycles of work before it first waits in WFI. */
  readonly busyCycles?: number;
  /** Cycles its IRQ handler computes between the acknowledge and the EOI (default none). */
  readonly handlerCycles?: number;
}

/** Installs the guest's code and vectors at `g.entry` (code-map labels; its logs are RAM at `g.log`). */
export function installTinyGuest(b: Board, g: TinyGuest): void {
  const m = b.m;
  m.code.install(g.entry, function* (): Program {
    yield msr(VBAR_EL1, g.entry + 0x800);
    yield msr(ICC_PMR_EL1, 0xf0);
    yield msr(ICC_IGRPEN1_EL1, 1);
    yield daifclr(DAIF_I);
    if (g.busyCycles !== undefined) yield work(g.busyCycles);
    for (;;) yield wfi();
  }, 'guest');
  m.code.installVectors(g.entry + 0x800, {
    curSpx: {
      irq: function* (): Program {
        const iar: number = yield mrs(ICC_IAR1_EL1);
        const log = g.log + LOG_BYTES * ((yield mrs(TPIDR_EL1)) as number);
        const n: number = yield ldadd(log, 1, 4);
        yield str(log + 4 + 4 * n, iar);
        if (g.handlerCycles !== undefined) yield work(g.handlerCycles);
        yield msr(ICC_EOIR1_EL1, iar);
        yield eret();
      },
    },
  }, 'guest.vectors');
}

/** What CPU `cpu` of the guest read from ICV_IAR1_EL1, in order (from its log in memory). */
export function guestLog(b: Board, g: TinyGuest, cpu = 0): number[] {
  const mem = b.m.bus.memory;
  const log = g.log + LOG_BYTES * cpu;
  return Array.from({ length: mem.read32(log) }, (_, i) => mem.read32(log + 4 + 4 * i));
}
