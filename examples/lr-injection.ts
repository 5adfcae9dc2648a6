/**
 * The smallest hypervisor that gets a device's MSIs to a guest, through list registers (the
 * GICv3 path): one core, one guest, one device event. docs/writing-a-hypervisor.md walks
 * through it. Built on core/, gic/ formats and the driver library (drivers/) only.
 *
 * MSI -> ITS -> host LPI 8192 -> IRQ exception to EL2 (HCR_EL2.IMO = 1) -> acknowledge, write an
 * ICH_LR<n>_EL2 -> ERET -> the guest takes a virtual IRQ and reads vINTID 8192 from ICV_IAR1_EL1.
 */
import type { Word } from '../core/bits.js';
import { eret, mrs, msr, restorex, savex, type Program } from '../core/ops.js';
import { HCR_FMO, HCR_IMO, HCR_RW } from '../core/hcr.js';
import { PSR_DAIF, spsrFor } from '../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2, VBAR_EL2 } from '../core/sysregs.js';
import { createBoard, type Board, type BoardOptions } from '../gic/board.js';
import { INTID_SPECIAL, INTID_SPURIOUS } from '../gic/gic-registers.js';
import { encodeLr, LrState } from '../gic/ich-registers.js';
import { ItsCmd } from '../gic/its/commands.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../gic/sysregs.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../drivers/gic-init.js';
import { PhysHeap } from '../drivers/heap.js';
import { ItsDriver } from '../drivers/its.js';
import { enableVirtualInterface, findEmptyLr, lrState, readElrsr, readListRegCount, readLr, writeLr } from '../drivers/list-registers.js';
import { allocLpiTables, allocPendingTable, configureLpi, enableLpis } from '../drivers/lpi.js';
import { installTinyGuest, type TinyGuest } from './tiny-guest.js';

export const DEVICE_ID = 1;
export const EVENT_ID = 0;
/** The host LPI the event becomes, and the vINTID the guest is given for it. */
export const HOST_LPI = 8192;
export const GUEST_INTID = 8192;
/** Where things live: code (labels in the code map), the guest's log of INTIDs, the hypervisor's heap. */
const HYP = 0x4000_0000;
export const GUEST: TinyGuest = { entry: 0x4100_0000, log: 0x4200_0000 };
const HEAP = 0x4800_0000;

/** Builds the board, installs hypervisor and guest, and powers the core on at EL2. */
export function lrExample(o: BoardOptions = {}): { board: Board; hyp: typeof hyp } {
  const board = createBoard(o);
  const { m, config } = board;
  // Hypervisor software counts: LR writes, and injections merged into an LR still pending.
  const hyp = { lrWrites: 0, merged: 0 };
  const heap = new PhysHeap(HEAP, 0x400_0000);
  let listRegs = 0;
  let lrOfGuestIntid = -1; // software state: the LR our one interrupt was written to
  const guestRegs: Word[] = new Array<Word>(31).fill(0); // x0-x30: the handler's MRS/MSRs use them

  m.code.install(HYP, function* boot(): Program {
    yield msr(VBAR_EL2, HYP + 0x800);
    // The GIC: distributor, this core's redistributor, LPI tables, CPU interface (EOImode 0).
    yield* initDistributor(config.gicdBase);
    const rd: number = yield* initRedistributor(config.gicrBase);
    const lpis = allocLpiTables(heap, 16);
    yield* configureLpi(lpis, HOST_LPI, 0xa0, true);
    yield* enableLpis(rd, lpis, allocPendingTable(heap, 16));
    yield* initCpuInterface();
    // The ITS: tables and queue, a collection for this core, the device's event -> HOST_LPI.
    const its = new ItsDriver(config.itsBase, heap);
    yield* its.init();
    const mapd = yield* its.mapDevice(DEVICE_ID, 1);
    yield* its.send(0, [ItsCmd.MAPC({ ICID: 0, RDbase: its.rdbase(0, rd), V: 1 }), mapd, ItsCmd.MAPTI({ DeviceID: DEVICE_ID, EventID: EVENT_ID, pINTID: HOST_LPI, ICID: 0 }), ItsCmd.SYNC({ RDbase: its.rdbase(0, rd) })]);
    // The guest: physical IRQs trap to EL2, the virtual CPU interface on, ERET to EL1.
    listRegs = yield* readListRegCount();
    yield* enableVirtualInterface();
    yield msr(HCR_EL2, HCR_RW + HCR_IMO + HCR_FMO);
    yield msr(SPSR_EL2, spsrFor(1, PSR_DAIF));
    yield msr(ELR_EL2, GUEST.entry);
    yield eret();
  }, 'hyp.boot');

  m.code.installVectors(HYP + 0x800, {
    lower64: {
      irq: function* (): Program {
        yield savex(guestRegs);
        const intid: number = (yield mrs(ICC_IAR1_EL1)) & 0xffffff;
        if (intid >= INTID_SPECIAL && intid <= INTID_SPURIOUS) return yield* resume(); // 1020-1023: none pending now
        yield msr(ICC_EOIR1_EL1, intid); // EOImode 0: priority drop and deactivation
        // Still in its LR (ELRSR bit clear)? Add Pending to its state: merged, or Active+Pending.
        let state: number = LrState.Invalid;
        if (lrOfGuestIntid >= 0 && (((yield readElrsr()) as number) & (1 << lrOfGuestIntid)) === 0) state = lrState((yield readLr(lrOfGuestIntid)) as bigint);
        else lrOfGuestIntid = yield* findEmptyLr(listRegs);
        if ((state & LrState.Pending) !== 0) hyp.merged++;
        else {
          yield writeLr(lrOfGuestIntid, encodeLr({ vINTID: GUEST_INTID, Priority: 0xa0, Group: 1, State: state | LrState.Pending }));
          hyp.lrWrites++;
        }
        yield* resume();
      },
    },
  }, 'hyp.vectors');

  const resume = function* (): Program {
    yield restorex(guestRegs);
    yield eret();
  };
  installTinyGuest(board, GUEST);
  m.pes[0]!.powerOn(HYP, 2, m.now);
  return { board, hyp };
}
