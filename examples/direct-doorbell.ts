/**
 * A hypervisor that uses GICv4.0 direct injection: the device's event is mapped straight to a
 * virtual LPI of the guest's vPE (VMAPTI), so while the vPE is resident on this core's
 * redistributor the guest takes the interrupt with no exception to EL2 at all. When the guest
 * waits in WFI (trapped: HCR_EL2.TWI = 1), the hypervisor blocks its vCPU the way KVM does with
 * GICv4.0: it makes the vPE non-resident (GICR_VPENDBASER.Valid = 0, wait for Dirty = 0), and
 * unless PendingLast says a vLPI is already pending, arms the vPE's doorbell (a host LPI the ITS
 * makes pending when a vLPI arrives for a vPE that is not resident: VMAPTI's Dbell_pINTID) and
 * waits for it in WFI. The doorbell is one-shot (disabled again once taken); the vPE is made
 * resident again, and the guest resumes after its WFI.
 *
 * Built on core/, gic/ formats and the driver library (drivers/) only. Registers and commands:
 * IHI 0069 (VMAPP, VMAPTI, VSYNC; GICR_VPROPBASER, GICR_VPENDBASER; the LPI configuration table
 * and GICR_INVLPIR for the doorbell's enable), Arm ARM DDI 0487 (HCR_EL2.TWI, ESR_EL2.EC 0x01).
 */
import { ESR, EC } from '../core/esr.js';
import { HCR_FMO, HCR_IMO, HCR_RW, HCR_TWI } from '../core/hcr.js';
import type { Word } from '../core/bits.js';
import { eret, mrs, msr, restorex, savex, wfi, type Program } from '../core/ops.js';
import { PSR_DAIF, spsrFor } from '../core/pstate.js';
import { ELR_EL2, ESR_EL2, HCR_EL2, SPSR_EL2, VBAR_EL2 } from '../core/sysregs.js';
import { createBoard, type Board, type BoardOptions } from '../gic/board.js';
import { INTID_SPECIAL, INTID_SPURIOUS } from '../gic/gic-registers.js';
import { ItsCmd } from '../gic/its/commands.js';
import { GICR_VLPI_BASE } from '../gic/mmio-offsets.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../gic/sysregs.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../drivers/gic-init.js';
import { PhysHeap } from '../drivers/heap.js';
import { ItsDriver } from '../drivers/its.js';
import { enableVirtualInterface } from '../drivers/list-registers.js';
import { allocLpiTables, allocPendingTable, clearLpiPending, configureLpi, enableLpis, invalidateLpi, type LpiTables } from '../drivers/lpi.js';
import { makeNonResident, makeResident, vpendPendingLast, type VpeTables } from '../drivers/residency.js';
import { installTinyGuest, type TinyGuest } from './tiny-guest.js';

export const DEVICE_ID = 1;
export const EVENT_ID = 0;
/** The vINTID the event becomes, the vPE's ID, and its doorbell (a host LPI). */
export const GUEST_INTID = 8192;
export const VPE_ID = 0;
export const DOORBELL = 8200;
const HYP = 0x4000_0000;
const HEAP = 0x4800_0000;

export interface DirectExample {
  readonly board: Board;
  /** Hypervisor software counts: WFI traps, blocks (doorbell armed), doorbells taken, residency changes. */
  readonly hyp: { wfiTraps: number; blocks: number; doorbells: number; residencyChanges: number; otherExits: number };
  readonly guest: TinyGuest;
}

