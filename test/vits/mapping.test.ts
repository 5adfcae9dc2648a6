/**
 * A guest maps its own devices with its own ITS driver (the driver library's `ItsDriver`, at EL1)
 * and drives them with the ITS commands, the same guest code inside a VM on both delivery paths
 * (the VM's emulated ITS forwarding to the physical one) and on bare metal against the physical
 * ITS; the guest counts what it handled (INTID, CPU). The sequences are those of kvm-unit-tests'
 * arm/gic.c ITS tests (its-mapd/mapc/mapti, its-trigger: INT, INV with the LPI disabled, INVALL,
 * MAPD V = 0, its-migration: MOVI) and the command-queue wrap of KVM's vgic_lpi_stress.
 */
import test from 'ava';
import { dsb, type Program } from '../../core/ops.js';
import { configureLpi } from '../../drivers/lpi.js';
import { ItsCmd, type CommandWords } from '../../gic/its/commands.js';
import type { KernelCpu } from '../../guests/kernel.js';
import { ALL_PATHS, rig, settle, step, TWO_DEVICES, type Path, type ScriptKernel } from './rig.js';

const [DEV_A, DEV_B] = TWO_DEVICES as [(typeof TWO_DEVICES)[0], (typeof TWO_DEVICES)[0]];

/** The DeviceID the guest's commands name on `path` (a VM's guest knows its devices by other IDs than the host). */
function gid(path: Path, d: (typeof TWO_DEVICES)[0]): number {
  return path === 'bare' ? d.deviceId : d.guestDeviceId;
}

function* send(k: ScriptKernel, cpu: KernelCpu, cmds: readonly CommandWords[]): Program {
  yield* k.itsSend(cpu, [...cmds, ItsCmd.SYNC({ RDbase: k.its!.rdbase(0, cpu.rd) })]);
}

