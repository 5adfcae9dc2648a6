/**
 * More active interrupts than list registers (KVM's 2025 vgic rework; IHI 0069, ICH_HCR_EL2
 * NPIE/LRENPIE/TDIR/EOIcount, ICV_EOIR1_EL1, ICV_DIR_EL1): guest kernels (chain-kernel.ts) take
 * chains of 16 SGIs, 12 PPIs and 31 SPIs each preempting the last, with EOImode 0 and 1, through
 * 1, 4 and 16 list registers, and must acknowledge each exactly once, in nesting order, see each
 * DIR deactivate what it names, and end with nothing active; the same guest code on bare metal
 * at EL1 sees the same.
 */
import test from 'ava';
import fc from 'fast-check';
import { msr, wfi, work, type Program } from '../../core/ops.js';
import { CNTV_CTL_EL0, CNTV_TVAL_EL0 } from '../../core/timer.js';
import { cpuAffinity } from '../../drivers/affinity.js';
import { sendSgi, setIrqPriority } from '../../drivers/gic-init.js';
import type { KernelConfig, KernelCpu } from '../../guests/kernel.js';
import { ChainKernel, descending, inVm, onBareMetal, PPIS, runChainBareMetal, runChainInVm, SGIS, SPIS } from './chain-kernel.js';

for (const [name, intids] of [['SGIs', SGIS], ['PPIs', PPIS]] as const) {
  for (const listRegs of [1, 4, 16]) {
    for (const eoiMode of [0, 1] as const) {
      test(`${intids.length} nested ${name}, EOImode ${eoiMode}, ${listRegs} LR(s): each acknowledged once, in nesting order; nothing left active`, (t) => {
        const { k, v } = runChainInVm(listRegs, { links: descending(intids), eoiMode });
        t.deepEqual(k.acks, intids.map((intid, i) => ({ intid, depth: i + 1 })));
        t.is(k.timeouts, 0);
        t.is(k.cpus[0]!.spurious, 0);
        t.deepEqual(k.end, { rpr: 0xff, hppir: 1023, active: 0 });
        t.deepEqual(k.cpus[0]!.faults, []);
        // EOImode 1: each DIR deactivated the INTID it named, whether an LR held it or not.
        t.deepEqual(k.activeAfterDir, eoiMode === 1 ? intids.map((_, i) => intids.slice(i + 1)) : []);
        // The hypervisor's records: nothing pending or active, nothing in an LR or the overflow.
        t.is(v.vgic.ap.length, 0);
        t.is(v.vgic.overflow.length, 0);
        t.is(v.vgic.usedLrs, 0);
        t.true(v.vgic.lrs.every((x) => x === null));
        const overflowed = intids.length > listRegs;
        // Deactivations of interrupts outside the LRs: in EOImode 0 by EOIcount (with 2 LRs or
        // more the underflow maintenance interrupt refills the LRs with the next actives before
        // the guest gets to EOI one outside them), in EOImode 1 by the trapped DIR (the guest
        // deactivates in acknowledge order, oldest first: outside the LRs).
        if (eoiMode === 0) t.is(v.vgic.eoicountDeactivations > 0, overflowed && listRegs === 1, `${v.vgic.eoicountDeactivations} EOIcount deactivations`);
        else t.is(v.vgic.dirTraps > 0, overflowed, `${v.vgic.dirTraps} trapped DIRs`);
        t.log(`${listRegs} LRs, EOImode ${eoiMode}: ${v.counters.exits} exits, ${v.vgic.eoicountDeactivations} EOIcount deactivations, ${v.vgic.dirTraps} trapped DIRs`);
      });
    }
  }
}


for (const [name, intids] of [['SGIs', SGIS], ['PPIs', PPIS], ['SPIs', SPIS]] as const) {
  for (const eoiMode of [0, 1] as const) {
    for (const style of ['preempt', 'poll'] as const) {
      test(`bare metal: ${intids.length} nested ${name}, EOImode ${eoiMode}, ${style}: the same guest code sees the same order`, (t) => {
        const { k } = runChainBareMetal({ links: descending(intids), eoiMode, style });
        t.deepEqual(k.acks, intids.map((intid, i) => ({ intid, depth: i + 1 })));
        t.is(k.timeouts, 0);
        t.is(k.cpus[0]!.spurious, 0);
        t.deepEqual(k.end, { rpr: 0xff, hppir: 1023, active: 0 });
        t.deepEqual(k.activeAfterDir, eoiMode === 1 ? intids.map((_, i) => intids.slice(i + 1)) : []);
      });
    }
  }
}

