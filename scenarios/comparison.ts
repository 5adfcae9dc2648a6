/**
 * The side-by-side comparison of the two delivery paths on one scenario and one seed: the
 * table `npm start` prints, built from two `PathResult`s.
 */
import { count, fixed } from './format.js';
import type { PathResult } from './run.js';

export interface ComparisonRow {
  readonly label: string;
  readonly unit: string;
  readonly values: readonly string[];
}

/** The rows of the comparison table for `results` (one column per path). */
export function comparisonRows(results: readonly PathResult[]): ComparisonRow[] {
  const row = (label: string, unit: string, get: (r: PathResult) => string): ComparisonRow => ({ label, unit, values: results.map(get) });
  return [
    row('MSIs sent', '', (r) => count(r.msis)),
    row('interrupts delivered', '', (r) => count(r.delivered)),
    row('merged while pending', '', (r) => count(r.coalesced)),
    row('undelivered / duplicated / misdelivered', '', (r) => `${count(r.undelivered)} / ${count(r.duplicated)} / ${count(r.misdelivered)}`),
    row('guest-mapped devices (own ITS driver)', '', (r) => guestMappedCell(r)),
    row('EL2 entries per interrupt', '', (r) => fixed(r.el2EntriesPerIrq, 2)),
    row('cycles at EL2 per interrupt', 'cycles', (r) => count(r.el2CyclesPerIrq)),
    row('latency p50', 'cycles', (r) => count(r.latencyCycles.p50)),
    row('latency p99', 'cycles', (r) => count(r.latencyCycles.p99)),
    row('latency max', 'cycles', (r) => count(r.latencyCycles.max)),
    row('latency p50', 'us', (r) => fixed(r.latencyUs.p50, 2)),
    row('latency p99', 'us', (r) => fixed(r.latencyUs.p99, 2)),
    row('latency max', 'us', (r) => fixed(r.latencyUs.max, 2)),
    row('vCPU switches', '', (r) => count(r.vcpuSwitches)),
    row('vPE residency changes', '', (r) => count(r.vpeSwitches)),
    row('vPE residency changes per second', '', (r) => count(r.vpeSwitches / (r.simulatedUs / 1e6))),
    row('cycles per residency change', 'cycles', (r) => (r.vpeSwitches > 0 ? count(r.vpeSwitchCycles / r.vpeSwitches) : '-')),
    row('Dirty polls', '', (r) => count(r.dirtyPolls)),
    row('VMOVPs', '', (r) => count(r.vmovps)),
    row('doorbells taken', '', (r) => count(r.doorbells)),
    row('run-queue wait mean', 'us', (r) => fixed(r.runQueueWaitUs.mean, 2)),
    row('run-queue wait max', 'us', (r) => fixed(r.runQueueWaitUs.max, 2)),
    row('kick IPIs', '', (r) => count(r.kicks)),
    row('maintenance-interrupt exits', '', (r) => count(r.maintenance)),
    row('lock spin per interrupt: ITS / VMOVP / vPE', 'cycles', (r) => `${count(r.locks.its.spinCyclesPerIrq)} / ${count(r.locks.vmovp.spinCyclesPerIrq)} / ${count(r.locks.vpe.spinCyclesPerIrq)}`),
    row('lock spin longest: ITS / VMOVP / vPE', 'cycles', (r) => `${count(r.locks.its.maxSpinCycles)} / ${count(r.locks.vmovp.maxSpinCycles)} / ${count(r.locks.vpe.maxSpinCycles)}`),
    row('contended lock acquisitions', '', (r) => count(r.locks.its.contended + r.locks.vmovp.contended + r.locks.vpe.contended)),
    ...results[0]!.el2Share.map((_, core) => row(`core ${core} time at EL2`, '%', (r) => fixed(100 * r.el2Share[core]!, 1))),
  ];
}

/** 'yes' when every assigned device was mapped by its guest (MAPD through its VM's emulated ITS), with how many (their forwarded events are in the JSON). */
function guestMappedCell(r: PathResult): string {
  const g = r.guestMapped;
  if (g === undefined) return '-';
  const all = g.assigned > 0 && g.devices === g.assigned;
  return `${all ? 'yes' : g.devices === 0 ? 'no' : 'partly'} (${count(g.devices)} of ${count(g.assigned)})`;
}

/** The comparison as a text table. */
export function formatComparison(results: readonly PathResult[]): string {
  const rows = comparisonRows(results);
  const head = ['', ...results.map((r) => r.path)];
  const labels = rows.map((r) => (r.unit === '' ? r.label : `${r.label} (${r.unit})`));
  const w0 = Math.max(...labels.map((l) => l.length)) + 2;
  const ws = results.map((_, i) => Math.max(head[i + 1]!.length, ...rows.map((r) => r.values[i]!.length)) + 2);
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w0) : c.padStart(ws[i - 1]!))).join('').trimEnd();
  return [line(head), ...rows.map((r, i) => line([labels[i]!, ...r.values]))].join('\n');
}

/** VMs the text output lists one by one (more are in the JSON output only). */
export const VM_TABLE_LIMIT = 8;

/**
 * What each VM cost the hypervisor, per path, as a text table: EL1 -> EL2 exits (of which
 * physical IRQs, and the synchronous ones by class), host interrupts taken while its vCPUs ran,
 * virtual interrupts injected, list-register writes, doorbells, vPE residency changes and
 * VMOVPs, and run-queue waits. Empty when the scenario has more than VM_TABLE_LIMIT VMs.
 */
export function formatVmCosts(results: readonly PathResult[]): string {
  if (results.length === 0 || results[0]!.vms.length > VM_TABLE_LIMIT) return '';
  const head = ['VM', 'path', 'exits', 'irq', 'sync exits by class', 'host irqs', 'injected', 'LR writes', 'doorbells', 'residency', 'VMOVPs', 'rq waits', 'rq wait us'];
  const rows: string[][] = [];
  for (let i = 0; i < results[0]!.vms.length; i++) {
    for (const r of results) {
      const v = r.vms[i]!;
      const classes = Object.entries(v.exitsByClass).map(([k, n]) => `${k} ${count(n)}`).join(', ') || '-';
      rows.push([v.vm, r.path, count(v.exits), count(v.irqExits), classes, count(v.hostIrqs), count(v.injected), count(v.lrWrites), count(v.doorbells), count(v.residencyChanges), count(v.vmovps), count(v.runQueueWaits), fixed(v.runQueueWaitUs, 2)]);
    }
  }
  const ws = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string => cells.map((x, c) => (c < 2 || c === 4 ? x.padEnd(ws[c]!) : x.padStart(ws[c]!))).join('  ').trimEnd();
  return ['What each VM cost the hypervisor (over the measurement):', line(head), ...rows.map(line)].join('\n');
}
