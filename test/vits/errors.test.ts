/**
 * A guest's ITS command errors stay in its emulated ITS: they are validated there as the
 * architecture validates them (IHI 0069, "ITS command error encodings"; the skip-or-stall policy of
 * gic/its/errors.ts), recorded by the emulated ITS and visible to the guest as an ITS shows them
 * (GITS_CREADR past a skipped command, GITS_CREADR.Stalled at a memory fault), and never reach the
 * physical ITS: its error log and the number of commands it executed do not move. A DeviceID the
 * VM does not own resolves to no host device: the guest may map it (its own INT then works in
 * software, as under KVM), but no physical command ever names it, and nothing a guest maps
 * allocates anything on the host.
 */
import test from 'ava';
import fc from 'fast-check';
import { toNum } from '../../core/bits.js';
import { dsb, ldr, str, type Program } from '../../core/ops.js';
import { configureLpi } from '../../drivers/lpi.js';
import { ItsCmd, type CommandWords, type ItsCommandName } from '../../gic/its/commands.js';
import { GITS, GITS_CBASER, GITS_CREADR, GITS_CTLR, GITS_CWRITER } from '../../gic/its/its-registers.js';
import type { KernelCpu } from '../../guests/kernel.js';
import { GUEST_GITS } from '../../hypervisor/layout.js';
import { rig, settle, step, TWO_DEVICES, VM_PATHS, type ScriptKernel, type Step } from './rig.js';

/** Raw GITS_CREADR and GITS_CWRITER as the guest reads them. */
function* queueRegs(): Program<{ creadr: number; cwriter: number }> {
  const creadr = toNum((yield ldr(GUEST_GITS + GITS.CREADR, 8, 2)) as bigint);
  const cwriter = toNum((yield ldr(GUEST_GITS + GITS.CWRITER, 8, 2)) as bigint);
  return { creadr, cwriter };
}

/** Sends one command and notes, under `name`, what GITS_CREADR and GITS_CWRITER said after it. */
function erring(name: string, cmd: (k: ScriptKernel) => CommandWords): Step {
  return function* (k: ScriptKernel, cpu: KernelCpu): Program {
    yield* k.itsSend(cpu, [cmd(k)]);
    k.notes[name] = yield* queueRegs();
  };
}

const A = TWO_DEVICES[0]!;
const NOT_OWNED = 7;
const SOFT_LPI = 8300;

