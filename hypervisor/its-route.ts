/**
 * Several ITSs (gic `itsCount` > 1): which ITS each physical ITS command goes to.
 *
 * Each assigned device is attached to one ITS (`AssignedDevice.its`, default 0), which maps it
 * (MAPD) and all its events; a command naming a DeviceID goes to that device's ITS. A command
 * naming only a vPE (VSYNC, VINVALL) goes to the ITS of the command before it in the same batch
 * (VMAPTI + VSYNC, VMOVI + VSYNC), else to the first ITS of the vPE's VM (`vmIts`), which maps
 * the vPE. A batch is sent in runs of consecutive commands for one ITS, in order, each run
 * waited for before the next (as Linux sends each command to its own ITS: its_send_single_command).
 * With one ITS every batch is sent as one, exactly as before.
 */
import type { Program } from '../core/ops.js';
import type { ItsDriver } from '../drivers/its.js';
import { decodeCommandWords, type CommandWords } from '../gic/its/commands.js';
import type { HypervisorConfig, VmConfig } from './config.js';

export class ItsRoutes {
  /** Host DeviceID -> ITS number. */
  private readonly deviceIts = new Map<number, number>();
  /** vPEID -> its VM's first ITS (set by direct.ts as vPEs are allocated). */
  readonly vpeIts = new Map<number, number>();

  constructor(
    cfg: HypervisorConfig,
    /** One driver per ITS, by number. */
    readonly drivers: readonly ItsDriver[],
  ) {
    for (const vm of cfg.vms) for (const d of vm.devices) this.deviceIts.set(d.deviceId, d.its ?? 0);
  }

  /** The ITS number host device `deviceId` is attached to. */
  itsOf(deviceId: number): number {
    return this.deviceIts.get(deviceId) ?? 0;
  }

  /**
   * The ITSs a VM's vPEs are mapped on, ascending: those of its devices (Linux maps a VM's vPEs
   * on each ITS it has vLPIs on, its_map_vm), ITS 0 when it has none, and on GICv4.1 always ITS 0
   * too (the redistributors share ITS 0's vPE table and read the vPE's entry there).
   */
  vmIts(vm: VmConfig, v41: boolean): number[] {
    const s = new Set<number>(vm.devices.map((d) => d.its ?? 0));
    if (s.size === 0 || v41) s.add(0);
    return [...s].sort((a, b) => a - b);
  }

  /** Sends `cmds` from `core`, each to its ITS (see the module comment). */
  *send(core: number, cmds: readonly CommandWords[]): Program {
    if (this.drivers.length === 1) return yield* this.drivers[0]!.send(core, cmds);
    let run: CommandWords[] = [];
    let runIts = -1;
    for (const w of cmds) {
      const c = decodeCommandWords(w);
      let its = runIts;
      if (c !== undefined && 'DeviceID' in c) its = this.itsOf(c.DeviceID);
      else if (its < 0 && c !== undefined && 'vPEID' in c) its = this.vpeIts.get(c.vPEID) ?? 0;
      else if (its < 0) its = 0;
      if (its !== runIts && run.length > 0) {
        yield* this.drivers[runIts]!.send(core, run);
        run = [];
      }
      runIts = its;
      run.push(w);
    }
    if (run.length > 0) yield* this.drivers[runIts]!.send(core, run);
  }
}