/** Builds a GICv4 board, installs the hypervisor and a guest that computes for `busyCycles` before it first waits. */
export function directExample(o: BoardOptions & { busyCycles?: number } = {}): DirectExample {
  const board = createBoard({ ...o, gic: { ...o.gic, version: 4 } });
  const { m, config } = board;
  const guest: TinyGuest = { entry: 0x4100_0000, log: 0x4200_0000, ...(o.busyCycles !== undefined ? { busyCycles: o.busyCycles } : {}) };
  const hyp = { wfiTraps: 0, blocks: 0, doorbells: 0, residencyChanges: 0, otherExits: 0 };
  const heap = new PhysHeap(HEAP, 0x400_0000);
  let rd = 0;
  let hostLpis: LpiTables;
  let vpe: VpeTables;
  const guestRegs: Word[] = new Array<Word>(31).fill(0); // x0-x30, saved on every exit: the handlers' MRS/MSRs use them

  m.code.install(HYP, function* (): Program {
    yield msr(VBAR_EL2, HYP + 0x800);
    // The host GIC, with the doorbell LPI configured but disabled (armed only while blocking).
    yield* initDistributor(config.gicdBase);
    rd = yield* initRedistributor(config.gicrBase);
    hostLpis = allocLpiTables(heap, 16);
    yield* configureLpi(hostLpis, DOORBELL, 0xa0, false);
    yield* enableLpis(rd, hostLpis, allocPendingTable(heap, 16));
    yield* initCpuInterface();
    // The vPE: a virtual pending table, and the VM's vLPI configuration table with the vINTID enabled.
    const vprop = allocLpiTables(heap, 16);
    yield* configureLpi(vprop, GUEST_INTID, 0xa0, true);
    vpe = { vprop: vprop.prop, idBits: 16, vpt: allocPendingTable(heap, 16) };
    // The ITS: the vPE on this core's redistributor, the device's event -> the vLPI, doorbell DOORBELL.
    const its = new ItsDriver(config.itsBase, heap);
    yield* its.init();
    const vmapp = yield* its.mapVpe(VPE_ID, its.rdbase(0, rd), vpe.vpt, 16);
    const mapd = yield* its.mapDevice(DEVICE_ID, 1);
    yield* its.send(0, [vmapp, mapd, ItsCmd.VMAPTI({ DeviceID: DEVICE_ID, EventID: EVENT_ID, vPEID: VPE_ID, vINTID: GUEST_INTID, Dbell_pINTID: DOORBELL }), ItsCmd.VSYNC({ vPEID: VPE_ID })]);
    // Resident before the guest runs; then enter it with WFI trapped.
    yield* makeResident(rd + GICR_VLPI_BASE, vpe, true);
    hyp.residencyChanges++;
    yield* enableVirtualInterface();
    yield msr(HCR_EL2, HCR_RW + HCR_IMO + HCR_FMO + HCR_TWI);
    yield msr(SPSR_EL2, spsrFor(1, PSR_DAIF));
    yield msr(ELR_EL2, guest.entry);
    yield eret();
  }, 'hyp.boot');

  /** Acknowledges physical interrupts (with PSTATE.I masked at EL2) until `until` is taken, or until none is pending when `until` is -1. */
  function* ackUntil(until: number): Program<boolean> {
    for (;;) {
      const intid: number = (yield mrs(ICC_IAR1_EL1)) & 0xffffff;
      if (intid >= INTID_SPECIAL && intid <= INTID_SPURIOUS) return false;
      yield msr(ICC_EOIR1_EL1, intid);
      if (intid === until) return true;
    }
  }

  /** Resumes the guest after the instruction that trapped (ERET to ELR_EL2 + 4 completes it). */
  function* resumeAfter(): Program {
    yield msr(ELR_EL2, ((yield mrs(ELR_EL2)) as number) + 4);
    yield restorex(guestRegs);
    yield eret();
  }

  m.code.installVectors(HYP + 0x800, {
    lower64: {
      sync: function* (): Program {
        yield savex(guestRegs);
        const esr: number = yield mrs(ESR_EL2);
        if (ESR.get(esr, 'EC') !== EC.WFX) {
          // Nothing else traps with this HCR_EL2; skip whatever it was rather than stop.
          hyp.otherExits++;
          return yield* resumeAfter();
        }
        hyp.wfiTraps++;
        const frame = rd + GICR_VLPI_BASE;
        const after: bigint = yield* makeNonResident(frame);
        hyp.residencyChanges++;
        if (!vpendPendingLast(after)) {
          // Block: arm the doorbell (enable it, make the redistributor re-read it), wait for it, disarm.
          hyp.blocks++;
          yield* configureLpi(hostLpis, DOORBELL, 0xa0, true);
          yield* invalidateLpi(rd, DOORBELL);
          while (!(yield* ackUntil(DOORBELL))) yield wfi(); // WFI wakes on a pending IRQ even with PSTATE.I = 1
          hyp.doorbells++;
          yield* configureLpi(hostLpis, DOORBELL, 0xa0, false);
          yield* invalidateLpi(rd, DOORBELL);
        }
        // A doorbell that rang while disabled stays pending: clear it (KVM's vgic_v4_load does too).
        yield* clearLpiPending(rd, DOORBELL);
        yield* makeResident(frame, vpe, true);
        hyp.residencyChanges++;
        yield* resumeAfter();
      },
      irq: function* (): Program {
        yield savex(guestRegs);
        yield* ackUntil(-1); // nothing is routed to this core while the guest runs; take what is there
        yield restorex(guestRegs);
        yield eret();
      },
    },
  }, 'hyp.vectors');

  installTinyGuest(board, guest);
  m.pes[0]!.powerOn(HYP, 2, m.now);
  return { board, hyp, guest };
}