for (const path of ALL_PATHS) {
  test(`${path}: the guest maps its devices (MAPD, MAPC, MAPTI) and each INT and each MSI is handled once, on its CPU`, (t) => {
    const steps = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        const cmds: CommandWords[] = [];
        for (const d of TWO_DEVICES) for (const e of d.events) cmds.push(ItsCmd.INT({ DeviceID: gid(path, d), EventID: e.eventId }));
        yield* send(k, cpu, cmds);
        k.notes['after INT'] = (yield* k.waitLogged(8)) ? k.log.length : -1;
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps, trace: true });
    step(r, 1);
    t.is(r.kernel.notes['after INT'], 8);
    for (const d of TWO_DEVICES) for (const e of d.events) r.devices.get(d.deviceId)!.msi(e.eventId);
    settle(r, 300);
    for (const d of TWO_DEVICES) {
      for (const e of d.events) t.deepEqual(r.kernel.handled(e.vintid), [e.vcpu, e.vcpu], `LPI ${e.vintid}: once by INT, once by MSI, on CPU ${e.vcpu}`);
    }
    t.is(r.kernel.log.length, 16);
    t.true(r.kernel.cpus.every((c) => c.unhandled === 0 && c.faults.length === 0));
    // The physical ITS was told only the host DeviceIDs (10, 11), never the guest's (3, 4).
    const named = new Set(r.m.trace.of('its-command').map((c) => c.fields['DeviceID']).filter((x) => x !== undefined));
    t.deepEqual([...named].sort(), [10, 11]);
    if (path !== 'bare') {
      const mapped = r.m.trace.of('its-command').filter((c) => c.command === (path === 'direct' ? 'VMAPTI' : 'MAPTI'));
      t.is(mapped.length, 8, 'one physical mapping per guest MAPTI');
      t.true(mapped.every((c) => c.result === 'done'));
      t.is(r.gic.its.errorCount, 0);
      t.is(r.vits!.errorCount, 0);
      t.log(`${path}: ${r.vits!.stats.commands} guest ITS commands, ${r.vits!.stats.hostCommands} physical ones on their behalf`);
    }
  });

  test(`${path}: an LPI disabled in the configuration table with INV is not delivered; enabled again with INVALL its latched MSI is, once`, (t) => {
    const e1 = DEV_A.events[1]!; // LPI 8225 -> CPU 1
    const steps = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* configureLpi(k.lpiTables!, e1.vintid, 0xa0, false);
        yield dsb();
        yield* send(k, cpu, [ItsCmd.INV({ DeviceID: gid(path, DEV_A), EventID: e1.eventId })]);
      },
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* configureLpi(k.lpiTables!, e1.vintid, 0xa0, true);
        yield dsb();
        yield* send(k, cpu, [ItsCmd.INVALL({ ICID: e1.vcpu })]);
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps });
    step(r, 1);
    const dev = r.devices.get(DEV_A.deviceId)!;
    dev.msi(e1.eventId);
    settle(r, 100);
    dev.msi(e1.eventId); // merges with the first, still pending
    settle(r, 300);
    t.deepEqual(r.kernel.handled(e1.vintid), [], 'disabled: held pending');
    step(r, 2);
    settle(r, 300);
    t.deepEqual(r.kernel.handled(e1.vintid), [e1.vcpu], 'enabled: the latched LPI, once');
    t.is(r.kernel.log.length, 1);
  });

  test(`${path}: MAPD V = 0 stops a device's interrupts; an INT of another device still works`, (t) => {
    const steps = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* send(k, cpu, [ItsCmd.MAPD({ DeviceID: gid(path, DEV_A), V: 0 })]);
      },
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* send(k, cpu, [ItsCmd.INT({ DeviceID: gid(path, DEV_B), EventID: 2 })]);
        yield* k.waitLogged(1);
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps });
    step(r, 1);
    for (const e of DEV_A.events) r.devices.get(DEV_A.deviceId)!.msi(e.eventId);
    settle(r, 300);
    t.is(r.kernel.log.length, 0, 'nothing from the unmapped device');
    step(r, 2);
    settle(r, 100);
    t.deepEqual(r.kernel.handled(DEV_B.events[2]!.vintid), [2]);
    t.is(r.kernel.log.length, 1);
    if (r.vits !== null) t.is(r.vits.devices.size, 1, 'the emulated ITS keeps the other device only');
  });

  test(`${path}: MOVI retargets an event to another CPU's collection, for MSIs and INT alike`, (t) => {
    const e0 = DEV_A.events[0]!; // LPI 8224, CPU 0 -> CPU 2
    const steps = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* send(k, cpu, [ItsCmd.MOVI({ DeviceID: gid(path, DEV_A), EventID: e0.eventId, ICID: 2 })]);
      },
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* send(k, cpu, [ItsCmd.INT({ DeviceID: gid(path, DEV_A), EventID: e0.eventId })]);
        yield* k.waitLogged(2);
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps });
    step(r, 1);
    r.devices.get(DEV_A.deviceId)!.msi(e0.eventId);
    settle(r, 300);
    t.deepEqual(r.kernel.handled(e0.vintid), [2]);
    step(r, 2);
    settle(r, 100);
    t.deepEqual(r.kernel.handled(e0.vintid), [2, 2]);
    t.is(r.kernel.log.length, 2);
  });

  test(`${path}: the guest's command queue wraps (more commands than its 64 KB queue holds) and keeps working`, (t) => {
    const SYNCS = 2200;
    const steps = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        const sync = ItsCmd.SYNC({ RDbase: k.its!.rdbase(0, cpu.rd) });
        for (let i = 0; i < SYNCS; i += 100) yield* k.itsSend(cpu, Array.from({ length: 100 }, () => sync));
        yield* send(k, cpu, [ItsCmd.INT({ DeviceID: gid(path, DEV_B), EventID: 3 })]);
        yield* k.waitLogged(1);
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps });
    step(r, 1);
    settle(r, 100);
    const its = r.kernel.its!;
    const slots = its.queueBytes / 32;
    t.true(its.commands > slots, `${its.commands} commands through a queue of ${slots}`);
    t.is(its.writeOffset, (its.commands * 32) % its.queueBytes, 'GITS_CWRITER went round the ring');
    t.deepEqual(r.kernel.handled(DEV_B.events[3]!.vintid), [3]);
    if (r.vits !== null) {
      t.is(r.vits.creadr, r.vits.cwriter);
      t.is(r.vits.errorCount, 0);
    } else t.is(r.gic.its.errorCount, 0);
  });
}
