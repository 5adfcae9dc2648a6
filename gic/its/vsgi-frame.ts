/**
 * The GICv4.1 ITS vSGI frame at ITS_base + 0x20000 and its one register, GITS_SGIR (IHI 0069,
 * GITS_SGIR: vINTID [3:0], vPEID [47:32]; 64-bit, write-only): a write makes vSGI vINTID of
 * vPE vPEID pending. The ITS looks the vPE up in its vPE table (the entry VMAPP wrote) and
 * sends the vSGI, with the vPE's default doorbell, to the redistributor that entry names; in
 * the one sharing domain it reaches the redistributor where the vPE is resident
 * (physical-gic.ts `vpeRd`).
 *
 * CHOICEs (the architecture leaves these to the implementation or UNPREDICTABLE):
 * - The vSGI reaches the redistributor `sgiLatency` cycles after the write (the same path
 *   length as a physical SGI); the vPE is looked up when it arrives.
 * - A write naming a vPEID beyond the vPE table or an unmapped vPE is ignored (counted in
 *   `ignored`, traced 'vsgi' 'ignored'); so is any write while GITS_CTLR.Enabled = 0. A vPE
 *   table read that finds no memory is ignored the same way.
 * - Only 64-bit writes are accepted; other accesses, and reads, are RAZ/WI (the register
 *   block's bad-access path). The rest of the frame is RAZ/WI.
 */
import { toBig } from '../../core/bits.js';
import type { Machine } from '../../core/machine.js';
import { RegisterBlock, W64 } from '../../core/regions.js';
import { LatencyFifo } from '../latency-fifo.js';
import type { VlpiPort } from '../ports.js';
import type {} from '../vsgi-trace.js';
import type { ItsEntries } from './entries.js';
import { NO_DOORBELL } from './tables.js';

/** Offset of the vSGI frame from ITS_base, and its size (64 KB). */
export const GITS_VSGI_FRAME = 0x20000;
export const GITS_VSGI_FRAME_SIZE = 0x10000;
/** GITS_SGIR's offset inside the frame (ITS_base + 0x20020). */
export const GITS_SGIR = 0x0020;

export class VsgiFrame {
  readonly block: RegisterBlock;
  /** GITS_SGIR writes whose vSGI was sent to a redistributor. */
  writes = 0;
  /** GITS_SGIR writes ignored (vPEID out of range, unmapped vPE, ITS disabled). */
  ignored = 0;
  private readonly fifo: LatencyFifo;

  constructor(
    private readonly m: Machine,
    itsBase: number,
    private readonly entries: ItsEntries,
    private readonly vlpis: VlpiPort,
    /** GITS_CTLR.Enabled. */
    private readonly enabled: () => boolean,
    /** Which ITS of the machine (names the frame's MMIO region). */
    itsNumber = 0,
  ) {
    this.fifo = new LatencyFifo(m, itsNumber === 0 ? 'its.vsgi' : `its${itsNumber}.vsgi`, m.costs.sgiLatency, (vpeid, vintid) => this.deliver(vpeid, vintid));
    this.block = new RegisterBlock('GITS.vSGI', GITS_VSGI_FRAME_SIZE, [
      {
        name: 'GITS_SGIR', offset: GITS_SGIR, length: 8, widths: W64, regSize: 8,
        write: (_o, _s, v) => this.write(toBig(v)),
      },
    ]);
    m.bus.addMmio(itsNumber === 0 ? 'gits.vsgi' : `gits${itsNumber}.vsgi`, itsBase + GITS_VSGI_FRAME, GITS_VSGI_FRAME_SIZE, this.block, m.costs.gitsRead, m.costs.gitsWrite);
  }

  private write(v: bigint): void {
    const vintid = Number(v & 0xfn);
    const vpeid = Number((v >> 32n) & 0xffffn);
    if (!this.enabled()) return this.ignore(vpeid, vintid);
    this.fifo.push(vpeid, vintid);
  }

  private deliver(vpeid: number, vintid: number): void {
    const e = this.entries;
    if (vpeid >= e.limits.vpeIds || e.vpe(vpeid) !== 0) return this.ignore(vpeid, vintid);
    this.writes++;
    this.vlpis.setVsgiPending(e.vpeRd, vpeid, vintid, e.vpeDoorbell ?? NO_DOORBELL);
  }

  private ignore(vpeid: number, vintid: number): void {
    this.ignored++;
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: -1, el: -1, kind: 'vsgi', rd: -1, vpeid, vintid, what: 'ignored', resident: false, fresh: false, doorbell: NO_DOORBELL, rung: false });
  }
}
