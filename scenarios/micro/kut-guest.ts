/**
 * The guest of the kvm-unit-tests arm/micro-bench set (kvm-unit-tests arm/micro-bench.c), as a
 * kernel of the framework (guests/kernel.ts) using the driver library: CPU 0 runs the tests,
 * CPU 1 takes the interrupts they send. It is scenario-side (it exists for the micro-benchmark
 * harness, scenarios/micro/kvm-unit-tests.ts), as the suite's own guest is.
 *
 * As in the suite:
 * - CPU 1 (`gic_secondary_entry`) enables its interrupts and spins (`cpu_relax`): it never
 *   executes WFI, so an interrupt sent to it finds it running guest code (a kick under a
 *   hypervisor). Its handler sets `irq_received` (a word in guest RAM) and the framework ends
 *   the interrupt (ICC_IAR1_EL1 read before, ICC_EOIR1_EL1 write after).
 * - The timing is the suite's whole-loop method (since kvm-unit-tests 8074c5c2, 2023-11):
 *   `dsb ish; isb; start = CNTVCT; isb; for N: exec(); dsb ish; isb; end = CNTVCT`; the mean is
 *   (end - start) / N counter ticks. Each iteration also pays the loop itself (`LOOP_CYCLES`).
 * - Tests: `hvc` (SMCCC function 0x4b000000, unknown: NOT_SUPPORTED), `mmio_read_vgic` (a read
 *   of GICD_IIDR), `eoi` (ICC_EOIR1_EL1 = 1023, the spurious INTID: ignored, not trapped), `ipi`
 *   (SGI 1 to CPU 1 through ICC_SGI1R_EL1, then spin until it was handled), `lpi` (an INT
 *   command of device 2 / event 20, mapped at boot to LPI 8199 on CPU 1's collection, through
 *   the guest's ITS: the command queue, GITS_CWRITER and GITS_CREADR polling are the driver
 *   library's ItsDriver; then spin until handled), `timer_10ms` (CNTV_CVAL = now + CNTFRQ/100,
 *   CNTV_CTL = ENABLE, isb, spin until the virtual timer's PPI 27 was handled on CPU 0, whose
 *   handler masks the timer, CNTV_CTL.IMASK, and executes an ISB; the 10 ms are subtracted).
 *
 * CHOICE (simulation time, not a change of what is measured): while the timer test waits, the
 * guest spends the time until 5 us before the deadline in WORK ops of at most 50 us, each ended
 * by the counter (straight-line code; any interrupt is still taken between its instructions),
 * and only then polls the flag, so a 10 ms wait is not hundreds of thousands of simulated
 * polls. Nothing it waits for can happen before the deadline.
 */
