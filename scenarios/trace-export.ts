/**
 * Trace export: the trace records of a run as Chrome trace-event JSON, which the Perfetto UI
 * (ui.perfetto.dev, "Open trace file") and chrome://tracing open.
 *
 * What it shows, per delivery path (one process per path's machine, one for its devices):
 * - one track per physical core: top-level slices say who runs there and at which EL — a vCPU
 *   at EL1 (`vm0.vcpu1 @EL1`) or the hypervisor at EL2 (`EL2: WFI trap`, `EL2: IRQ`) — with
 *   nested slices for exceptions taken at the same EL (the guest's IRQ handler), WFI, every
 *   virtual acknowledge-to-EOI (`vINTID 8224 (vLPI)`) and physical acknowledge-to-EOI at EL2;
 *   instant events for maintenance interrupts, doorbells, kicks and scheduling decisions;
 * - one track per redistributor for vPE residency: `resident vm0.vcpu0` from GICR_VPENDBASER
 *   Valid 0 -> 1 to 1 -> 0, the VPT parse (Dirty = 1) nested at its start, the flush after it;
 * - one track for the ITS: a slice per command (fetch to retirement) and an instant per MSI
 *   translated;
 * - one track per device: a slice per MSI, from the write to GITS_TRANSLATER to its
 *   translation, and a flow arrow from it to the guest's acknowledge of the interrupt it became
 *   (one flow per delivered interrupt, using the matching of latency.ts).
 *
 * How it works: one pass over the records per track keeps a stack of open slices, so slices
 * nest strictly as the format requires. Flows use the "v2" binding (`bind_id` with
 * `flow_out`/`flow_in` on the X events themselves), which Perfetto's legacy JSON importer and
 * the Chrome trace viewer both accept and which cannot bind to the wrong slice.
 *
 * Time: `ts` and `dur` are microseconds, as the format wants. Simulated cycles become whole
 * nanoseconds first (floor), and every value is written as (4 ns + 1) / 4000, i.e. ns + 0.25 ns
 * as an exact decimal number of microseconds: Perfetto
 * truncates `ts * 1000` to an integer, so each value lands on its exact nanosecond and a child
 * slice can never end after its parent because of binary rounding.
 */
import type { TraceRecord } from '../core/trace.js';
import { EC_NAMES } from '../core/esr.js';
import type {} from '../gic/physical-trace.js';
import type {} from '../gic/its/its-trace.js';
import type {} from '../gic/vlpi-trace.js';
import type {} from '../gic/virtual-cpu-interface.js';
import type {} from '../hypervisor/trace-kinds.js';
import { deliveriesOf, expandVms, RecordsNeededError, type RunDelivery, type RunHandle, type RunMatching, type RunMsi } from './run.js';
import type { RunPath, Scenario } from './scenario.js';

/** One Chrome trace event (the subset of the format used here). */
export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'i' | 'M';
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly s?: 't' | 'p' | 'g';
  readonly args?: Readonly<Record<string, unknown>>;
  readonly bind_id?: number;
  readonly flow_in?: boolean;
  readonly flow_out?: boolean;
}

export interface ChromeTrace {
  readonly traceEvents: TraceEvent[];
  readonly displayTimeUnit: 'ns';
  readonly otherData: Readonly<Record<string, unknown>>;
}

/** Everything the exporter needs from one run: its records and how to name what they mention. */
export interface TraceSource {
  readonly path: RunPath;
  readonly records: readonly TraceRecord[];
  readonly cores: number;
  readonly clockHz: number;
  /** Cycles per tick of the system counter (CNTVCT_EL0, which the guests' delivery log holds). */
  readonly tickCycles: number;
  /** Simulated time the run ended (open slices are closed there). */
  readonly end: number;
  readonly vmNames: readonly string[];
  /** Name of each vCPU by global id (the scheduler's numbering). */
  readonly vcpuNames: readonly string[];
  readonly costs: { readonly itsCommand: number; readonly itsTableAccess: number; readonly itsTranslate: number };
  readonly deviceNames: readonly string[];
  readonly msis: readonly RunMsi[];
  readonly deliveries: readonly RunDelivery[];
  readonly lat: RunMatching;
}

