/**
 * Two vCPUs of one guest on one core, time-sliced, with a device's MSIs delivered through list
 * registers to whichever vCPU each event targets. Built on core/, gic/ formats and the driver
 * library (drivers/) only, as examples/lr-injection.ts, whose boot and merge rule it reuses.
 *
 * - Boot: as lr-injection.ts, plus PPI 26 enabled at the redistributor (the EL2 physical timer,
 *   Arm ARM DDI 0487, CNTHP_CTL_EL2) and two events mapped (ITS MAPTI): event i -> host LPI
 *   8192 + i, which stands for vINTID 8192 + i of vCPU i. Both vCPUs run the tiny guest; vCPU i
 *   gets TPIDR_EL1 = i, so each logs to its own log.
 * - Time slices: CNTHP_TVAL_EL2 arms the timer; its PPI is a physical IRQ, taken at EL2 because
 *   HCR_EL2.IMO = 1 (Arm ARM DDI 0487, HCR_EL2). Each slice end re-arms it and asks `policy` for
 *   the next vCPU (round-robin by default).
 * - Every EL2 entry saves the running vCPU's x0-x30 first and the ERET restores those of the
 *   vCPU then current, so a switch only moves the rest of the context (`CTX`: ELR_EL2, SPSR_EL2,
 *   the guest's ELR_EL1, SPSR_EL1, VBAR_EL1, TPIDR_EL1), the virtual CPU interface's ICH_VMCR_EL2 and
 *   active-priority registers (drivers' save/restoreVirtualInterface) and the list registers: put folds every LR in use (ICH_ELRSR_EL2 bit clear) back into the vCPU's software
 *   state and empties it, as KVM's vgic_v3_fold_lr_state does; load writes that state into
 *   empty LRs (IHI 0069, ICH_LR<n>_EL2), so an Active interrupt resumes Active.
 * - Delivery: the host LPI is acknowledged and EOIed (ICC_IAR1_EL1, ICC_EOIR1_EL1). If vCPU i runs,
 *   its LR gets Pending as in lr-injection.ts (already Pending: merged; Active: Active+Pending);
 *   if not, the same rule applies to its software state, written into an LR when it is loaded.
 *
 * WFI is not trapped (HCR_EL2.TWI = 0): an idle vCPU sleeps in WFI until its slice ends, wasting
 * the rest of the slice while the other vCPU may have work. A real hypervisor traps WFI (TWI = 1)
 * and schedules the other vCPU at once (KVM's kvm_handle_wfx).
 */
import type { Word } from '../core/bits.js';
import { eret, mrs, mrsn, msr, msrn, restorex, savex, type Program } from '../core/ops.js';
import { HCR_FMO, HCR_IMO, HCR_RW } from '../core/hcr.js';
import { PSR_DAIF, spsrFor } from '../core/pstate.js';
import { ELR_EL1, ELR_EL2, HCR_EL2, SPSR_EL1, SPSR_EL2, TPIDR_EL1, VBAR_EL1, VBAR_EL2 } from '../core/sysregs.js';
import { CNTHP_CTL_EL2, CNTHP_TVAL_EL2, CTL_ENABLE, TIMER_HYP, TIMER_PPI } from '../core/timer.js';
import { createBoard, type Board, type BoardOptions } from '../gic/board.js';
import { encodeLr, LrState } from '../gic/ich-registers.js';
import { ItsCmd } from '../gic/its/commands.js';
import { aprCount } from '../gic/cpuif-regs.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../gic/sysregs.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../drivers/gic-init.js';
import { PhysHeap } from '../drivers/heap.js';
import { ItsDriver } from '../drivers/its.js';
import { enableVirtualInterface, findEmptyLr, lrState, readElrsr, readListRegCount, readLr, readUsedLrs, restoreVirtualInterface, saveVirtualInterface, writeLr, type VirtualInterfaceState } from '../drivers/list-registers.js';
import { allocLpiTables, allocPendingTable, configureLpi, enableLpis } from '../drivers/lpi.js';
import { installTinyGuest, type TinyGuest } from './tiny-guest.js';

