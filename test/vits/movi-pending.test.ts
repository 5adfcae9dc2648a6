/**
 * MOVI of an LPI that is pending where its old target cannot take it yet: vCPU 2 handles another
 * interrupt with IRQs masked while the LPI waits for it (on the injected path: in one of its list
 * registers), and CPU 0 moves the LPI to CPU 1. The LPI must be handled exactly once (IHI 0069,
 * MOVI: the pending state moves with the interrupt; KVM keeps one vgic_irq, which its
 * vgic_prune_ap_list moves once no list register holds it). The same guest code on both paths and
 * on bare metal.
 */
import test from 'ava';
import { work, type Program } from '../../core/ops.js';
import { ItsCmd, type CommandWords } from '../../gic/its/commands.js';
import type { KernelCpu } from '../../guests/kernel.js';
import { ALL_PATHS, rig, settle, step, TWO_DEVICES, type Path, type ScriptKernel } from './rig.js';

const [DEV_A, DEV_B] = TWO_DEVICES as [(typeof TWO_DEVICES)[0], (typeof TWO_DEVICES)[0]];
const gid = (path: Path, d: (typeof TWO_DEVICES)[0]): number => (path === 'bare' ? d.deviceId : d.guestDeviceId);

function* send(k: ScriptKernel, cpu: KernelCpu, cmds: readonly CommandWords[]): Program {
  yield* k.itsSend(cpu, [...cmds, ItsCmd.SYNC({ RDbase: k.its!.rdbase(0, cpu.rd) })]);
}

for (const path of ALL_PATHS) {
  test(`${path}: an LPI pending for a CPU busy with IRQs masked, moved by MOVI to another CPU, is handled once`, (t) => {
    const x = DEV_A.events[2]!; // LPI 8226 -> CPU 2: its handler keeps CPU 2 busy, IRQs masked
    const y = DEV_B.events[2]!; // LPI 8242 -> CPU 2, then moved to CPU 1
    const steps = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        k.onIrq(x.vintid, function* (c: KernelCpu, intid: number): Program {
          k.log.push(intid, c.index, 0);
          yield work(80_000);
        });
        yield* send(k, cpu, [ItsCmd.INT({ DeviceID: gid(path, DEV_A), EventID: x.eventId })]);
        yield work(10_000);
        yield* send(k, cpu, [ItsCmd.INT({ DeviceID: gid(path, DEV_B), EventID: y.eventId })]);
        yield work(10_000);
        yield* send(k, cpu, [ItsCmd.MOVI({ DeviceID: gid(path, DEV_B), EventID: y.eventId, ICID: 1 })]);
      },
    ];
    const r = rig(path, { devices: TWO_DEVICES, steps, trapWfi: false });
    step(r, 1);
    settle(r, 300);
    t.deepEqual(r.kernel.handled(x.vintid), [2]);
    // Once, wherever: CPU 1 once the move took it, or CPU 2 had it been acknowledged before.
    const ys = r.kernel.handled(y.vintid);
    t.is(ys.length, 1, `LPI ${y.vintid} handled on CPUs ${JSON.stringify(ys)}`);
    t.true(r.kernel.cpus.every((c) => c.unhandled === 0 && c.faults.length === 0));
  });
}