/** The exporter's view of a finished run of `s` (tracing must have been on). */
export function traceSource(h: RunHandle, s: Scenario, path: RunPath): TraceSource {
  const p = h.platform;
  const m = p.m;
  if (!m.trace.on) throw new Error('trace export: the run was made without tracing (pass trace: true)');
  if (h.record !== 'all') throw new RecordsNeededError('trace export (the flow from each MSI to the acknowledge it became)', s.name);
  const vms = expandVms(s);
  const vmNames = vms.map((v) => v.name);
  const { msis, deliveries, lat } = deliveriesOf(h, s.name);
  return {
    path,
    records: m.trace.records,
    cores: m.cores,
    clockHz: m.clockHz,
    tickCycles: m.clockHz / m.cntfrq,
    end: m.now,
    vmNames,
    vcpuNames: p.hyp.vcpus.map((v) => `${vmNames[v.vm.index] ?? `vm${v.vm.index}`}.vcpu${v.index}`),
    costs: m.costs,
    deviceNames: h.devices.map((d, i) => `${d.name} -> ${vmNames[h.deviceVm[i]!] ?? '?'}`),
    msis,
    deliveries,
    lat,
  };
}

// ---------------------------------------------------------------------------------------------
// Slices on one track, built with a stack so they nest.

/** A finished slice, in cycles. */
export interface Slice {
  readonly start: number;
  readonly end: number;
  name: string;
  readonly tag: string;
  readonly depth: number;
  args: Record<string, unknown>;
  bindIn?: number;
  bindOut?: number;
}

interface Open {
  readonly start: number;
  name: string;
  readonly tag: string;
  args: Record<string, unknown>;
  readonly slice: { value: Slice | null };
}

/** A track's slices: open/close keep them strictly nested (closing a slice closes those inside it). */
class TrackBuilder {
  readonly slices: Slice[] = [];
  readonly instants: { t: number; name: string; args: Record<string, unknown> }[] = [];
  readonly stack: Open[] = [];

  open(t: number, name: string, tag: string, args: Record<string, unknown> = {}): Open {
    const o: Open = { start: t, name, tag, args, slice: { value: null } };
    this.stack.push(o);
    return o;
  }

  /** Closes the innermost open slice tagged `tag` (and everything inside it); false if none is open. */
  close(t: number, tag: string): boolean {
    let i = this.stack.length - 1;
    while (i >= 0 && this.stack[i]!.tag !== tag) i--;
    if (i < 0) return false;
    while (this.stack.length > i) this.pop(t);
    return true;
  }

  closeAll(t: number): void {
    while (this.stack.length > 0) this.pop(t);
  }

  top(): Open | undefined {
    return this.stack[this.stack.length - 1];
  }

  instant(t: number, name: string, args: Record<string, unknown> = {}): void {
    this.instants.push({ t, name, args });
  }

  private pop(t: number): void {
    const o = this.stack.pop()!;
    const s: Slice = { start: o.start, end: Math.max(t, o.start), name: o.name, tag: o.tag, depth: this.stack.length, args: o.args };
    o.slice.value = s;
    this.slices.push(s);
  }
}

// ---------------------------------------------------------------------------------------------
// The core tracks.

const EXC_NAME: Record<string, string> = { irq: 'IRQ', fiq: 'FIQ', sync: 'sync', serror: 'SError' };

function exitName(type: string, ec: number): string {
  if (type !== 'sync') return EXC_NAME[type] ?? type;
  switch (ec) {
    case 0x01:
      return 'WFI trap';
    case 0x16:
      return 'HVC';
    case 0x17:
      return 'SMC';
    case 0x18:
      return 'sysreg trap';
    case 0x24:
      return 'stage-2 abort (MMIO)';
    default:
      return EC_NAMES[ec] ?? `EC 0x${ec.toString(16)}`;
  }
}

/** A guest's acknowledge of a virtual interrupt (the end of a flow). */
export interface GuestAck {
  readonly core: number;
  readonly vm: number;
  readonly vcpu: number;
  readonly vintid: number;
  readonly t: number;
  readonly slice: { value: Slice | null };
}

