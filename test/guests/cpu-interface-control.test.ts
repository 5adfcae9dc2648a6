/**
 * The guest kernel framework's control of its CPU interface (guests/kernel.ts): the priority
 * mask (ICC_PMR_EL1), the binary point (ICC_BPR1_EL1), its own IRQ vector entry, and handlers
 * that end their interrupt themselves (ICC_EOIR1_EL1, then ICC_DIR_EL1 when they choose, in
 * EOImode 1). Each kernel runs in a VM and on bare metal at EL1, unchanged.
 */
import test from 'ava';
import { EC } from '../../core/esr.js';
import { eret, msr, restorex, savex, wfi, work, type Program } from '../../core/ops.js';
import { CNTV_CTL_EL0, CNTV_TVAL_EL0 } from '../../core/timer.js';
import { cpuAffinity } from '../../drivers/affinity.js';
import { irqFrame, readIntidBit, sendSgi, setIrqPriority } from '../../drivers/gic-init.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { ICC_PMR_EL1 } from '../../gic/sysregs.js';
import { Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { inVm, onBareMetal, runChainBareMetal, runChainInVm } from './chain-kernel.js';

const WHERE = ['vm', 'bare metal'] as const;

/** Runs `build`'s kernel in a VM (4 LRs) or on bare metal until `done` says so; returns the kernel. */
function run<K extends Kernel>(where: (typeof WHERE)[number], build: (cfg: KernelConfig) => K, done: (k: K) => boolean): K {
  if (where === 'vm') {
    const { p, k } = inVm(4, build);
    for (let i = 0; i < 100 && !done(k); i++) p.m.runFor(20_000);
    return k;
  }
  const { m, k } = onBareMetal(build);
  for (let i = 0; i < 100 && !done(k); i++) m.runFor(20_000);
  return k;
}

class LogKernel extends Kernel {
  readonly log: string[] = [];
  finished = false;
}

for (const where of WHERE) {
  test(`${where}: ICC_PMR_EL1 from the kernel's configuration holds an interrupt at the mask back until the kernel lowers its priority threshold`, (t) => {
    const k = run(
      where,
      (cfg) => {
        const k = new LogKernel({ ...cfg, pmr: 0x80 });
        k.onIrq(1, function* (): Program {
          k.log.push('sgi1');
        });
        k.onIrq(2, function* (): Program {
          k.log.push('sgi2');
        });
        k.main = function* (cpu: KernelCpu): Program {
          yield setIrqPriority(cfg.gicd, cpu.rd, 1, 0x80); // not below PMR: masked
          yield setIrqPriority(cfg.gicd, cpu.rd, 2, 0x70);
          yield* sendSgi(1, cpuAffinity(cpu.index));
          yield* sendSgi(2, cpuAffinity(cpu.index));
          for (let i = 0; i < 500; i++) yield work(20);
          k.log.push('pmr 0x90');
          yield msr(ICC_PMR_EL1, 0x90, 1);
          for (let i = 0; i < 500; i++) yield work(20);
          k.finished = true;
        };
        return k;
      },
      (k) => k.finished,
    );
    t.deepEqual(k.log, ['sgi2', 'pmr 0x90', 'sgi1']);
  });

  test(`${where}: ICC_BPR1_EL1 from the kernel's configuration decides whether 0x10 preempts 0x18 (group priority)`, (t) => {
    const links = [
      { intid: 3, priority: 0x18 },
      { intid: 4, priority: 0x10 },
    ];
    for (const [bpr1, preempts] of [
      [0, true], // the minimum, 3 with 5 priority bits: group priorities 0x18 and 0x10 differ
      [4, false], // group priority = priority & 0xF0: both 0x10, so no preemption
    ] as const) {
      const o = { links, eoiMode: 0 as const, bpr1 };
      const k = where === 'vm' ? runChainInVm(4, o).k : runChainBareMetal(o).k;
      // Without preemption SGI 3's handler waits in vain for SGI 4, which its priority drop lets in.
      t.deepEqual(k.events, preempts ? ['ack 3', 'ack 4', 'eoi 4', 'eoi 3'] : ['ack 3', 'eoi 3', 'ack 4', 'eoi 4'], `BPR1 ${bpr1}`);
      t.is(k.timeouts, preempts ? 0 : 1);
      t.deepEqual(k.end, { rpr: 0xff, hppir: 1023, active: 0 });
    }
  });

  test(`${where}: a kernel's own IRQ vector entry (onIrqEntry) built from the framework's acknowledge and its own EOI and deferred DIR (EOImode 1)`, (t) => {
    const k = run(
      where,
      (cfg) => {
        const k = new LogKernel({ ...cfg, eoiMode: 1 });
        const saved = new Array<number | bigint>(31).fill(0);
        // Its own entry: acknowledge, priority drop at once, deactivation left to the main loop.
        k.onIrqEntry(function* (cpu: KernelCpu): Program {
          yield savex(saved);
          const intid = yield* k.acknowledge(cpu);
          if (intid !== 1023) {
            k.log.push(`entry ${intid} depth ${cpu.depth}`);
            yield k.eoi(intid);
          }
          yield restorex(saved);
          yield eret();
        });
        k.main = function* (cpu: KernelCpu): Program {
          const active = (): Program<boolean> => readIntidBit(irqFrame(cfg.gicd, cpu.rd, 5), GICD.ISACTIVER, 5);
          yield* sendSgi(5, cpuAffinity(cpu.index));
          for (let i = 0; i < 200; i++) yield work(20);
          k.log.push(`active ${String(yield* active())}`);
          // Raised again while still active: it stays pending behind its own active state.
          yield* sendSgi(5, cpuAffinity(cpu.index));
          for (let i = 0; i < 200; i++) yield work(20);
          k.log.push(`dir`);
          yield k.deactivate(5);
          for (let i = 0; i < 200; i++) yield work(20);
          k.log.push(`active ${String(yield* active())}`);
          yield k.deactivate(5);
          k.log.push(`active ${String(yield* active())}`);
          k.finished = true;
        };
        return k;
      },
      (k) => k.finished,
    );
    t.deepEqual(k.log, ['entry 5 depth 0', 'active true', 'dir', 'entry 5 depth 0', 'active true', 'active false']);
    t.is(k.cpus[0]!.irqs, 2);
    t.is(k.cpus[0]!.unhandled, 0);
  });
}

test('vm: a guest that dropped its priority (EOImode 1) and waits in WFI before its DIR blocks: the active interrupt is no work for WFI', (t) => {
  const { p, k } = inVm(4, (cfg) => {
    const k = new LogKernel({ ...cfg, eoiMode: 1, ppis: [27] });
    k.onIrq(6, function* (): Program {
      k.log.push('sgi6');
    }, { eoi: 'self' });
    k.onIrq(27, function* (): Program {
      k.log.push('timer');
      yield msr(CNTV_CTL_EL0, 0, 1);
    });
    k.main = function* (cpu: KernelCpu): Program {
      yield* sendSgi(6, cpuAffinity(cpu.index));
      for (let i = 0; i < 100 && k.log.length === 0; i++) yield work(20);
      yield k.eoi(6); // priority drop only: SGI 6 stays active
      yield msr(CNTV_TVAL_EL0, 100_000, 1); // 2 ms at 50 MHz
      yield msr(CNTV_CTL_EL0, 1, 1);
      while (!k.log.includes('timer')) yield wfi();
      yield k.deactivate(6);
      k.finished = true;
    };
    return k;
  });
  const v = p.hyp.vcpus[0]!;
  const wfiBefore = v.counters.exitsByEc[EC.WFX]!;
  for (let i = 0; i < 200 && !k.finished; i++) p.m.runFor(20_000);
  t.deepEqual(k.log, ['sgi6', 'timer']);
  t.true(k.finished);
  // One trapped WFI that blocked until the timer, not one exit per WFI for 2 ms.
  t.true(v.counters.exitsByEc[EC.WFX]! - wfiBefore <= 2, `${v.counters.exitsByEc[EC.WFX]! - wfiBefore} WFI exits`);
  t.true(v.counters.blocks >= 1);
});