export const DEVICE_ID = 1;
export const VCPUS = 2;
/** Event i becomes host LPI HOST_LPI + i, which is vINTID GUEST_INTID + i of vCPU i. */
export const HOST_LPI = 8192;
export const GUEST_INTID = 8192;
/** The EL2 physical timer's PPI (26). */
export const SLICE_PPI = TIMER_PPI[TIMER_HYP];
/** Default time slice, in system counter ticks (CNTFRQ 1 GHz: 50 us). */
export const SLICE_TICKS = 50_000;
const HYP = 0x4000_0000;
export const GUEST: TinyGuest = { entry: 0x4100_0000, log: 0x4200_0000 };
const HEAP = 0x4800_0000;
/** The context a switch moves besides x0-x30, the virtual interface and the LRs (one MRS/MSR each, in this order). */
const CTX = [ELR_EL2, SPSR_EL2, ELR_EL1, SPSR_EL1, VBAR_EL1, TPIDR_EL1];

/** Picks the vCPU to run next when `current`'s slice ends. */
export type Policy = (current: number, vcpus: number) => number;
export const roundRobin: Policy = (cur, n) => (cur + 1) % n;

export interface TwoVcpuOptions extends BoardOptions {
  readonly sliceTicks?: number;
  readonly policy?: Policy;
  /** Cycles the guest's IRQ handler works with the interrupt Active (tiny-guest `handlerCycles`). */
  readonly handlerCycles?: number;
}

/** A vCPU while it is not running: its registers, and its interrupts not in an LR (vINTID -> LrState). */
interface Vcpu {
  readonly x: Word[];
  readonly sys: Word[];
  readonly vif: VirtualInterfaceState;
  readonly irqs: Map<number, number>;
}

export interface TwoVcpus {
  readonly board: Board;
  readonly guest: TinyGuest;
  /** Hypervisor software state and counts. */
  readonly hyp: { running: number; sliceEnds: number; switches: number; lpis: number; lrWrites: number; deferred: number; merged: number };
}