for (const path of VM_PATHS) {
  test(`${path}: bad DeviceID, out-of-range EventID, unmapped collection and a queue outside the guest's RAM are the emulated ITS's errors, never the physical ITS's`, (t) => {
    const steps: Step[] = [
      erring('MAPD DeviceID 2^16', () => ItsCmd.MAPD({ DeviceID: 0x10000, Size: 3, ITT_addr: 0x4080_0000, V: 1 })),
      erring('MAPTI EventID 1000', () => ItsCmd.MAPTI({ DeviceID: A.guestDeviceId, EventID: 1000, pINTID: SOFT_LPI, ICID: 0 })),
      // A device the VM does not own, its event in a collection nobody mapped.
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* configureLpi(k.lpiTables!, SOFT_LPI, 0xa0, true);
        yield dsb();
        k.onIrq(SOFT_LPI, function* (c: KernelCpu, intid: number): Program {
          k.log.push(intid, c.index, 0);
        });
        const mapd = yield* k.its!.mapDevice(NOT_OWNED, 1);
        yield* k.itsSend(cpu, [mapd, ItsCmd.MAPTI({ DeviceID: NOT_OWNED, EventID: 0, pINTID: SOFT_LPI, ICID: 100 })]);
      },
      erring('INT, collection unmapped', () => ItsCmd.INT({ DeviceID: NOT_OWNED, EventID: 0 })),
      erring('INVALL, collection unmapped', () => ItsCmd.INVALL({ ICID: 100 })),
      // An ITT outside the guest's RAM: the MAPTI that would write its ITE stalls the queue; the
      // guest's driver mends it (the failing command replaced by a SYNC, GITS_CWRITER.Retry = 1).
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* k.itsSend(cpu, [ItsCmd.MAPD({ DeviceID: 8, Size: 1, ITT_addr: 0x2000_0000, V: 1 })]);
        yield* k.itsSend(cpu, [ItsCmd.MAPTI({ DeviceID: 8, EventID: 0, pINTID: SOFT_LPI + 1, ICID: 0 })]);
        k.notes['ITT outside RAM'] = yield* queueRegs();
        k.notes['driver stalls'] = k.its!.stalls;
      },
      // Map the collection: the guest's own INT of its unowned device's event works, in software.
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* k.itsSend(cpu, [ItsCmd.MAPC({ ICID: 100, RDbase: 1, V: 1 }), ItsCmd.INT({ DeviceID: NOT_OWNED, EventID: 0 })]);
        yield* k.waitLogged(1);
      },
      // The queue moved outside the guest's RAM (IPA 0x2000_0000): the fetch faults, the queue stalls.
      function* (k: ScriptKernel): Program {
        yield str(GUEST_GITS + GITS.CTLR, 0, 4, 2);
        yield str(GUEST_GITS + GITS.CBASER, GITS_CBASER.encode({ Valid: 1, Size: 15, PA: 0x2000_0000 / 0x1000 }), 8, 2);
        yield str(GUEST_GITS + GITS.CTLR, GITS_CTLR.encode({ Enabled: 1 }), 4, 2);
        yield str(GUEST_GITS + GITS.CWRITER, GITS_CWRITER.encode({ Offset: 1 }), 8, 2);
        k.notes['queue outside RAM'] = yield* queueRegs();
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps, trace: true });
    const phys = r.gic.its;
    const before = { errors: phys.errorCount, executed: phys.commandsExecuted, lpis: r.hyp!.nextHostLpi, heap: r.hyp!.heap.used, traced: r.m.trace.of('its-command').length };
    step(r, steps.length);
    settle(r, 100);
    // What the guest saw: each skipped command consumed (CREADR = CWRITER), the fault stalled at the first slot.
    for (const name of ['MAPD DeviceID 2^16', 'MAPTI EventID 1000', 'INT, collection unmapped', 'INVALL, collection unmapped', 'ITT outside RAM']) {
      const q = r.kernel.notes[name] as { creadr: number; cwriter: number };
      t.is(GITS_CREADR.get(q.creadr, 'Stalled'), 0, name);
      t.is(GITS_CREADR.get(q.creadr, 'Offset'), GITS_CWRITER.get(q.cwriter, 'Offset'), name);
    }
    t.is(r.kernel.notes['driver stalls'], 1, 'the guest driver saw the stall and mended it');
    const fault = r.kernel.notes['queue outside RAM'] as { creadr: number; cwriter: number };
    t.is(GITS_CREADR.get(fault.creadr, 'Stalled'), 1);
    t.is(GITS_CREADR.get(fault.creadr, 'Offset'), 0);
    // What the emulated ITS recorded.
    t.deepEqual(
      r.vits!.errors.map((e) => [e.name, e.code, e.outcome]),
      [
        ['MAPD_DEVICE_OOR', 0x010801, 'skipped'],
        ['MAPTI_ID_OOR', 0x010a05, 'skipped'],
        ['INT_UNMAPPED_COLLECTION', 0x010309, 'skipped'],
        ['INVALL_UNMAPPED_COLLECTION', 0x010d09, 'skipped'],
        ['MAPTI_TABLE_FAULT', 0x010a20, 'stalled'],
        ['FETCH_QUEUE_FAULT', 0x010021, 'stalled'],
      ],
    );
    // The unowned device's event, triggered by the guest's own INT, reached it (in software).
    t.deepEqual(r.kernel.handled(SOFT_LPI), [1]);
    // The physical ITS saw none of it, and the host allocated nothing for it.
    t.is(phys.errorCount, before.errors);
    t.is(phys.commandsExecuted, before.executed);
    t.is(r.m.trace.of('its-command').length, before.traced);
    t.is(r.hyp!.nextHostLpi, before.lpis);
    t.is(r.hyp!.heap.used, before.heap);
    t.is(r.hyp!.stats.panics, 0);
  });

  test(`${path}: a guest naming another VM's host DeviceID reaches nothing of it; the other VM keeps its interrupts`, (t) => {
    const OTHERS = 90; // the neighbour VM's host DeviceID
    const steps: Step[] = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        const mapd = yield* k.its!.mapDevice(OTHERS, 1);
        yield* k.itsSend(cpu, [mapd, ItsCmd.MAPTI({ DeviceID: OTHERS, EventID: 0, pINTID: 8224, ICID: 0 }), ItsCmd.INT({ DeviceID: OTHERS, EventID: 0 })]);
        yield* k.waitLogged(1);
        yield* k.itsSend(cpu, [ItsCmd.DISCARD({ DeviceID: OTHERS, EventID: 0 }), ItsCmd.MAPD({ DeviceID: OTHERS, V: 0 })]);
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps, neighbour: true, trace: true });
    const traced = r.m.trace.of('its-command').length;
    step(r, 1);
    r.other!.device.msi(0);
    settle(r, 300);
    t.deepEqual(r.kernel.handled(8224), [0], 'its own INT, in software');
    t.is(r.other!.kernel.log.length, 1, "the neighbour's MSI went to the neighbour");
    const since = r.m.trace.of('its-command').slice(traced);
    t.deepEqual(since, [], 'no physical command on the guest\'s behalf');
  });
}

