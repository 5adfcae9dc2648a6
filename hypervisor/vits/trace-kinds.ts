/** Trace records of the VMs' emulated ITSs (hypervisor/vits/): what the hypervisor did with each guest command. */
declare module '../../core/trace.js' {
  interface TraceKinds {
    /**
     * A guest ITS command processed on this core's trap (GITS_CWRITER write): its decoded fields,
     * the outcome ('done', 'skipped' on a parameter error, 'stalled' on a memory fault), the
     * error code (0x01_CC_EE, 0 when done) and the commands it sent the physical ITS.
     */
    'vits-command': { vm: number; offset: number; command: string; fields: Readonly<Record<string, number | string>>; result: 'done' | 'skipped' | 'stalled'; error: number; host: number };
    /** A guest ITS command error, as the emulated ITS records it (never sent to the physical ITS). */
    'vits-error': { vm: number; offset: number; command: string; code: number; error: string; outcome: 'skipped' | 'stalled' };
  }
}
export {};
