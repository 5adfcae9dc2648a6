/**
 * The micro-benchmark table of one cost profile: every figure the harness measures (the
 * kvm-unit-tests set, the interrupt-latency test, the GICv4 figures), each beside the published
 * figure where one exists (published.ts), with the relative error. Deterministic for a seed.
 */
import { costProfile } from '../../core/costs.js';
import { vcpuLoadToEntry, vmovp } from './gicv4.js';
import { irqLatency, LATENCY_PATHS } from './irq-latency.js';
import { runKut } from './kvm-unit-tests.js';
import { PUBLISHED, relativeError, type Published } from './published.js';

export interface MicroRow {
  /** The figure's name (kvm-unit-tests' test name where it is one). */
  readonly figure: string;
  /** What it measures, in a few words. */
  readonly what: string;
  readonly ns: number;
  readonly published: readonly Published[];
}

export interface MicroOptions {
  /** Iterations of the kvm-unit-tests tests (timer_10ms runs iterations / 256, at least 1; the suite: 65,536). */
  readonly iterations: number;
  /** Interrupt-latency samples after 10 warm-ups (the RTAS 2023 study: 50). */
  readonly samples: number;
  readonly seed: number;
}

export const MICRO_DEFAULTS: MicroOptions = { iterations: 2048, samples: 50, seed: 1 };

export function microTable(profile: string, o: MicroOptions = MICRO_DEFAULTS): MicroRow[] {
  if (costProfile(profile) === undefined) throw new Error(`unknown cost profile ${profile}`);
  const pub = PUBLISHED[profile] ?? {};
  const rows: MicroRow[] = [];
  const row = (figure: string, what: string, ns: number): void => void rows.push({ figure, what, ns, published: pub[figure] ?? [] });
  const what: Record<string, string> = {
    hvc: 'guest HVC round trip (unknown SMCCC function)',
    mmio_read_vgic: 'trapped GICD_IIDR read, emulated at EL2',
    eoi: 'ICV_EOIR1_EL1 write of 1023, not trapped',
    ipi: 'SGI to the other vCPU (running), until handled',
    lpi: 'INT through the emulated ITS, until handled',
    timer_10ms: 'virtual timer expiry to guest handler (10 ms less)',
  };
  for (const f of runKut(profile, { iterations: o.iterations, timerIterations: Math.max(1, Math.ceil(o.iterations / 256)), seed: o.seed })) row(f.test, what[f.test]!, f.ns);
  for (const interf of [false, true]) {
    for (const path of LATENCY_PATHS) {
      const label = `irqlat_${path}${interf ? '+interf' : ''}`;
      row(label, `device MSI to guest handler, ${path === 'bare' ? 'bare metal at EL1' : path}${interf ? ', memory interference' : ''}`, irqLatency(profile, path, interf, { samples: o.samples, seed: o.seed }));
    }
  }
  // As the published figure was measured (2020, before Linux 5.11): the Dirty wait at once.
  const load = vcpuLoadToEntry(profile, { seed: o.seed, platform: { vptParseWait: 'at-schedule' } });
  row('vcpu_load_to_entry', 'world switch in to guest entry, vPE made resident, Dirty waited at once (before Linux 5.11)', load.ns);
  row('doorbell_wakeup', 'MSI to a blocked vCPU: doorbell, wake, resident, handler', irqLatency(profile, 'direct', false, { guest: 'idle', samples: o.samples, seed: o.seed }));
  const mv = vmovp(profile, { seed: o.seed });
  row('vpe_schedule', 'vPE made resident on the same redistributor', mv.stayedNs);
  row('vpe_schedule_vmovp', 'vPE moved (VMOVP + VSYNC) and made resident', mv.movedNs);
  // The hypervisor choices (hypervisor/config.ts), each against the other setting above.
  row('vcpu_load_to_entry@before-entry', 'as vcpu_load_to_entry, VPT-parse wait before entry (Linux 5.11+, the default)', vcpuLoadToEntry(profile, { seed: o.seed, platform: { vptParseWait: 'before-entry' } }).ns);
  row('doorbell_wakeup@opportunistic-wfi', 'as doorbell_wakeup, WFI not trapped: vCPU alone with vLPIs (Linux 5.5+)', irqLatency(profile, 'direct', false, { guest: 'idle', samples: o.samples, seed: o.seed, platform: { opportunisticWfi: true } }));
  const hvcDirect = (residency: 'load-put' | 'entry-exit'): number => runKut(profile, { iterations: Math.max(1, Math.ceil(o.iterations / 4)), timerIterations: 1, tests: ['hvc'], seed: o.seed, injection: 'direct', platform: { residency } })[0]!.ns;
  row('hvc@direct', 'hvc in a VM with vPEs, residency at load/put (Linux 5.5+)', hvcDirect('load-put'));
  row('hvc@direct,entry-exit', 'hvc in a VM with vPEs, residency on every entry/exit (before 5.5)', hvcDirect('entry-exit'));
  return rows;
}

