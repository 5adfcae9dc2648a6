/**
 * What a traced run checks beyond delivery (delivery-check.ts), from its trace records:
 * - residency: a redistributor holds at most one resident vPE (GICR_VPENDBASER.Valid), and a
 *   vPE is resident on at most one redistributor at a time (making one vPE resident on two is
 *   UNPREDICTABLE: IHI 0069, GICR_VPENDBASER);
 * - no list register ever holds a vLPI of the vPE resident on its PE's redistributor: the GIC
 *   delivers those from the VPT, and the same vINTID in an LR as well would make it pending twice
 *   (IHI 0069H §7.2 "Direct injection of virtual interrupts"; KVM likewise keeps forwarded vLPIs
 *   out of the list registers, arch/arm64/kvm/vgic/vgic-v4.c).
 * The vPEs and their vLPIs are read from the hypervisor's records of them (which VPT is whose,
 * which events go to which vCPU); what is checked is what the GIC was told to do.
 */
import type { TraceRecord } from '../core/trace.js';
import type { DirectInjector } from '../hypervisor/direct.js';
import type { RunHandle } from './run.js';

/** At most this many messages (the rest are counted). */
const LIMIT = 10;

export function traceInvariants(h: RunHandle, records: readonly TraceRecord[]): string[] {
  const hyp = h.platform.hyp;
  const direct = hyp.direct as Partial<DirectInjector>;
  // VPT address -> the vINTIDs its vPE is sent directly, and a name.
  const vlpisOf = new Map<number, { name: string; vintids: Set<number> }>();
  if (typeof direct.vpe === 'function') {
    for (const v of hyp.vcpus) {
      const vpe = direct.vpe(v);
      if (vpe === undefined) continue;
      const vintids = new Set<number>();
      for (const [vintid, ev] of hyp.eventsOf(v.vm)) if (ev.vcpu === v) vintids.add(vintid);
      vlpisOf.set(vpe.vpt, { name: `${v}`, vintids });
    }
  }
  const out: string[] = [];
  let more = 0;
  const bad = (s: string): void => {
    if (out.length < LIMIT) out.push(s);
    else more++;
  };
  const residentAt = new Map<number, number>(); // RD -> VPT
  const residentOn = new Map<number, number>(); // VPT -> RD
  for (const r of records) {
    if (r.kind === 'vpe-residency') {
      if (r.event === 'schedule') {
        const other = residentAt.get(r.rd);
        if (other !== undefined && other !== r.vpt) bad(`at cycle ${r.t}: redistributor ${r.rd} made VPT 0x${r.vpt.toString(16)} resident while VPT 0x${other.toString(16)} still was`);
        const elsewhere = residentOn.get(r.vpt);
        if (elsewhere !== undefined && elsewhere !== r.rd) bad(`at cycle ${r.t}: the vPE of VPT 0x${r.vpt.toString(16)} made resident on redistributor ${r.rd} while resident on ${elsewhere}`);
        residentAt.set(r.rd, r.vpt);
        residentOn.set(r.vpt, r.rd);
      } else if (r.event === 'deschedule') {
        const vpt = residentAt.get(r.rd);
        residentAt.delete(r.rd);
        if (vpt !== undefined) residentOn.delete(vpt);
      }
    } else if (r.kind === 'ich-lr-write' && r.state !== 0 && !r.hw) {
      const vpt = residentAt.get(r.core);
      if (vpt === undefined) continue;
      const vpe = vlpisOf.get(vpt);
      if (vpe !== undefined && vpe.vintids.has(r.vintid)) bad(`at cycle ${r.t}: core ${r.core} wrote vINTID ${r.vintid} into ICH_LR${r.lr}_EL2 while ${vpe.name}'s vPE, which gets it directly, was resident there`);
    }
  }
  if (more > 0) out.push(`... and ${more} more`);
  return out;
}