for (const listRegs of [1, 4]) {
  for (const eoiMode of [0, 1] as const) {
    test(`in a VM, polled with IRQs masked (the selftest's loop): 16 SGIs, EOImode ${eoiMode}, ${listRegs} LR(s)`, (t) => {
      const { k, v } = runChainInVm(listRegs, { links: descending(SGIS), eoiMode, style: 'poll' });
      t.deepEqual(k.acks, SGIS.map((intid, i) => ({ intid, depth: i + 1 })));
      t.is(k.timeouts, 0);
      t.deepEqual(k.end, { rpr: 0xff, hppir: 1023, active: 0 });
      t.deepEqual(k.activeAfterDir, eoiMode === 1 ? SGIS.map((_, i) => SGIS.slice(i + 1)) : []);
      t.is(v.vgic.ap.length, 0);
    });
  }
}

test('in a VM, EOImode 1 with each handler deactivating right after its EOI (reverse order): 12 PPIs through 4 LRs', (t) => {
  const { k, v } = runChainInVm(4, { links: descending(PPIS), eoiMode: 1, dir: 'nested' });
  t.deepEqual(k.acks, PPIS.map((intid, i) => ({ intid, depth: i + 1 })));
  t.deepEqual(k.end, { rpr: 0xff, hppir: 1023, active: 0 });
  t.is(v.vgic.ap.length, 0);
});

for (const listRegs of [1, 4, 16]) {
  for (const eoiMode of [0, 1] as const) {
    test(`31 nested SPIs, EOImode ${eoiMode}, ${listRegs} LR(s): each acknowledged once, in nesting order; nothing left active`, (t) => {
      const { k, v } = runChainInVm(listRegs, { links: descending(SPIS), eoiMode }, 32);
      t.deepEqual(k.acks, SPIS.map((intid, i) => ({ intid, depth: i + 1 })));
      t.is(k.timeouts, 0);
      t.is(k.cpus[0]!.spurious, 0);
      t.deepEqual(k.end, { rpr: 0xff, hppir: 1023, active: 0 });
      t.deepEqual(k.activeAfterDir, eoiMode === 1 ? SPIS.map((_, i) => SPIS.slice(i + 1)) : []);
      t.is(v.vgic.ap.length, 0);
      t.is(v.vgic.overflow.length, 0);
      if (eoiMode === 1) t.is(v.vgic.dirTraps > 0, listRegs < SPIS.length);
    });
  }
}

test('property: random chains of SGIs, PPIs and SPIs, priorities, PMR, EOImode, deactivation order and LR counts: each interrupt acknowledged once, in nesting order, nothing left active', (t) => {
  const all = [...SGIS, ...PPIS, ...SPIS];
  // At most 31 links: the 31 priorities below ICC_PMR_EL1 = 0xF8 that 5 priority bits give.
  const chainArb = fc
    .record({
      intids: fc.shuffledSubarray(all, { minLength: 1, maxLength: Math.min(31, all.length) }),
      prios: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 31, maxLength: 31 }),
      eoiMode: fc.constantFrom(0 as const, 1 as const),
      listRegs: fc.integer({ min: 1, max: 16 }),
      style: fc.constantFrom('preempt' as const, 'poll' as const),
      dir: fc.constantFrom('ack-order' as const, 'nested' as const),
      pmrSlack: fc.integer({ min: 0, max: 31 }),
    })
    .map((c) => {
      // Strictly decreasing priority values along the chain: each link preempts the one before.
      const prios = c.prios.slice(0, c.intids.length).sort((a, b) => b - a).map((p) => p * 8);
      const links = c.intids.map((intid, i) => ({ intid, priority: prios[i]! }));
      // ICC_PMR_EL1 strictly above the lowest priority of the chain (values: 0xF8 at most).
      const pmr = Math.min(0xf8, prios[0]! + 8 + 8 * c.pmrSlack);
      return { ...c, links, pmr };
    });
  const run = fc.check(
    fc.property(chainArb, (c) => {
      const { k, v } = runChainInVm(c.listRegs, { links: c.links, eoiMode: c.eoiMode, style: c.style, dir: c.dir, pmr: c.pmr }, 32);
      const want = c.links.map((l, i) => ({ intid: l.intid, depth: i + 1 }));
      const dirLater = c.eoiMode === 1 && (c.style === 'poll' || c.dir === 'ack-order');
      const ok =
        JSON.stringify(k.acks) === JSON.stringify(want) &&
        k.timeouts === 0 &&
        JSON.stringify(k.end) === JSON.stringify({ rpr: 0xff, hppir: 1023, active: 0 }) &&
        JSON.stringify(k.activeAfterDir) === JSON.stringify(dirLater ? c.intids.map((_, i) => c.intids.slice(i + 1)) : []) &&
        v.vgic.ap.length === 0 &&
        v.vgic.overflow.length === 0;
      if (!ok) t.log({ case: c, acks: k.acks, end: k.end, timeouts: k.timeouts, ap: v.vgic.ap.map((x) => x.intid) });
      return ok;
    }),
    { seed: 13_2, numRuns: 100, endOnFailure: true },
  );
  // Every generated case held (fc.check reports the shrunk counterexample otherwise).
  t.false(run.failed, fc.defaultReportMessage(run) ?? 'property failed');
  t.true(run.numRuns > 0, `${run.numRuns} cases`);
});

