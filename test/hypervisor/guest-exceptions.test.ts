/**
 * What a guest sees of the exceptions the hypervisor injects or forwards: the syndrome, fault
 * address and saved PSTATE at its own EL1 vector, as hardware (or KVM) would present them.
 */
import test from 'ava';
import { EC, esrOf, ISS_DABT } from '../../core/esr.js';
import { ldr, mrs, msr, work, type Program } from '../../core/ops.js';
import { ESR_EL1, FAR_EL1, NZCV, SPSR_EL1 } from '../../core/sysregs.js';
import { Kernel, type KernelConfig } from '../../guests/kernel.js';
import { buildPlatform } from '../../scenarios/platform.js';

const BOOT = 3_000_000;
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
  p.m.run(BOOT);
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
