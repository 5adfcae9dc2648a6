/**
 * The side-by-side comparison of the two delivery paths on one scenario and one seed: the
 * table `npm start` prints, built from two `PathResult`s.
 */
import { count, fixed } from './format.js';
import type { CostFigures, PathResult, VmCost } from './run.js';

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

/** VMs the text output lists one by one unless --per-vm asks for all (every VM is in the JSON output). */
export const VM_TABLE_LIMIT = 8;

/** A per-VM table: its column heads, which are text (left-aligned), and its rows. */
export interface VmTable {
  readonly title: string;
  readonly head: readonly string[];
  readonly text: readonly boolean[];
  readonly rows: readonly (readonly string[])[];
}

/** What the per-VM tables read of a run. */
type VmRun = Pick<PathResult, 'path' | 'vms' | 'unattributed'>;

/** How a run's path reads beside a VM: the run's, or for the mixed run the VM's own. */
function vmPathCell(r: VmRun, v: VmCost): string {
  return r.path === 'mixed' ? `mixed: ${v.path}` : r.path;
}

/** Latency cell: '-' for a VM or vCPU that was delivered nothing. */
function latencyCell(delivered: number, us: number): string {
  return delivered > 0 ? fixed(us, 2) : '-';
}

/**
 * Every figure of the comparison per VM (and per vCPU with `vcpus`), per run, as two tables:
 * what each VM received (MSIs, delivered, merged, lost, EL2 entries and cycles per interrupt,
 * latency) and what it cost the hypervisor (exits by class, host interrupts, injections, LR
 * writes, maintenance exits, doorbells, residency changes, VMOVPs, run-queue waits). The last
 * rows (`hypervisor, no vCPU`) hold the EL2 entries and cycles that belong to no vCPU, so each
 * column sums to the run's figure.
 */
export function vmTables(results: readonly VmRun[], o: { vcpus?: boolean } = {}): VmTable[] {
  if (results.length === 0) return [];
  const got: string[][] = [];
  const cost: string[][] = [];
  const n = results[0]!.vms.length;
  for (let i = 0; i < n; i++) {
    for (const r of results) {
      const v = r.vms[i]!;
      const units: { name: string; f: CostFigures; vm: VmCost | null }[] = [{ name: v.vm, f: v, vm: v }];
      if (o.vcpus === true) for (const c of v.vcpus) units.push({ name: `${v.vm}.vcpu${c.vcpu}`, f: c, vm: null });
      for (const u of units) {
        const f = u.f;
        const w = u.vm;
        got.push([
          u.name,
          vmPathCell(r, v),
          w === null ? '' : count(w.msis),
          count(f.delivered),
          w === null ? '' : count(w.coalesced),
          w === null ? '' : `${count(w.undelivered)} / ${count(w.duplicated)} / ${count(w.misdelivered)}`,
          fixed(f.el2EntriesPerIrq, 2),
          count(f.el2CyclesPerIrq),
          latencyCell(f.delivered, f.latencyUs.p50),
          latencyCell(f.delivered, f.latencyUs.p99),
          latencyCell(f.delivered, f.latencyUs.max),
        ]);
        const classes = Object.entries(f.exitsByClass).map(([k, x]) => `${k} ${count(x)}`).join(', ') || '-';
        cost.push([u.name, vmPathCell(r, v), count(f.exits), count(f.irqExits), classes, count(f.el2Cycles), count(f.hostIrqs), count(f.injected), count(f.lrWrites), count(f.maintenance), count(f.doorbells), count(f.residencyChanges), count(f.vmovps), count(f.runQueueWaits), fixed(f.runQueueWaitUs, 2)]);
      }
    }
  }
  for (const r of results) cost.push(['hypervisor, no vCPU', r.path, count(r.unattributed.el2Entries), '', '', count(r.unattributed.el2Cycles), '', '', '', '', '', '', '', '', '']);
  return [
    {
      title: 'What each VM received (over the measurement; EL2 figures per interrupt delivered to it):',
      head: ['VM', 'path', 'MSIs', 'delivered', 'merged', 'undeliv / dup / misdeliv', 'EL2 entries/irq', 'EL2 cycles/irq', 'p50 us', 'p99 us', 'max us'],
      text: [true, true, false, false, false, false, false, false, false, false, false],
      rows: got,
    },
    {
      title: 'What each VM cost the hypervisor (over the measurement):',
      head: ['VM', 'path', 'exits', 'irq', 'sync exits by class', 'EL2 cycles', 'host irqs', 'injected', 'LR writes', 'maint', 'doorbells', 'residency', 'VMOVPs', 'rq waits', 'rq wait us'],
      text: [true, true, false, false, true, false, false, false, false, false, false, false, false, false, false],
      rows: cost,
    },
  ];
}

/** A `VmTable` as text. */
export function formatVmTable(t: VmTable): string {
  const ws = t.head.map((h, c) => Math.max(h.length, ...t.rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string => cells.map((x, c) => (t.text[c] === true ? x.padEnd(ws[c]!) : x.padStart(ws[c]!))).join('  ').trimEnd();
  return [t.title, line(t.head), ...t.rows.map(line)].join('\n');
}

/**
 * The per-VM tables as text (`vmTables`): for up to VM_TABLE_LIMIT VMs by default, for every VM
 * and each of its vCPUs with `perVm` (--per-vm). Empty when there are more VMs and `perVm` is off.
 */
export function formatVmCosts(results: readonly PathResult[], perVm = false): string {
  if (results.length === 0 || (!perVm && results[0]!.vms.length > VM_TABLE_LIMIT)) return '';
  return vmTables(results, { vcpus: perVm }).map(formatVmTable).join('\n\n');
}
