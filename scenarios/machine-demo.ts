/**
 * A demonstration of the bare machine (no GIC yet): EL2 code builds stage-2 tables, enters a
 * guest at EL1, and emulates the guest's accesses to a UART that is not mapped at stage 2;
 * the guest also makes hypercalls. Prints what the trace and counters saw.
 */
import { EC, ESR, ISS_DABT } from '../core/esr.js';
import { HCR_RW, HCR_VM } from '../core/hcr.js';
import { Machine } from '../core/machine.js';
import { eret, getx, hvc, isb, ldr, mrs, msr, restorex, savex, smc, str, work, type Program } from '../core/ops.js';
import { PSCI } from '../core/psci.js';
import { MODE, PSR_DAIF } from '../core/pstate.js';
import { S2_EXEC, S2_READ, S2_WRITE, VTTBR } from '../core/stage2.js';
import { s2Map, S2_VTCR } from '../core/stage2-tables.js';
import { ELR_EL2, ESR_EL2, FAR_EL2, HCR_EL2, HPFAR_EL2, SPSR_EL2, VBAR_EL2, VTCR_EL2, VTTBR_EL2 } from '../core/sysregs.js';

export interface MachineDemoResult {
  simulatedCycles: number;
  hostMs: number;
  uartText: string;
  hypercalls: number;
  el2Entries: number;
  cyclesAt: number[];
  traceRecords: number;
}

export function runMachineDemo(): MachineDemoResult {
  const m = new Machine({ cores: 1, trace: true, seed: 1 });
  const UART_IPA = 0x0900_0000;
  const GUEST_IPA = 0x4000_0000;
  const GUEST_PA = 0x6000_0000;
  let uart = '';
  let hypercalls = 0;
  let nextTable = 0x7000_1000;
  const regs: (number | bigint)[] = new Array(31).fill(0);

  m.code.install(GUEST_PA, function* guest(): Program {
    for (const ch of 'hello from EL1\n') yield str(UART_IPA, ch.charCodeAt(0), 4, 1);
    for (let i = 0; i < 100; i++) {
      yield work(1000);
      yield hvc(0, i);
    }
    const status: number = yield ldr(UART_IPA + 0x18, 4, 2);
    if (status !== 0) yield hvc(0xff);
    yield hvc(0xdead); // ask the hypervisor to power off
  });
  m.code.installVectors(0x4000_0800, {
    lower64: {
      sync: function* (): Program {
        yield savex(regs);
        const esr: number = yield mrs(ESR_EL2, 9);
        const elr: number = yield mrs(ELR_EL2, 9);
        if (ESR.get(esr, 'EC') === EC.HVC64) {
          hypercalls++;
          if ((esr & 0xffff) === 0xdead) yield smc(0, PSCI.SYSTEM_OFF);
        } else if (ESR.get(esr, 'EC') === EC.DABT_LOW) {
          const iss = ISS_DABT.decode(ESR.get(esr, 'ISS'));
          const far: number = yield mrs(FAR_EL2, 9);
          const hpfar: number = yield mrs(HPFAR_EL2, 9);
          const ipa = (hpfar - (hpfar % 16)) * 256 + (far % 4096);
          if (iss.WnR === 1 && ipa === UART_IPA) uart += String.fromCharCode(Number(yield getx(iss.SRT)));
          if (iss.WnR === 0) regs[iss.SRT] = 0; // UART status: transmit FIFO empty
          yield msr(ELR_EL2, elr + 4, 9);
        }
        yield restorex(regs);
        yield eret();
      },
    },
  });
  m.code.install(0x4000_0000, function* boot(): Program {
    yield msr(VBAR_EL2, 0x4000_0800);
    yield* s2Map(0x7000_0000, GUEST_IPA, GUEST_PA, 0x20_0000, S2_READ | S2_WRITE | S2_EXEC, () => (nextTable += 0x1000) - 0x1000);
    yield msr(VTTBR_EL2, VTTBR.encode({ VMID: 1, BADDR: 0x7000_0000 / 2 }));
    yield msr(VTCR_EL2, S2_VTCR);
    yield msr(HCR_EL2, HCR_RW | HCR_VM);
    yield isb();
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, GUEST_IPA);
    yield eret();
  });
  m.boot(0x4000_0000);
  const t0 = performance.now();
  m.run(1e9);
  const hostMs = performance.now() - t0;
  const pe = m.pes[0]!;
  return {
    simulatedCycles: m.now,
    hostMs,
    uartText: uart,
    hypercalls,
    el2Entries: pe.counters.exceptions[2]!,
    cyclesAt: [...pe.counters.cyclesAt],
    traceRecords: m.trace.records.length,
  };
}
