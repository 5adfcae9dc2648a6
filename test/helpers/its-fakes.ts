/**
 * Recording fakes of the redistributor side of the ITS ports (`LpiPort`, `VlpiPort`), so ITS
 * tests do not depend on the physical GIC. They keep pending state per RD (per VPT for vLPIs)
 * and log every call with its simulated time.
 */
import type { Machine } from '../../core/machine.js';
import { redistributorSize, type GicConfig } from '../../gic/config.js';
import type { LpiPort, VlpiPort } from '../../gic/ports.js';

export interface PortCall {
  readonly t: number;
  readonly op: string;
  readonly args: readonly number[];
}

export class FakeLpis implements LpiPort {
  readonly calls: PortCall[] = [];
  readonly pending: Set<number>[];
  /** RDs that refuse LPIs (as GICR_CTLR.EnableLPIs = 0 would). */
  readonly refusing = new Set<number>();

  constructor(
    private readonly m: Machine,
    readonly rdCount: number,
    private readonly cfg: GicConfig,
  ) {
    this.pending = Array.from({ length: rdCount }, () => new Set<number>());
  }

  private log(op: string, ...args: number[]): void {
    this.calls.push({ t: this.m.now, op, args });
  }

  /** Calls of one kind. */
  of(op: string): PortCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  rdFromRdbase(rdbase: number, pta: boolean): number {
    if (!pta) return rdbase < this.rdCount ? rdbase : -1;
    const off = rdbase * 0x10000 - this.cfg.gicrBase;
    const size = redistributorSize(this.cfg.version);
    if (off < 0 || off % size !== 0) return -1;
    const rd = off / size;
    return rd < this.rdCount ? rd : -1;
  }

  setLpiPending(rd: number, intid: number): boolean {
    this.log('set', rd, intid);
    if (this.refusing.has(rd)) return false;
    this.pending[rd]!.add(intid);
    return true;
  }

  clearLpiPending(rd: number, intid: number): void {
    this.log('clear', rd, intid);
    this.pending[rd]!.delete(intid);
  }

  isLpiPending(rd: number, intid: number): boolean {
    return this.pending[rd]!.has(intid);
  }

  invalidateLpi(rd: number, intid: number): void {
    this.log('inv', rd, intid);
  }

  invalidateAllLpis(rd: number): void {
    this.log('invall', rd);
  }

  moveAllPending(from: number, to: number): void {
    this.log('movall', from, to);
    for (const i of this.pending[from]!) this.pending[to]!.add(i);
    this.pending[from]!.clear();
  }

  /** Pending LPIs of `rd`, sorted. */
  at(rd: number): number[] {
    return [...this.pending[rd]!].sort((a, b) => a - b);
  }
}

export class FakeVlpis implements VlpiPort {
  readonly calls: PortCall[] = [];
  /** VPT address -> pending vINTIDs. */
  readonly pending = new Map<number, Set<number>>();

  constructor(private readonly m: Machine) {}

  private log(op: string, ...args: number[]): void {
    this.calls.push({ t: this.m.now, op, args });
  }

  of(op: string): PortCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  private set(vpt: number): Set<number> {
    let s = this.pending.get(vpt);
    if (s === undefined) {
      s = new Set();
      this.pending.set(vpt, s);
    }
    return s;
  }

  setVlpiPending(rd: number, vpt: number, vptIdBits: number, vintid: number, doorbell: number): void {
    this.log('vset', rd, vpt, vptIdBits, vintid, doorbell);
    this.set(vpt).add(vintid);
  }

  clearVlpiPending(rd: number, vpt: number, vintid: number): void {
    this.log('vclear', rd, vpt, vintid);
    this.set(vpt).delete(vintid);
  }

  isVlpiPending(_rd: number, vpt: number, vintid: number): boolean {
    return this.set(vpt).has(vintid);
  }

  invalidateVlpi(rd: number, vpt: number, vintid: number): void {
    this.log('vinv', rd, vpt, vintid);
  }

  invalidateAllVlpis(rd: number, vpt: number): void {
    this.log('vinvall', rd, vpt);
  }

  vpeMapped(rd: number, vpt: number, vptIdBits: number): void {
    this.log('mapped', rd, vpt, vptIdBits);
  }

  vpeUnmapped(rd: number, vpt: number): void {
    this.log('unmapped', rd, vpt);
  }

  setVsgiPending(rd: number, vpeid: number, vintid: number, doorbell: number): void {
    this.log('vsgi-set', rd, vpeid, vintid, doorbell);
  }

  configureVsgi(rd: number, vpeid: number, vintid: number, priority: number, group: number, enable: number): void {
    this.log('vsgi-config', rd, vpeid, vintid, priority, group, enable);
  }

  clearVsgi(rd: number, vpeid: number, vintid: number): void {
    this.log('vsgi-clear', rd, vpeid, vintid);
  }

  /** Pending vINTIDs in the VPT at `vpt`, sorted. */
  at(vpt: number): number[] {
    return [...this.set(vpt)].sort((a, b) => a - b);
  }
}