import { dsb, hvc, isb, ldr, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { CNTFRQ_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0, CNTVCT_EL0, CTL_ENABLE, CTL_IMASK } from '../../core/timer.js';
import { sendSgi, writeEoir1 } from '../../drivers/gic-init.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { GICD_CTLR, GICD_TYPER2 } from '../../gic/gic-registers.js';
import { KERNEL_READY_OFFSET, Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';

export const KUT_TESTS = ['hvc', 'mmio_read_vgic', 'eoi', 'ipi', 'lpi', 'timer_10ms'] as const;
/**
 * Tests run only when asked for: `ipi_hw` (the suite's ipi_hw_prep: when GICD_TYPER2.nASSGIcap = 1,
 * disable Group 1, set GICD_CTLR.nASSGIreq, enable Group 1 again, then `ipi`'s body; skipped, no
 * result, when nASSGIcap = 0). `ipi` then clears nASSGIreq the same way first (ipi_prep).
 */
export const KUT_EXTRA_TESTS = ['ipi_hw'] as const;
export type KutTest = (typeof KUT_TESTS)[number] | (typeof KUT_EXTRA_TESTS)[number];

/** The LPI test's device, event and LPI (kvm-unit-tests lpi_prep: device 2, event 20, LPI 8199). */
export const KUT_LPI = { deviceId: 2, eventId: 20, intid: 8199 } as const;
const IPI_SGI = 1;
const VTIMER_PPI = 27;
/** The unknown SMCCC function the hvc test calls (kvm-unit-tests hvc_exec). */
const SMCCC_UNKNOWN = 0x4b00_0000;
/** Cycles of the benchmark loop per iteration: increment, compare, branch, the indirect call and its return. */
export const LOOP_CYCLES = 7;
/** Offset in guest RAM of `irq_received`. */
const FLAG_OFFSET = 0x380;

export interface KutResult {
  readonly test: KutTest;
  readonly iterations: number;
  /** Counter ticks of the whole loop (for timer_10ms, less the N x 10 ms waited). */
  readonly ticks: number;
  /** CNTFRQ_EL0 as the guest read it. */
  readonly cntfrq: number;
}

export class KutKernel extends Kernel {
  readonly results: KutResult[] = [];
  done = false;

  constructor(
    cfg: KernelConfig,
    readonly tests: readonly KutTest[],
    readonly iterations: (t: KutTest) => number,
  ) {
    super(cfg);
    const flag = cfg.ramBase + FLAG_OFFSET;
    const k = this;
    function* received(): Program {
      yield str(flag, 1, 4, 1);
    }
    this.onIrq(IPI_SGI, received);
    this.onIrq(KUT_LPI.intid, received);
    this.onIrq(VTIMER_PPI, function* (): Program {
      yield msr(CNTV_CTL_EL0, CTL_ENABLE | CTL_IMASK, 1);
      yield isb();
      yield* received();
    });
    this.main = function* (cpu: KernelCpu): Program {
      if (cpu.index !== 0) {
        for (;;) yield work(1_000_000);
      }
      // Wait until every CPU is up (the kernel's readiness word).
      for (;;) {
        const up: number = yield ldr(cfg.ramBase + KERNEL_READY_OFFSET, 4, 1);
        if (up >= cfg.cpus) break;
        yield work(1000);
      }
      const cntfrq: number = yield mrs(CNTFRQ_EL0, 1);
      for (const t of k.tests) {
        if (t === 'ipi' || t === 'ipi_hw') {
          // ipi_prep / ipi_hw_prep: nASSGIreq can be changed only while the distributor is disabled.
          const typer2: number = yield ldr(cfg.gicd + GICD.TYPER2, 4, 1);
          if (GICD_TYPER2.get(typer2, 'nASSGIcap') === 1) {
            const ctlr: number = yield ldr(cfg.gicd + GICD.CTLR, 4, 1);
            const v = GICD_CTLR.set(GICD_CTLR.set(ctlr, 'EnableGrp1', 0), 'nASSGIreq', t === 'ipi_hw' ? 1 : 0);
            yield str(cfg.gicd + GICD.CTLR, v, 4, 1);
            yield str(cfg.gicd + GICD.CTLR, GICD_CTLR.set(v, 'EnableGrp1', 1), 4, 1);
          } else if (t === 'ipi_hw') continue;
        }
        const n = k.iterations(t);
        const exec = k.exec(t, cpu, flag, cntfrq);
        yield dsb();
        yield isb();
        const start: number = yield mrs(CNTVCT_EL0, 1);
        yield isb();
        for (let i = 0; i < n; i++) {
          yield work(LOOP_CYCLES);
          yield* exec();
        }
        yield dsb();
        yield isb();
        const end: number = yield mrs(CNTVCT_EL0, 1);
        const waited = t === 'timer_10ms' ? n * Math.floor(cntfrq / 100) : 0;
        k.results.push({ test: t, iterations: n, ticks: end - start - waited, cntfrq });
      }
      k.done = true;
      for (;;) yield work(1_000_000);
    };
  }

  /** The body of one iteration of test `t`. */
  private exec(t: KutTest, cpu: KernelCpu, flag: number, cntfrq: number): () => Program {
    const gicd = this.config.gicd;
    const k = this;
    function* spin(): Program {
      for (;;) {
        const got: number = yield ldr(flag, 4, 1);
        if (got !== 0) return;
        yield work(1); // cpu_relax
      }
    }
    switch (t) {
      case 'hvc':
        return function* () {
          yield hvc(0, SMCCC_UNKNOWN);
        };
      case 'mmio_read_vgic':
        return function* () {
          yield ldr(gicd + GICD.IIDR, 4, 1);
        };
      case 'eoi':
        return function* () {
          yield writeEoir1(1023);
        };
      case 'ipi':
      case 'ipi_hw':
        return function* () {
          yield str(flag, 0, 4, 1);
          yield dsb(); // wmb
          yield* sendSgi(IPI_SGI, 1);
          yield* spin();
        };
      case 'lpi':
        return function* () {
          yield str(flag, 0, 4, 1);
          yield* k.itsSend(cpu, [ItsCmd.INT({ DeviceID: KUT_LPI.deviceId, EventID: KUT_LPI.eventId })]);
          yield* spin();
        };
      case 'timer_10ms':
        return function* () {
          yield str(flag, 0, 4, 1);
          const now: number = yield mrs(CNTVCT_EL0, 1);
          const deadline = now + Math.floor(cntfrq / 100);
          yield msr(CNTV_CVAL_EL0, deadline, 1);
          yield msr(CNTV_CTL_EL0, CTL_ENABLE, 1);
          yield isb();
          // Straight-line code in chunks until 5 us before the deadline (see CHOICE above), then
          // poll. Each chunk ends by the counter, not by its length: time the core spends at EL2
          // meanwhile (the hypervisor's timer ticks) must not push the polling past the expiry.
          const margin = Math.ceil((5 * cntfrq) / 1e6);
          const chunk = Math.ceil((50 * cntfrq) / 1e6);
          for (;;) {
            const now: number = yield mrs(CNTVCT_EL0, 1);
            const left = deadline - margin - now;
            if (left <= 0) break;
            yield work(Math.min(left, chunk) * k.cyclesPerTick);
          }
          yield* spin();
        };
    }
  }

  /** Core cycles per counter tick, for the WORK op of the timer wait (set by the harness from the clock). */
  cyclesPerTick = 1;
}