/** Command names the fuzzing draws from: every command, the GICv4 ones included (the emulated ITS has Virtual = 0). */
const NAMES: readonly ItsCommandName[] = ['MOVI', 'INT', 'CLEAR', 'SYNC', 'MAPD', 'MAPC', 'MAPTI', 'MAPI', 'INV', 'INVALL', 'MOVALL', 'DISCARD', 'VMOVI', 'VMAPTI', 'VINVALL', 'VSYNC'];
/** The VM's own devices as it knows them (3, 4), others' host DeviceIDs (10, 11 are its own devices' host IDs; 90 the neighbour's), one no VM has, and out of range ones. */
const DEVICE_IDS = [3, 4, 7, 10, 11, 90, 0x10000, 0xffff_ffff];

/** Mostly commands that take effect (mapping sequences need MAPD, MAPC and MAPTI to line up), some that cannot. */
const arbCommand = fc.record({
  name: fc.oneof({ arbitrary: fc.constantFrom<ItsCommandName>('MAPD', 'MAPC', 'MAPTI', 'INT'), weight: 3 }, { arbitrary: fc.constantFrom(...NAMES), weight: 2 }),
  DeviceID: fc.oneof({ arbitrary: fc.constantFrom(3, 4, 7, 90), weight: 4 }, { arbitrary: fc.constantFrom(...DEVICE_IDS), weight: 1 }),
  EventID: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3 }), weight: 4 }, { arbitrary: fc.constantFrom(5, 1000, 0xffff_ffff), weight: 1 }),
  ICID: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 4 }), weight: 4 }, { arbitrary: fc.constant(0xffff), weight: 1 }),
  pINTID: fc.oneof({ arbitrary: fc.integer({ min: 8220, max: 8250 }), weight: 4 }, { arbitrary: fc.constantFrom(0, 8191, 65536, 0xffff_ffff), weight: 1 }),
  RDbase: fc.integer({ min: 0, max: 5 }),
  Size: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3 }), weight: 4 }, { arbitrary: fc.integer({ min: 4, max: 31 }), weight: 1 }),
  V: fc.oneof({ arbitrary: fc.constant(1), weight: 4 }, { arbitrary: fc.constant(0), weight: 1 }),
  raw: fc.oneof({ arbitrary: fc.constant(null), weight: 12 }, { arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), weight: 1 }),
});