/** Builds the board, installs hypervisor and guest, and powers the core on at EL2. */
export function twoVcpus(o: TwoVcpuOptions = {}): TwoVcpus {
  const board = createBoard(o);
  const { m, config } = board;
  const slice = o.sliceTicks ?? SLICE_TICKS;
  const policy = o.policy ?? roundRobin;
  const guest: TinyGuest = { ...GUEST, handlerCycles: o.handlerCycles };
  const hyp = { running: 0, sliceEnds: 0, switches: 0, lpis: 0, lrWrites: 0, deferred: 0, merged: 0 };
  const heap = new PhysHeap(HEAP, 0x400_0000);
  const vcpus: Vcpu[] = [];
  let listRegs = 0;
  const inLr: number[] = []; // the vINTID last written to each LR (KVM keeps the same shadow)
  const lrs: bigint[] = []; // LR values read back at a switch
  const lrValue = (vintid: number, state: number): bigint => encodeLr({ vINTID: vintid, Priority: 0xa0, Group: 1, State: state });

  m.code.install(HYP, function* boot(): Program {
    yield msr(VBAR_EL2, HYP + 0x800);
    yield* initDistributor(config.gicdBase);
    const rd: number = yield* initRedistributor(config.gicrBase, [SLICE_PPI]);
    const lpis = allocLpiTables(heap, 16);
    for (let i = 0; i < VCPUS; i++) yield* configureLpi(lpis, HOST_LPI + i, 0xa0, true);
    yield* enableLpis(rd, lpis, allocPendingTable(heap, 16));
    yield* initCpuInterface();
    const its = new ItsDriver(config.itsBase, heap);
    yield* its.init();
    const maps = [ItsCmd.MAPC({ ICID: 0, RDbase: its.rdbase(0, rd), V: 1 }), yield* its.mapDevice(DEVICE_ID, 1)];
    for (let i = 0; i < VCPUS; i++) maps.push(ItsCmd.MAPTI({ DeviceID: DEVICE_ID, EventID: i, pINTID: HOST_LPI + i, ICID: 0 }));
    yield* its.send(0, [...maps, ItsCmd.SYNC({ RDbase: its.rdbase(0, rd) })]);
    listRegs = yield* readListRegCount();
    yield* enableVirtualInterface();
    const aprs = aprCount(config.preemptionBits);
    for (let i = 0; i < VCPUS; i++) {
      const vif = { vmcr: 0, ap0r: new Array<number>(aprs).fill(0), ap1r: new Array<number>(aprs).fill(0) };
      yield* saveVirtualInterface(vif); // each vCPU starts from the interface as just enabled
      vcpus.push({ x: new Array<Word>(31).fill(0), sys: [GUEST.entry, spsrFor(1, PSR_DAIF), 0, 0, 0, i], vif, irqs: new Map() });
    }
    yield msr(HCR_EL2, HCR_RW + HCR_IMO + HCR_FMO);
    yield msrn(CTX, vcpus[0]!.sys); // load vCPU 0, start the first slice, enter it
    yield msr(CNTHP_TVAL_EL2, slice);
    yield msr(CNTHP_CTL_EL2, CTL_ENABLE);
    yield eret();
  }, 'hyp.boot');

  /** Put the running vCPU (context saved, LRs folded into its state and emptied), load `next`. */
  function* switchTo(next: number): Program {
    const out = vcpus[hyp.running]!;
    yield mrsn(CTX, out.sys);
    yield* saveVirtualInterface(out.vif);
    yield* readUsedLrs(listRegs, lrs);
    for (let n = 0; n < listRegs; n++) {
      if (lrs[n] === 0n) continue;
      out.irqs.set(inLr[n]!, lrState(lrs[n]!));
      yield writeLr(n, 0n);
    }
    const inc = vcpus[(hyp.running = next)]!;
    yield msrn(CTX, inc.sys);
    yield* restoreVirtualInterface(inc.vif);
    let n = 0; // every LR is empty now; a vCPU here never has more interrupts than LRs
    for (const [vintid, state] of inc.irqs) {
      yield writeLr(n, lrValue(vintid, state));
      inLr[n++] = vintid;
    }
    inc.irqs.clear();
    hyp.switches++;
  }

  /** Makes `vintid` pending for vCPU `i`: in an LR if it runs, in its software state if not. */
  function* deliver(i: number, vintid: number): Program {
    if (i !== hyp.running) {
      const state = vcpus[i]!.irqs.get(vintid) ?? LrState.Invalid;
      if ((state & LrState.Pending) !== 0) hyp.merged++;
      else {
        vcpus[i]!.irqs.set(vintid, state | LrState.Pending);
        hyp.deferred++;
      }
      return;
    }
    // Still in its LR (ELRSR bit clear)? Add Pending to its state: merged, or Active+Pending.
    let state: number = LrState.Invalid;
    let n = inLr.indexOf(vintid);
    if (n >= 0 && (((yield readElrsr()) as number) & (1 << n)) === 0) state = lrState((yield readLr(n)) as bigint);
    else n = yield* findEmptyLr(listRegs);
    if ((state & LrState.Pending) !== 0) hyp.merged++;
    else {
      yield writeLr(n, lrValue(vintid, state | LrState.Pending));
      inLr[n] = vintid;
      hyp.lrWrites++;
    }
  }

  m.code.installVectors(HYP + 0x800, {
    lower64: {
      irq: function* (): Program {
        yield savex(vcpus[hyp.running]!.x); // the guest's GPRs, before this handler uses any
        const intid: number = (yield mrs(ICC_IAR1_EL1)) & 0xffffff;
        if (intid === SLICE_PPI) {
          yield msr(CNTHP_TVAL_EL2, slice); // the next slice: the timer's level drops before the EOI deactivates it
          yield msr(ICC_EOIR1_EL1, intid);
          hyp.sliceEnds++;
          const next = policy(hyp.running, VCPUS);
          if (next !== hyp.running) yield* switchTo(next);
        } else if (intid >= HOST_LPI && intid < HOST_LPI + VCPUS) {
          yield msr(ICC_EOIR1_EL1, intid);
          hyp.lpis++;
          yield* deliver(intid - HOST_LPI, GUEST_INTID + intid - HOST_LPI);
        } // 1020-1023: nothing pending any more
        yield restorex(vcpus[hyp.running]!.x);
        yield eret();
      },
    },
  }, 'hyp.vectors');

  installTinyGuest(board, guest);
  m.pes[0]!.powerOn(HYP, 2, m.now);
  return { board, guest, hyp };
}
