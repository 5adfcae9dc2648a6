/**
 * Trace record kinds of GICv4.1 vSGIs (gic/vsgi.ts, vlpi-frame.ts, its/vsgi-frame.ts), declared
 * once by declaration merging. Every emit is guarded by `if (m.trace.on)`.
 */
import type {} from '../core/trace.js';

declare module '../core/trace.js' {
  interface TraceKinds {
    /**
     * A vSGI event of vPE `vpeid` at redistributor `rd` (-1: none):
     * - 'pending': GITS_SGIR made vINTID pending; `resident`: the vPE is resident at `rd`;
     *   `fresh`: it was not pending before; `rung`: its default doorbell (physical LPI
     *   `doorbell`) was made pending.
     * - 'config': VSGI with Clear = 0; 'cleared': VSGI with Clear = 1.
     * - 'ignored': a GITS_SGIR write naming a vPEID out of range or an unmapped vPE.
     */
    'vsgi': { rd: number; vpeid: number; vintid: number; what: 'pending' | 'config' | 'cleared' | 'ignored'; resident: boolean; fresh: boolean; doorbell: number; rung: boolean };
  }
}