export interface CoreTimeline {
  /** Per core: every slice (top-level ones have depth 0). */
  readonly cores: readonly (readonly Slice[])[];
  readonly coreInstants: readonly (readonly { t: number; name: string; args: Record<string, unknown> }[])[];
  /** Per redistributor: residency slices. */
  readonly residency: readonly (readonly Slice[])[];
  readonly residencyInstants: readonly (readonly { t: number; name: string; args: Record<string, unknown> }[])[];
  readonly its: readonly Slice[];
  readonly itsInstants: readonly { t: number; name: string; args: Record<string, unknown> }[];
  readonly acks: readonly GuestAck[];
}

/**
 * Walks the records once and builds every track: per core (who runs at which EL, nested
 * handlers), per redistributor (residency), the ITS (commands). Top-level core slices carry
 * `args.kind` = 'guest' | 'el2' and, for guests, `args.vm`/`args.vcpu`.
 */
export function buildTimeline(src: Pick<TraceSource, 'records' | 'cores' | 'end' | 'vmNames' | 'vcpuNames' | 'costs'>): CoreTimeline {
  const n = src.cores;
  const cores = Array.from({ length: n }, () => new TrackBuilder());
  const rds = Array.from({ length: n }, () => new TrackBuilder());
  const its = new TrackBuilder();
  const loaded: ({ vm: number; vcpu: number } | null)[] = new Array(n).fill(null);
  const acks: GuestAck[] = [];
  const vpName = (vm: number, vcpu: number): string => `${src.vmNames[vm] ?? `vm${vm}`}.vcpu${vcpu}`;
  const vptName = new Map<number, string>();
  /** A residency span waiting for the hypervisor's vpe-schedule record to name it. */
  const unnamed: (Open | null)[] = new Array(n).fill(null);
  let itsFree = 0;

  const openGuest = (c: number, t: number, el: number): void => {
    const v = loaded[c] ?? null;
    const name = v === null ? `EL${el}` : `${vpName(v.vm, v.vcpu)} @EL${el}`;
    cores[c]!.open(t, name, 'top', v === null ? { kind: 'guest', el } : { kind: 'guest', el, vm: v.vm, vcpu: v.vcpu });
  };

  for (const r of src.records) {
    const c = r.core;
    const tb = c >= 0 && c < n ? cores[c]! : null;
    switch (r.kind) {
      case 'cpu-on':
        if (tb === null) break;
        tb.closeAll(r.t);
        if (r.startEl === 2) tb.open(r.t, 'EL2 (boot)', 'top', { kind: 'el2' });
        else openGuest(c, r.t, r.startEl);
        break;
      case 'cpu-off':
        tb?.closeAll(r.t);
        break;
      case 'exception':
        if (tb === null) break;
        if (r.target === 2 && r.from < 2) {
          tb.closeAll(r.t);
          tb.open(r.t, `EL2: ${exitName(r.type, r.ec)}`, 'top', { kind: 'el2', from: r.from, ec: r.ec });
        } else {
          tb.open(r.t, `${EXC_NAME[r.type] ?? r.type} @EL${r.target}`, 'exc', { from: r.from, ec: r.ec });
        }
        break;
      case 'eret':
        if (tb === null) break;
        if (r.from === 2 && r.to < 2) {
          tb.closeAll(r.t);
          openGuest(c, r.t, r.to);
        } else tb.close(r.t, 'exc');
        break;
      case 'wfi-sleep':
        tb?.open(r.t, r.wfe ? 'WFE' : r.el === 2 ? 'idle (WFI)' : 'WFI', 'wfi');
        break;
      case 'lock-wait':
        tb?.open(r.t, `spin: ${r.lock} lock`, 'spin', { lock: r.lock, ticket: r.ticket, owner: r.owner });
        break;
      case 'lock-acquired':
        tb?.close(r.t, 'spin');
        break;
      case 'wfi-wake':
        tb?.close(r.t, 'wfi');
        break;
      case 'vcpu-load':
      case 'vcpu-enter':
        if (c >= 0 && c < n) loaded[c] = { vm: r.vm, vcpu: r.vcpu };
        break;
      case 'vcpu-put':
        if (c >= 0 && c < n) loaded[c] = null;
        break;
      case 'vcpu-exit':
        if (tb !== null) {
          const top = tb.stack[0];
          if (top !== undefined && top.tag === 'top') top.args = { ...top.args, vm: r.vm, vcpu: r.vcpu, exitedFrom: vpName(r.vm, r.vcpu) };
        }
        break;
      case 'icv-ack': {
        if (tb === null || r.source === 'spurious') break;
        const v = loaded[c] ?? null;
        const o = tb.open(r.t, `vINTID ${r.vintid} (${r.source === 'lr' ? `LR${r.lr ?? '?'}` : 'vLPI'})`, 'vack', { vintid: r.vintid, source: r.source, priority: r.priority });
        if (v !== null) acks.push({ core: c, vm: v.vm, vcpu: v.vcpu, vintid: r.vintid, t: r.t, slice: o.slice });
        break;
      }
      case 'icv-eoi':
        if (tb !== null && tb.top()?.tag === 'vack' && tb.top()!.args.vintid === r.vintid) tb.close(r.t, 'vack');
        break;
      case 'gic-ack':
        if (tb !== null && r.el === 2 && r.intid < 1020) tb.open(r.t, `INTID ${r.intid} ack`, 'pack', { intid: r.intid, priority: r.priority });
        break;
      case 'gic-eoi':
        if (tb !== null && tb.top()?.tag === 'pack') tb.close(r.t, 'pack');
        break;
      case 'ich-maintenance':
        if (tb !== null && r.level) tb.instant(r.t, 'maintenance interrupt', { misr: `0x${r.misr.toString(16)}` });
        break;
      case 'vcpu-wake':
        if (tb !== null && r.reason === 'doorbell') tb.instant(r.t, `doorbell: wake ${vpName(r.vm, r.vcpu)}`, { reason: r.reason });
        break;
      case 'hyp-kick':
        tb?.instant(r.t, `kick core ${r.target}`, { vcpu: src.vcpuNames[r.vcpu] ?? r.vcpu });
        break;
      case 'sched-decision':
        tb?.instant(r.t, `sched: ${r.decision < 0 ? 'idle' : (src.vcpuNames[r.decision] ?? r.decision)}`, { event: r.event, slice: r.slice });
        break;
      case 'vpe-residency': {
        const rb = rds[r.rd];
        if (rb === undefined) break;
        if (r.event === 'schedule') {
          rb.closeAll(r.t);
          const known = vptName.get(r.vpt);
          const o = rb.open(r.t, `resident ${known ?? `VPT 0x${r.vpt.toString(16)}`}`, 'resident', { vpt: `0x${r.vpt.toString(16)}` });
          unnamed[r.rd] = known === undefined ? o : null;
          rb.open(r.t, 'VPT parse (Dirty = 1)', 'parse', { dirtyCycles: r.dirty });
        } else if (r.event === 'parsed') {
          if (rb.close(r.t, 'parse')) rb.stack[0]!.args = { ...rb.stack[0]!.args, foundPending: r.found };
        } else if (r.event === 'deschedule') {
          rb.closeAll(r.t);
          rb.open(r.t, 'VPT flush (Dirty = 1)', 'flush', { dirtyCycles: r.dirty });
        } else if (r.event === 'flushed') {
          const o = rb.top();
          if (o !== undefined && o.tag === 'flush') o.args = { ...o.args, pendingLast: r.pendingLast };
          rb.close(r.t, 'flush');
        }
        break;
      }
      case 'vpe-schedule': {
        const name = vpName(r.vm, r.vcpu);
        const o = c >= 0 && c < n ? unnamed[c] : null;
        if (o !== null && o !== undefined) {
          o.name = `resident ${name}`;
          const vpt = o.args.vpt;
          if (typeof vpt === 'string') vptName.set(Number.parseInt(vpt, 16), name);
          o.args = { ...o.args, vm: r.vm, vcpu: r.vcpu, vpe: r.vpe, vmovp: r.vmovp, hypervisorCycles: r.cycles };
          unnamed[c] = null;
        }
        break;
      }
      case 'vlpi-pending':
        if (r.rung) rds[r.rd]?.instant(r.t, `doorbell rung (vINTID ${r.vintid}, ${vptName.get(r.vpt) ?? 'vPE not resident'})`, { doorbell: r.doorbell });
        break;
      case 'its-command': {
        const start = Math.max(itsFree, r.t - src.costs.itsCommand);
        const end = r.t + r.tableAccesses * src.costs.itsTableAccess;
        its.open(start, r.command, 'cmd', { ...r.fields, result: r.result, tableAccesses: r.tableAccesses });
        its.close(end, 'cmd');
        itsFree = end;
        break;
      }
      case 'its-translate':
        its.instant(r.t, r.error !== 0 ? `MSI dropped (0x${r.error.toString(16)})` : `translate dev ${r.deviceId} ev ${r.eventId} -> ${r.virtual ? 'vLPI' : 'LPI'} ${r.intid}`, { rd: r.rd, virtual: r.virtual });
        break;
      default:
        break;
    }
  }
  for (const b of [...cores, ...rds, its]) b.closeAll(src.end);
  return {
    cores: cores.map((b) => b.slices),
    coreInstants: cores.map((b) => b.instants),
    residency: rds.map((b) => b.slices),
    residencyInstants: rds.map((b) => b.instants),
    its: its.slices,
    itsInstants: its.instants,
    acks,
  };
}