/**
 * The virtual timer (PPI 27, forwarded with HW = 1) at the bottom of a nest: its handler raises
 * SGIs 1-4, each preempting the last and ending with a priority drop only (EOImode 1); then it
 * deactivates itself first and the SGIs in acknowledge order. With one LR the timer waits outside
 * it, so its DIR traps (ICH_HCR_EL2.TDIR) and the hypervisor deactivates physical PPI 27 itself:
 * were that lost, the timer would never fire again.
 */
class TickKernel extends ChainKernel {
  ticks = 0;
}

function tickKernel(cfg: KernelConfig): TickKernel {
  const links = descending([1, 2, 3, 4]);
  const k = new TickKernel({ ...cfg, eoiMode: 1, pmr: 0xf8, ppis: [27] }, { links, eoiMode: 1 });
  links.forEach((link, i) => {
    k.onIrq(
      link.intid,
      function* (cpu: KernelCpu, intid: number): Program {
        k.acks.push({ intid, depth: cpu.depth });
        const next = links[i + 1];
        if (next !== undefined) {
          yield* sendSgi(next.intid, cpuAffinity(cpu.index));
          for (let n = 0; n < 5000 && !k.done[i + 1]; n++) yield work(20);
        }
        yield k.eoi(intid);
        k.done[i] = true;
      },
      { nested: true, eoi: 'self' },
    );
  });
  k.onIrq(
    27,
    function* (cpu: KernelCpu): Program {
      k.ticks++;
      k.acks.push({ intid: 27, depth: cpu.depth });
      k.done.fill(false);
      yield msr(CNTV_TVAL_EL0, k.ticks < 4 ? 20_000 : 0x7fff_ffff, 1);
      yield* sendSgi(1, cpuAffinity(cpu.index));
      for (let n = 0; n < 5000 && !k.done[0]; n++) yield work(20);
      yield k.eoi(27);
      yield k.deactivate(27);
      for (const l of links) yield k.deactivate(l.intid);
    },
    { nested: true, eoi: 'self' },
  );
  k.main = function* (cpu: KernelCpu): Program {
    if (cpu.index !== 0) return;
    for (const l of links) yield setIrqPriority(cfg.gicd, cpu.rd, l.intid, l.priority + 0x10);
    yield setIrqPriority(cfg.gicd, cpu.rd, 27, 0xa0);
    yield msr(CNTV_TVAL_EL0, 20_000, 1);
    yield msr(CNTV_CTL_EL0, 1, 1);
    for (;;) yield wfi();
  };
  return k;
}

for (const where of ['vm', 'bare metal'] as const) {
  test(`${where}: the virtual timer deactivated outside the list registers keeps firing (EOImode 1, DIR before the SGIs it nests)`, (t) => {
    let k: TickKernel;
    let dirs = 0;
    if (where === 'vm') {
      const r = inVm(1, tickKernel);
      k = r.k;
      r.p.m.runFor(2_000_000);
      dirs = r.p.hyp.vcpus[0]!.vgic.dirTraps;
    } else {
      const r = onBareMetal(tickKernel);
      k = r.k;
      r.m.runFor(2_000_000);
    }
    t.is(k.ticks, 4);
    const one = [27, 1, 2, 3, 4].map((intid, i) => ({ intid, depth: i + 1 }));
    t.deepEqual(k.acks, [...one, ...one, ...one, ...one]);
    if (where === 'vm') t.true(dirs >= 4 * 4, `${dirs} trapped DIRs`);
  });
}