/** Each batch starts by mapping a device (owned or not) and a collection, so that later commands find mappings to act on. */
const arbPrelude = fc
  .record({ DeviceID: fc.constantFrom(3, 4, 7, 90), Size: fc.integer({ min: 0, max: 3 }), ICID: fc.integer({ min: 0, max: 4 }), RDbase: fc.integer({ min: 0, max: 3 }), EventID: fc.integer({ min: 0, max: 3 }), pINTID: fc.integer({ min: 8220, max: 8250 }) })
  .map((p): CommandWords[] => [
    ItsCmd.MAPD({ DeviceID: p.DeviceID, Size: p.Size, ITT_addr: 0x4090_0000, V: 1 }),
    ItsCmd.MAPC({ ICID: p.ICID, RDbase: p.RDbase, V: 1 }),
    ItsCmd.MAPTI({ DeviceID: p.DeviceID, EventID: p.EventID, pINTID: p.pINTID, ICID: p.ICID }),
  ]);

/** One drawn command: a named command with drawn fields, or (sometimes) four raw doublewords. */
function encode(c: { name: ItsCommandName; DeviceID: number; EventID: number; ICID: number; pINTID: number; RDbase: number; Size: number; V: number; raw: bigint | null }): CommandWords {
  if (c.raw !== null) return [c.raw, c.raw >> 3n, c.raw >> 7n, c.raw >> 11n];
  const fields = { DeviceID: c.DeviceID, EventID: c.EventID, ICID: c.ICID, pINTID: c.pINTID, RDbase: c.RDbase, RDbase1: c.RDbase, RDbase2: c.ICID % 7, Size: c.Size, V: c.V, ITT_addr: 0x4090_0000, vPEID: c.ICID, vINTID: c.pINTID, Dbell_pINTID: 1023 };
  return ItsCmd[c.name](fields as never);
}

for (const path of VM_PATHS) {
  test(`${path}: property: any stream of guest commands leaves the physical ITS without errors, names only the VM's own host devices, and breaks nothing`, (t) => {
    const RUNS = 60;
    const batches: CommandWords[][] = [];
    const steps: Step[] = Array.from({ length: RUNS }, (_, i) =>
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        // The guest's driver waits for completion and mends a stalled queue (it never stalls here: the queue and tables are in its RAM).
        yield* k.itsSend(cpu, batches[i]!);
      },
    );
    const r = rig(path, { devices: TWO_DEVICES, steps, neighbour: true, trace: true });
    const phys = r.gic.its;
    const before = { errors: phys.errorCount, lpis: r.hyp!.nextHostLpi, heap: r.hyp!.heap.used, traced: r.m.trace.of('its-command').length };
    let run = 0;
    fc.assert(
      fc.property(arbPrelude, fc.array(arbCommand, { minLength: 4, maxLength: 32 }), (prelude, cmds) => {
        batches[run] = [...prelude, ...cmds.map(encode)];
        step(r, ++run);
        if (phys.errorCount !== before.errors) return false;
        const named = r.m.trace.of('its-command').slice(before.traced).map((c) => c.fields['DeviceID']);
        return named.every((d) => d === undefined || d === 10 || d === 11);
      }),
      { seed: 1313, numRuns: RUNS, endOnFailure: true },
    );
    t.is(run, RUNS);
    t.is(r.hyp!.nextHostLpi, before.lpis, 'no host LPI allocated');
    t.is(r.hyp!.heap.used, before.heap, 'no host memory allocated');
    t.is(r.hyp!.stats.panics, 0);
    t.true(r.kernel.cpus.every((c) => c.faults.length === 0));
    // The neighbour still gets its MSIs.
    const got = r.other!.kernel.log.length;
    r.other!.device.msi(0);
    settle(r, 300);
    t.is(r.other!.kernel.log.length, got + 1);
    t.log(`${path}: ${r.vits!.stats.commands} guest commands, ${r.vits!.errorCount} refused by the emulated ITS (${[...new Set(r.vits!.errors.map((e) => e.name))].length} kinds), ${r.vits!.stats.hostCommands} sent to the physical ITS, 0 physical errors`);
  });
}
