/**
 * Rogue guests (scenarios/random-cases.ts): next to a victim VM whose device sends MSIs, a rogue
 * VM (1-2 vCPUs) runs a seeded stream of hostile actions: loads and stores of 1-8 bytes anywhere
 * in its emulated GIC frames and at unmapped IPAs, MRS/MSR of every declared system register and
 * of unallocated encodings, HVC/SMC/SVC with random function IDs and arguments, runs of WFI,
 * ICC_SGI1R_EL1 writes naming vCPUs that do not exist, exclusives and atomics to MMIO and to
 * unmapped IPAs. Its own synchronous vector entries step over every fault (ELR_EL1 + 4, ERET),
 * so it keeps going. On both injections (list registers and direct): the victim gets every
 * interrupt (the delivery check, after a drain), the hypervisor never panics, no JavaScript
 * exception escapes, and canaries in the victim's RAM, where neither it nor the hypervisor
 * writes, are intact.
 */
import test from 'ava';
import fc from 'fast-check';
import { EC } from '../../core/esr.js';
import { eret, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { ELR_EL1, ESR_EL1 } from '../../core/sysregs.js';
import { Kernel, KERNEL_READY_OFFSET, type KernelConfig } from '../../guests/kernel.js';
import { bootGuests, buildPlatform, runUntilGuestsReady } from '../../scenarios/platform.js';
import { checkRogueCase, randomRogueCase } from '../../scenarios/random-cases.js';

const caseSeed = fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 }));

test('property: a rogue guest neither takes interrupts from its neighbour, nor panics the hypervisor, nor writes its RAM (both injections)', (t) => {
  const actions: Record<string, number> = {};
  const faults: Record<number, number> = {};
  let runs = 0;
  let delivered = 0;
  t.notThrows(() =>
    fc.assert(
      fc.property(caseSeed, (seed) => {
        // Accesses that straddle the end of the rogue's RAM are left out here: see the known bug below.
        for (const r of checkRogueCase(seed)) {
          delivered += r.delivered + r.coalesced;
          for (const [k, n] of Object.entries(r.rogue.actions)) actions[k] = (actions[k] ?? 0) + n;
          for (const [ec, n] of Object.entries(r.rogue.faults)) faults[Number(ec)] = (faults[Number(ec)] ?? 0) + n;
        }
        runs++;
      }),
      { seed: 20_14, numRuns: 50, endOnFailure: true, includeErrorInReport: true },
    ),
  );
  t.log(`${runs} cases x 2 injections, ${delivered} MSIs to the victim; rogue actions ${JSON.stringify(actions)}; faults it stepped over by EC ${JSON.stringify(faults)}`);
  t.is(runs, 50);
  // Every kind of hostile action was tried, and the rogue survived UNDEFINED instructions, data aborts and SVCs.
  for (const k of ['gic-load', 'gic-store', 'unmapped-load', 'unmapped-store', 'mrs', 'msr', 'hvc', 'smc', 'svc', 'wfi', 'sgi', 'atomic-mmio', 'atomic-unmapped', 'atomic-ram']) t.true((actions[k] ?? 0) > 0, k);
  for (const ec of [EC.UNKNOWN, EC.DABT_CUR, EC.SVC64]) t.true((faults[ec] ?? 0) > 0, `EC 0x${ec.toString(16)}`);
});

test('randomRogueCase: one seed gives one case', (t) => {
  for (let seed = 0; seed < 100; seed++) t.deepEqual(randomRogueCase(seed), randomRogueCase(seed));
});

// ---------------------------------------------------------------- a fault the property found
//
// An unaligned access crossing the end of a guest's RAM was translated at its first byte only,
// so it read and wrote the next VM's RAM (rogue seed 0 found it: the rogue's RAM lies just below
// the victim's, and the canary at the victim's offset 0 changed). Each page is translated now.

test('an unaligned 8-byte store that starts in the last bytes of a guest\'s RAM does not write the next VM\'s RAM, and takes a data abort', (t) => {
  const faults: number[] = [];
  const p = buildPlatform({
    cores: 1,
    vms: [
      {
        name: 'rogue',
        vcpus: 1,
        kernel: (c: KernelConfig) => {
          const k = new Kernel(c);
          k.main = function* (): Program {
            // 4 bytes in its RAM, 4 bytes past it, where stage 2 maps nothing.
            yield str(c.ramBase + c.ramSize - 4, 0x1122334455667788n, 8);
            for (;;) yield work(100_000);
          };
          return k;
        },
      },
      { name: 'victim', vcpus: 1, kernel: (c: KernelConfig) => new Kernel(c) },
    ],
  });
  // The rogue's own current-EL synchronous vector: record the abort, step over the store.
  p.m.code.install(p.vmRamPa[0]! + 0x1000 + 0x200, function* (): Program {
    faults.push(yield mrs(ESR_EL1, 1));
    const elr: number = yield mrs(ELR_EL1, 1);
    yield msr(ELR_EL1, elr + 4, 1);
    yield eret();
  });
  t.is(p.vmRamPa[0]! + 16 * 0x10_0000, p.vmRamPa[1]!);
  p.m.bus.memory.write32(p.vmRamPa[1]!, 0xdeadc0de);
  bootGuests(p);
  t.is(p.m.bus.memory.read32(p.vmRamPa[1]!).toString(16), 'deadc0de', "the victim's first word");
  t.is(faults.length, 1, 'one data abort');
});

// ---------------------------------------------------------------- a guest that never boots

test('a guest that never says it is ready is reported by runUntilGuestsReady and named by bootGuests; its neighbour boots', (t) => {
  const p = buildPlatform({
    cores: 1,
    vms: [
      { name: 'stuck', vcpus: 2, kernel: (c: KernelConfig) => new Kernel(c) },
      { name: 'fine', vcpus: 1, kernel: (c: KernelConfig) => new Kernel(c) },
    ],
  });
  // 'stuck' CPU 1 spins at the kernel's secondary entry (RAM + 0x100) instead of booting.
  p.m.code.install(p.vmRamPa[0]! + 0x100, function* (): Program {
    for (;;) yield work(100_000);
  });
  const seen: number[] = [];
  const r = runUntilGuestsReady(p, { limitUs: 5_000, onReady: (vm) => seen.push(vm) });
  t.false(r.ready);
  t.deepEqual(r.notReady, [0]);
  t.deepEqual(seen, [1]);
  t.is(r.at, p.m.usToCycles(5_000));
  t.is(p.m.now, r.at);
  t.is(p.m.bus.memory.read32(p.vmRamPa[0]! + KERNEL_READY_OFFSET), 1, 'CPU 0 of 2 said it was up');
  t.throws(() => bootGuests(p, { limitUs: 1_000 }), { message: "guest kernel not ready within 1000 us: vm 'stuck' (1 of 2 CPUs up)" });
  t.is(p.m.now, r.at + p.m.usToCycles(1_000));
});