function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

/** The table as text (Markdown with `markdown`), with its sources numbered under it. */
export function formatMicro(profile: string, rows: readonly MicroRow[], markdown = false): string {
  const p = costProfile(profile)!;
  const sources: string[] = [];
  const ref = (s: string): number => {
    const i = sources.indexOf(s);
    if (i >= 0) return i + 1;
    sources.push(s);
    return sources.length;
  };
  const body: string[][] = [];
  for (const r of rows) {
    const pubs = r.published.length > 0 ? r.published : [null];
    pubs.forEach((pb, i) => {
      const err = pb === null ? '' : pb.setsCost ? 'set a cost' : `${relativeError(r.ns, pb.ns) >= 0 ? '+' : ''}${(relativeError(r.ns, pb.ns) * 100).toFixed(0)}%`;
      body.push([i === 0 ? r.figure : '', i === 0 ? fmt(r.ns) : '', pb === null ? '-' : `${fmt(pb.ns)} [${ref(pb.source)}]`, err, i === 0 ? r.what : '']);
    });
  }
  const head = ['figure', 'model (ns)', 'published (ns)', 'error', 'what'];
  const lines: string[] = [];
  const clock = p.machine !== undefined ? `${p.machine.clockMHz} MHz` : '2000 MHz';
  lines.push(`${profile}: ${p.machine?.description ?? p.summary} (${clock})`);
  if (p.machine?.gicVersion === 3) lines.push('(a GICv3 machine: the rows of vPEs, doorbells and VMOVP run on a GICv4 with its costs, to show what the choice would cost there)');
  lines.push('');
  if (markdown) {
    lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 1 || i === 2 || i === 3 ? '---:' : '---')).join('|')}|`);
    for (const b of body) lines.push(`| ${b.join(' | ')} |`);
  } else {
    const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (c: readonly string[]): string => c.map((x, i) => (i === 0 || i === 4 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ').trimEnd();
    lines.push(line(head));
    for (const b of body) lines.push(line(b));
  }
  // The comparison in one line: every published figure that set no cost.
  const errs = rows.flatMap((r) => r.published.filter((pb) => pb.setsCost !== true).map((pb) => relativeError(r.ns, pb.ns)));
  if (errs.length > 0) {
    const abs = errs.map(Math.abs).sort((a, b) => a - b);
    const median = abs.length % 2 === 1 ? abs[(abs.length - 1) / 2]! : (abs[abs.length / 2 - 1]! + abs[abs.length / 2]!) / 2;
    const below = errs.filter((e) => e < 0).length;
    lines.push('', `${errs.length} published figures compared (none of them set a cost): median |error| ${(median * 100).toFixed(0)}%, ${below} below and ${errs.length - below} above the published figure.`);
  }
  if (sources.length > 0) {
    lines.push('');
    sources.forEach((s, i) => lines.push(`${markdown ? '' : ''}[${i + 1}] ${s}${markdown ? '  ' : ''}`));
  }
  return lines.join('\n') + '\n';
}