/**
 * Binds each delivery to the guest acknowledge in the trace it is: a delivery is an acknowledge
 * (delivery-check.ts), so it is the 'icv-ack' record of the same core, time and vINTID. Returns,
 * per latency index, the acknowledge or null.
 */
export function bindDeliveries(acks: readonly GuestAck[], deliveries: readonly RunDelivery[], lat: RunMatching): (GuestAck | null)[] {
  const at = new Map<string, GuestAck>();
  for (const a of acks) at.set(`${a.core}:${a.t}:${a.vintid}`, a);
  const out: (GuestAck | null)[] = [];
  for (let i = 0; i < lat.deliveryIndex.length; i++) {
    const d = deliveries[lat.deliveryIndex[i]!]!;
    out.push(at.get(`${d.core}:${d.time}:${d.vintid}`) ?? null);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Chrome trace events.

/** A simulated time in cycles as trace-event microseconds (see the header: exact nanoseconds). */
export function tsOf(cycles: number, clockHz: number): number {
  return (4 * nsOf(cycles, clockHz) + 1) / 4000;
}

function nsOf(cycles: number, clockHz: number): number {
  return Math.floor((cycles * 1e9) / clockHz);
}

function durOf(start: number, end: number, clockHz: number): number {
  return (4 * (nsOf(end, clockHz) - nsOf(start, clockHz)) + 1) / 4000;
}

const CORE_TID = 0;
const RD_TID = 1000;
const ITS_TID = 2000;

/** The trace-event JSON of one or more runs (one pair of processes per run). */
export function chromeTrace(sources: readonly TraceSource[], meta: Readonly<Record<string, unknown>> = {}): ChromeTrace {
  const events: TraceEvent[] = [];
  let flowBase = 0;
  const flowsPerPath: Record<string, number> = {};
  sources.forEach((src, k) => {
    const pid = 1 + 2 * k;
    const devPid = pid + 1;
    const hz = src.clockHz;
    const tl = buildTimeline(src);
    const md = (p: number, tid: number, name: 'process_name' | 'thread_name' | 'thread_sort_index' | 'process_sort_index', args: Record<string, unknown>): void => {
      events.push({ name, ph: 'M', pid: p, tid, ts: 0, args });
    };
    md(pid, 0, 'process_name', { name: `${src.path} path: machine` });
    md(pid, 0, 'process_sort_index', { sort_index: 2 * k });
    md(devPid, 0, 'process_name', { name: `${src.path} path: devices` });
    md(devPid, 0, 'process_sort_index', { sort_index: 2 * k + 1 });
    const slice = (p: number, tid: number, s: Slice, cat: string): TraceEvent => {
      const e: TraceEvent = {
        name: s.name,
        cat,
        ph: 'X',
        pid: p,
        tid,
        ts: tsOf(s.start, hz),
        dur: durOf(s.start, s.end, hz),
        args: { ...s.args, startCycle: s.start, cycles: s.end - s.start },
        ...(s.bindIn !== undefined ? { bind_id: s.bindIn, flow_in: true } : {}),
        ...(s.bindOut !== undefined ? { bind_id: s.bindOut, flow_out: true } : {}),
      };
      return e;
    };
    const instant = (p: number, tid: number, x: { t: number; name: string; args: Record<string, unknown> }, cat: string): TraceEvent => ({
      name: x.name,
      cat,
      ph: 'i',
      s: 't',
      pid: p,
      tid,
      ts: tsOf(x.t, hz),
      args: { ...x.args, cycle: x.t },
    });

    // Flows: MSI slice -> the guest's acknowledge.
    const bound = bindDeliveries(tl.acks, src.deliveries, src.lat);
    const flowOfMsi = new Map<number, number>();
    let flows = 0;
    bound.forEach((a, i) => {
      if (a === null || a.slice.value === null) return;
      const id = flowBase + i + 1;
      a.slice.value.bindIn = id;
      flowOfMsi.set(src.lat.msiIndex[i]!, id);
      flows++;
    });
    flowsPerPath[src.path] = flows;
    flowBase += src.lat.deliveryIndex.length;

    for (let c = 0; c < src.cores; c++) {
      md(pid, CORE_TID + c, 'thread_name', { name: `core ${c}` });
      md(pid, CORE_TID + c, 'thread_sort_index', { sort_index: c });
      for (const s of tl.cores[c]!) events.push(slice(pid, CORE_TID + c, s, 'cpu'));
      for (const x of tl.coreInstants[c]!) events.push(instant(pid, CORE_TID + c, x, 'event'));
      if (tl.residency[c]!.length + tl.residencyInstants[c]!.length > 0) {
        md(pid, RD_TID + c, 'thread_name', { name: `GICR ${c} vPE residency` });
        md(pid, RD_TID + c, 'thread_sort_index', { sort_index: 1000 + c });
        for (const s of tl.residency[c]!) events.push(slice(pid, RD_TID + c, s, 'residency'));
        for (const x of tl.residencyInstants[c]!) events.push(instant(pid, RD_TID + c, x, 'doorbell'));
      }
    }
    md(pid, ITS_TID, 'thread_name', { name: 'ITS' });
    md(pid, ITS_TID, 'thread_sort_index', { sort_index: 2000 });
    for (const s of tl.its) events.push(slice(pid, ITS_TID, s, 'its'));
    for (const x of tl.itsInstants) events.push(instant(pid, ITS_TID, x, 'its'));

    // Devices: one slice per MSI, from the write to its translation (cut short if the device writes again first).
    const byDevice = new Map<number, number[]>();
    src.msis.forEach((m, i) => {
      const l = byDevice.get(m.device);
      if (l === undefined) byDevice.set(m.device, [i]);
      else l.push(i);
    });
    for (const [d, list] of [...byDevice].sort((a, b) => a[0] - b[0])) {
      md(devPid, d + 1, 'thread_name', { name: src.deviceNames[d] ?? `device ${d}` });
      md(devPid, d + 1, 'thread_sort_index', { sort_index: d });
      list.sort((a, b) => src.msis[a]!.time - src.msis[b]!.time);
      list.forEach((mi, j) => {
        const m = src.msis[mi]!;
        const next = list[j + 1];
        const end = Math.min(m.time + src.costs.itsTranslate, next === undefined ? Infinity : src.msis[next]!.time);
        const s: Slice = {
          start: m.time,
          end,
          name: `MSI ev ${m.eventId} -> vINTID ${m.vintid}`,
          tag: 'msi',
          depth: 0,
          args: { device: d + 1, eventId: m.eventId, vm: src.vmNames[m.vm] ?? m.vm, vintid: m.vintid, write: m.index },
        };
        const id = flowOfMsi.get(mi);
        if (id !== undefined) s.bindOut = id;
        events.push(slice(devPid, d + 1, s, 'msi'));
      });
    }
  });
  // Sorted by time, a parent before the children that start with it (longer first).
  events.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  return { traceEvents: events, displayTimeUnit: 'ns', otherData: { ...meta, flows: flowsPerPath } };
}

/** The trace as JSON text, one event per line (diff-friendly, and streamable by viewers). */
export function chromeTraceText(t: ChromeTrace): string {
  const lines = t.traceEvents.map((e) => JSON.stringify(e));
  return `{"displayTimeUnit":"ns","otherData":${JSON.stringify(t.otherData)},"traceEvents":[\n${lines.join(',\n')}\n]}\n`;
}
