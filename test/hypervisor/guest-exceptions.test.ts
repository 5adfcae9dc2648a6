/**
 * What a guest sees of the exceptions the hypervisor injects or forwards: the syndrome, fault
 * address and saved PSTATE at its own EL1 vector, as hardware (or KVM) would present them.
 */
import test from 'ava';
import { EC, esrOf, ISS_DABT } from '../../core/esr.js';
import { ldr, mrs, msr, smc, work, type Program } from '../../core/ops.js';
import { PSCI, PSCI_VERSION_1_0 } from '../../core/psci.js';
import { SMCCC_NOT_SUPPORTED } from '../../core/smccc.js';
import { ESR_EL1, FAR_EL1, NZCV, SPSR_EL1 } from '../../core/sysregs.js';
import { CNTKCTL_EL1 } from '../../core/timer.js';
import { idleLoop, Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { IPI_SGI, IpiKernel } from '../../guests/samples.js';
import { ICC_SGIR } from '../../gic/gic-registers.js';
import { ICC_SGI1R_EL1 } from '../../gic/sysregs.js';
import { bootGuests, buildPlatform } from '../../scenarios/platform.js';

/** The guest kernel's per-CPU vectors (guests/kernel.ts): RAM base + 0x1000 + 0x800 * cpu. */
const VECTORS_OFFSET = 0x1000;
const CUR_SPX_SYNC = 0x200;

test('an access nothing maps: the guest takes an external data abort at EL1 (EC 0x25, DFSC 0x10, FAR), with its NZCV kept', (t) => {
  const seen: { esr: number; far: number; spsr: number; nzcv: number }[] = [];
  const p = buildPlatform({
    cores: 1,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        kernel: (c: KernelConfig) => {
          const k = new Kernel(c);
          k.main = function* (): Program {
            yield msr(NZCV, 0x90000000, 1); // N and V
            yield ldr(0x2000_0000, 4, 3); // nothing is mapped there
          };
          return k;
        },
      },
    ],
  });
  // The guest's own synchronous-exception vector (current EL, SP_EL1) for vCPU 0.
  p.m.code.install(p.vmRamPa[0]! + VECTORS_OFFSET + CUR_SPX_SYNC, function* (): Program {
    const esr: number = yield mrs(ESR_EL1, 1);
    const far: number = yield mrs(FAR_EL1, 1);
    const spsr: number = yield mrs(SPSR_EL1, 1);
    const nzcv: number = yield mrs(NZCV, 1);
    seen.push({ esr, far, spsr, nzcv });
    for (;;) yield work(100_000);
  });
  bootGuests(p);
  p.m.runFor(100_000); // main runs after the ready signal: its MSR and the faulting LDR
  t.is(seen.length, 1);
  const s = seen[0]!;
  t.is(s.esr, esrOf(EC.DABT_CUR, ISS_DABT.encode({ DFSC: 0x10 })));
  t.is(s.far, 0x2000_0000);
  // SPSR_EL1: the interrupted PSTATE, NZCV included, from EL1h.
  t.is(s.spsr >>> 28, 0x9);
  t.is(s.spsr & 0xf, 0b0101);
  // Exception entry does not change NZCV.
  t.is(s.nzcv, 0x90000000);
});

test('CNTKCTL_EL1 is part of a vCPU context: two VMs sharing a core each read back their own value', (t) => {
  const seen: number[][] = [[], []];
  const values = [0x3, 0x300];
  const p = buildPlatform({
    cores: 1,
    sliceUs: 100,
    vms: [0, 1].map((i) => ({
      name: `vm${i}`,
      vcpus: 1,
      kernel: (c: KernelConfig) => {
        const k = new Kernel(c);
        k.main = function* (): Program {
          yield msr(CNTKCTL_EL1, values[i]!, 1);
          for (;;) {
            yield work(50_000);
            seen[i]!.push(yield mrs(CNTKCTL_EL1, 1));
          }
        };
        return k;
      },
    })),
  });
  bootGuests(p);
  p.m.runFor(2_000_000);
  t.true(p.hyp.stats.switches > 10, `${p.hyp.stats.switches} switches`);
  t.true(seen[0]!.length > 5 && seen[1]!.length > 5);
  t.true(seen[0]!.every((v) => v === 0x3), JSON.stringify(seen[0]));
  t.true(seen[1]!.every((v) => v === 0x300), JSON.stringify(seen[1]));
});

test('a trapped ICC_SGI1R_EL1 write targets Aff3.Aff2.Aff1.<RS * 16 + n>: RS or Aff3 naming no vCPU sends nothing', (t) => {
  let k!: IpiKernel;
  const p = buildPlatform({
    cores: 2,
    vms: [
      {
        name: 'vm',
        vcpus: 2,
        kernel: (c: KernelConfig) => {
          k = new IpiKernel(c);
          k.onIrq(IPI_SGI, function* (cpu: KernelCpu): Program {
            k.received[cpu.index]!++;
          });
          k.main = function* (cpu: KernelCpu): Program {
            if (cpu.index === 0) {
              yield work(50_000);
              // TargetList bit 1 with RS = 1 names Aff0 = 17; with Aff3 = 1, cluster 1.0.0: nobody.
              yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: IPI_SGI, TargetList: 0b10, RS: 1 }), 1);
              yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: IPI_SGI, TargetList: 0b10, Aff3: 1 }), 1);
              yield work(50_000);
              // RS = 0: Aff0 = 1, vCPU 1.
              yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: IPI_SGI, TargetList: 0b10 }), 1);
            }
            yield* idleLoop();
          };
          return k;
        },
      },
    ],
  });
  bootGuests(p);
  p.m.runFor(1_000_000);
  t.is(p.hyp.stats.guestSgis, 3);
  t.deepEqual(k.received, [0, 1]);
});

test('a guest SMC trapped by HCR_EL2.TSC: #0 is served as an SMCCC call, a nonzero immediate gets NOT_SUPPORTED (as KVM)', (t) => {
  const rets: unknown[] = [];
  const p = buildPlatform({
    cores: 1,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        kernel: (c: KernelConfig) => {
          const k = new Kernel(c);
          k.main = function* (): Program {
            rets.push(yield smc(0, PSCI.VERSION));
            rets.push(yield smc(1, PSCI.VERSION));
            for (;;) yield work(100_000);
          };
          return k;
        },
      },
    ],
  });
  bootGuests(p);
  p.m.runFor(100_000); // main runs after the ready signal: its two SMCs
  t.deepEqual(rets, [PSCI_VERSION_1_0, SMCCC_NOT_SUPPORTED]);
});
