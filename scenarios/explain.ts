/**
 * `--explain`: follows one interrupt on each delivery path through the real trace of a run and
 * narrates it step by step, in the order hardware and software act, ending with what it cost.
 *
 * Three cases, each found in the trace (never scripted), and two more on a GICv4.1 scenario:
 * - injected: the device's MSI, the ITS translation to a host LPI, the redistributor, the
 *   physical IRQ taken at EL2, the acknowledge and priority drop, the virtual interrupt made
 *   pending in software, the list register write, the ERET, the guest's acknowledge and EOI;
 * - direct, vPE resident: the MSI, the ITS translation to a vLPI, its bit set in the VPT of a
 *   vPE resident on the redistributor, the guest taking it with no EL2 entry;
 * - direct, vPE not resident: the MSI, the translation, the VPT bit in memory, the doorbell LPI,
 *   the physical IRQ at EL2, the vCPU woken, the vPE made resident (GICR_VPENDBASER, VPT parse),
 *   the ERET and the guest's acknowledge and EOI;
 * - GICv4.1 ('direct-v41' run), vPE not resident: the same, with the vPE's default doorbell (asked
 *   for with GICR_VPENDBASER.DB = 1 when the vCPU blocked, rung once) and residency by vPEID;
 * - GICv4.1 direct vSGI (a guest with GICD_CTLR.nASSGIreq): the sender's trapped ICC_SGI1R_EL1,
 *   the hypervisor's GITS_SGIR write, the vSGI presented to the resident target with no exit,
 *   the target guest's acknowledge (no active state) and EOI.
 *
 * Every step is a trace record (time, core, EL, the register or table involved), the MSI write
 * included: the device's 'msi-write' record (core/msi-device.ts). The ITS translates MSIs in
 * arrival order, each `itsTranslate` cycles (the cost table) after its write, so the write a
 * translation comes from is the last 'msi-write' of the same DeviceID and EventID that the bus
 * accepted at least `itsTranslate` cycles before it (a later write of the same event is
 * translated later).
 */
import type {} from '../core/msi-device.js';
import type { TraceKind, TraceOf, TraceRecord } from '../core/trace.js';
import type {} from '../gic/its/its-trace.js';
import type {} from '../gic/physical-trace.js';
import type {} from '../gic/virtual-cpu-interface.js';
import type {} from '../gic/vlpi-trace.js';
import type {} from '../hypervisor/trace-kinds.js';
import { count, plural } from './format.js';
import { expandVms, runScenario, type PathResult, type RunHandle } from './run.js';
import { pathsOf, type DeliveryPath, type Scenario } from './scenario.js';

export type CaseKind = 'injected' | 'direct-resident' | 'direct-not-resident' | 'direct-v41-not-resident' | 'direct-v41-vsgi';

export interface ExplainStep {
  /** Short name of the step ('MSI', 'ITS translation', 'guest acknowledge', ...). */
  readonly step: string;
  /** Simulated time, cycles. */
  readonly t: number;
  /** The PE, or null for the device and the ITS. */
  readonly core: number | null;
  readonly el: number | null;
  /** The trace record kind the step is. */
  readonly kind: TraceKind;
  readonly text: string;
  /** The register or table involved. */
  readonly where: string;
}

export interface ExplainCost {
  /** From the MSI write to the guest's acknowledge. */
  readonly latencyCycles: number;
  /** Exceptions taken to EL2 on the cores involved, between the MSI and the guest's acknowledge. */
  readonly el2Entries: number;
  /** Cycles at EL2 for this interrupt: from the physical IRQ exception to the ERET into the guest. */
  readonly el2Cycles: number;
  readonly lrWrites: number;
  /** vPE residency changes (GICR_VPENDBASER.Valid 0 -> 1) on the way, and the hypervisor's cycles for them. */
  readonly residencyChanges: number;
  readonly residencyCycles: number;
  readonly doorbells: number;
}

export interface ExplainCase {
  readonly kind: CaseKind;
  readonly path: DeliveryPath;
  readonly title: string;
  /** False when the run held no such interrupt (then `steps` is empty and `note` says why). */
  readonly found: boolean;
  readonly steps: readonly ExplainStep[];
  readonly cost: ExplainCost | null;
  readonly note: string;
}

export interface Explanation {
  readonly scenario: string;
  readonly summary: string;
  readonly seed: number;
  readonly cores: number;
  readonly clockHz: number;
  readonly cases: readonly ExplainCase[];
}

/** What the explainer needs to know about a traced run. */
export interface ExplainSource {
  readonly records: readonly TraceRecord[];
  readonly itsTranslate: number;
  readonly vmNames: readonly string[];
  /** Follow interrupts whose MSI was written at or after this time. */
  readonly from: number;
}

// ---------------------------------------------------------------------------------------------

class Cursor {
  constructor(readonly recs: readonly TraceRecord[]) {}

  /** Index and record of the first `kind` record at index >= `from` satisfying `pred`, or null. */
  find<K extends TraceKind>(from: number, kind: K, pred: (r: TraceOf<K>) => boolean = () => true, until = Infinity): [number, TraceOf<K>] | null {
    const recs = this.recs;
    for (let i = Math.max(0, from); i < recs.length; i++) {
      const r = recs[i]!;
      if (r.t > until) return null;
      if (r.kind === kind && pred(r as TraceOf<K>)) return [i, r as TraceOf<K>];
    }
    return null;
  }
}

const hex = (x: number): string => `0x${x.toString(16)}`;

function who(core: number | null, el: number | null): string {
  return core === null ? '' : `core ${core}${el === null || el < 0 ? '' : ` EL${el}`}`;
}

function step(r: TraceRecord, name: string, text: string, where: string): ExplainStep {
  return { step: name, t: r.t, core: r.core >= 0 ? r.core : null, el: r.el >= 0 ? r.el : null, kind: r.kind, text, where };
}

/** The device's write that translation `tr` (at index `at` of the records) comes from, or null. */
function msiWriteOf(src: ExplainSource, at: number, tr: TraceOf<'its-translate'>): TraceOf<'msi-write'> | null {
  const latest = tr.t - src.itsTranslate;
  for (let i = at - 1; i >= 0; i--) {
    const r = src.records[i]!;
    if (r.kind === 'msi-write' && r.t <= latest && r.deviceId === tr.deviceId && r.eventId === tr.eventId && r.status === 'ok') return r;
  }
  return null;
}

/** The MSI and ITS translation steps of translation `tr` at index `at`, or null if the trace holds no write for it. */
function msiSteps(src: ExplainSource, at: number, tr: TraceOf<'its-translate'>): ExplainStep[] | null {
  const w = msiWriteOf(src, at, tr);
  if (w === null) return null;
  return [
    step(
      w,
      'MSI',
      `device ${w.deviceId} writes EventID ${w.eventId} to GITS_TRANSLATER; the interconnect carries its DeviceID (${w.deviceId})`,
      'GITS_TRANSLATER',
    ),
    step(
      tr,
      'ITS translation',
      tr.virtual
        ? `the ITS reads the Device table entry of DeviceID ${tr.deviceId} (its ITT), the ITT entry of EventID ${tr.eventId} (a virtual ITE: vINTID ${tr.intid} of a vPE) and the vPE table entry of that vPE (its redistributor, ${tr.rd}, and its VPT); ${src.itsTranslate} cycles with warm ITS caches`
        : `the ITS reads the Device table entry of DeviceID ${tr.deviceId} (its ITT), the ITT entry of EventID ${tr.eventId} (physical LPI ${tr.intid}, a collection) and the Collection table entry (redistributor ${tr.rd}); ${src.itsTranslate} cycles with warm ITS caches`,
      tr.virtual ? 'Device table -> ITT -> vPE table (GITS_BASER<n>)' : 'Device table -> ITT -> Collection table (GITS_BASER<n>)',
    ),
  ];
}

const NO_WRITE = "the trace holds no device 'msi-write' record for the MSI that was translated";

/** The case of `kind` as not found: `note` says why, `steps` are those found before the trail ran out. */
function notFound(kind: CaseKind, title: string, note: string, steps: readonly ExplainStep[] = []): ExplainCase {
  return { kind, path: kind === 'injected' ? 'injected' : kind.startsWith('direct-v41') ? 'direct-v41' : 'direct', title, found: false, steps, cost: null, note };
}

/** Exceptions taken to EL2 on `cores` with time in [t0, t1]. */
function el2Entries(recs: readonly TraceRecord[], cores: ReadonlySet<number>, t0: number, t1: number): number {
  let n = 0;
  for (const r of recs) if (r.kind === 'exception' && r.target === 2 && cores.has(r.core) && r.t >= t0 && r.t <= t1) n++;
  return n;
}

function guestTail(c: Cursor, at: number, core: number, vintid: number, source: 'lr' | 'vlpi' | 'vsgi', steps: ExplainStep[]): { ack: TraceOf<'icv-ack'>; ackIndex: number } | null {
  const ack = c.find(at, 'icv-ack', (r) => r.core === core && r.vintid === vintid && r.source === source);
  if (ack === null) return null;
  // The guest's IRQ exception that led to the acknowledge: the last one on that core before it.
  let exc: TraceOf<'exception'> | null = null;
  for (let i = ack[0] - 1; i >= at; i--) {
    const r = c.recs[i]!;
    if (r.kind === 'exception' && r.core === core && r.target === 1 && r.type === 'irq') {
      exc = r;
      break;
    }
  }
  if (exc !== null)
    steps.push(
      step(
        exc,
        'guest IRQ',
        source === 'lr'
          ? 'the virtual CPU interface signals vIRQ (a pending list register above the running priority): the guest takes an IRQ exception at EL1'
          : `the virtual CPU interface signals vIRQ (the resident vPE has a pending ${source === 'vsgi' ? 'vSGI' : 'vLPI'} above the running priority): the guest takes an IRQ exception at EL1`,
        'VBAR_EL1 + 0x280 (IRQ), HCR_EL2.IMO = 1',
      ),
    );
  const a = ack[1];
  steps.push(
    step(
      a,
      'guest acknowledge',
      source === 'lr'
        ? `the guest reads ICC_IAR1_EL1, which HCR_EL2.IMO turns into ICV_IAR1_EL1: vINTID ${a.vintid} from list register ${a.lr ?? '?'} (priority ${hex(a.priority)}), now active`
        : source === 'vsgi'
          ? `the guest reads ICC_IAR1_EL1 (ICV_IAR1_EL1): SGI ${a.vintid} straight from the resident vPE's vSGI state (priority ${hex(a.priority)}); no list register is involved, and it is not pending any more and not active (no active state: nASSGIreq)`
          : `the guest reads ICC_IAR1_EL1 (ICV_IAR1_EL1): vINTID ${a.vintid} straight from the redistributor's resident vPE (priority ${hex(a.priority)}); no list register is involved`,
      source === 'lr' ? `ICV_IAR1_EL1 <- ICH_LR${a.lr ?? '?'}_EL2` : source === 'vsgi' ? 'ICV_IAR1_EL1 <- resident vPE (vSGI)' : 'ICV_IAR1_EL1 <- resident vPE (VPT)',
    ),
  );
  const eoi = c.find(ack[0], 'icv-eoi', (r) => r.core === core && r.vintid === vintid);
  if (eoi !== null) {
    const e = eoi[1];
    steps.push(
      step(
        e,
        'guest EOI',
        e.outcome === 'deactivated'
          ? `the guest writes ICC_EOIR1_EL1 (ICV_EOIR1_EL1): priority drop and deactivation of list register ${e.lr ?? '?'}, which is free again`
          : source === 'vsgi'
            ? e.outcome === 'eoicount'
              ? 'the guest writes ICC_EOIR1_EL1 (ICV_EOIR1_EL1): priority drop only, a vSGI has no active state; no list register holds it and ICH_HCR_EL2.vSGIEOICount is 0 on this vCPU, so ICH_HCR_EL2.EOIcount counts it'
              : 'the guest writes ICC_EOIR1_EL1 (ICV_EOIR1_EL1): priority drop only; a vSGI has no active state, and ICH_HCR_EL2.vSGIEOICount = 1 keeps the EOI out of EOIcount: nothing for EL2 to clean up'
            : `the guest writes ICC_EOIR1_EL1 (ICV_EOIR1_EL1): priority drop only; a vLPI has no active state, so there is nothing to deactivate and nothing for EL2 to clean up`,
        'ICV_EOIR1_EL1',
      ),
    );
  }
  return { ack: a, ackIndex: ack[0] };
}

/** The injected path: the first physical LPI from a device, translated at or after `src.from`. */
export function explainInjected(src: ExplainSource): ExplainCase {
  const c = new Cursor(src.records);
  const base = { kind: 'injected' as const, path: 'injected' as const };
  const fail = (note: string, steps?: readonly ExplainStep[]): ExplainCase => notFound(base.kind, 'Injected path', note, steps);
  const tr = c.find(0, 'its-translate', (r) => !r.virtual && r.delivered && r.t - src.itsTranslate >= src.from);
  if (tr === null) return fail('no MSI became a physical LPI in this run');
  const t = tr[1];
  const steps = msiSteps(src, tr[0], t);
  if (steps === null) return fail(NO_WRITE);
  const msiT = steps[0]!.t;
  const rd = t.rd;
  let i = tr[0];
  const pend = c.find(Math.max(0, i - 4), 'gic-pending', (r) => r.intid === t.intid && r.pe === rd && r.t === t.t);
  if (pend !== null) steps.push(step(pend[1], 'redistributor', `redistributor ${rd} sets LPI ${t.intid} pending (its bit in the LPI Pending table) and signals IRQ to core ${rd}`, 'LPI Pending table (GICR_PENDBASER)'));
  const fill = c.find(i, 'gic-lpi', (r) => r.intid === t.intid && r.what === 'fill', t.t + 10_000);
  const exc = c.find(i, 'exception', (r) => r.core === rd && r.target === 2 && r.type === 'irq');
  if (exc === null) return fail('the physical IRQ was never taken');
  if (fill !== null && fill[1].t <= exc[1].t) steps.push(step(fill[1], 'LPI configuration', `redistributor ${rd} reads LPI ${t.intid}'s configuration byte (${hex(fill[1].detail)}: priority and enable)`, 'LPI Configuration table (GICR_PROPBASER)'));
  const wake = c.find(i, 'wfi-wake', (r) => r.core === rd, exc[1].t);
  if (wake !== null) steps.push(step(wake[1], 'wake from WFI', `core ${rd} leaves WFI: an interrupt is pending`, 'WFI'));
  const x = exc[1];
  steps.push(
    step(
      x,
      'physical IRQ at EL2',
      `core ${rd} takes the physical IRQ at EL2 (HCR_EL2.IMO = 1 routes IRQs to EL2), from EL${x.from}: ${x.from === 2 ? "the hypervisor's idle loop" : 'an exit from the guest'}`,
      `VBAR_EL2 + ${x.from === 2 ? '0x280' : '0x480'} (IRQ vector)`,
    ),
  );
  i = exc[0];
  const ack = c.find(i, 'gic-ack', (r) => r.core === rd && r.intid === t.intid);
  if (ack === null) return fail('the LPI was never acknowledged');
  steps.push(step(ack[1], 'acknowledge', `the hypervisor reads ICC_IAR1_EL1: INTID ${t.intid} (priority ${hex(ack[1].priority)}); an acknowledged LPI is no longer pending`, 'ICC_IAR1_EL1'));
  const drop = c.find(ack[0], 'gic-eoi', (r) => r.core === rd && r.intid === t.intid);
  if (drop !== null) steps.push(step(drop[1], 'priority drop', `it writes ICC_EOIR1_EL1: priority drop (EOImode = 1; an LPI has no active state to deactivate)`, 'ICC_EOIR1_EL1'));
  const inj = c.find(ack[0], 'virq-inject', (r) => r.source === t.intid);
  if (inj === null) return fail('the hypervisor injected nothing for it', steps);
  const { vm, vcpu, vintid } = inj[1];
  const name = `${src.vmNames[vm] ?? `vm${vm}`}.vcpu${vcpu}`;
  steps.push(step(inj[1], 'inject', `host LPI ${t.intid} stands for vINTID ${vintid} of ${name}: the hypervisor makes it pending in that vCPU's virtual GIC (a list in its memory)`, 'vgic pending list (hypervisor memory)'));
  i = inj[0];
  const lr = c.find(i, 'ich-lr-write', (r) => r.vintid === vintid && r.state === 1);
  if (lr === null) return fail('no list register was written for it', steps);
  const core = lr[1].core;
  const woke = c.find(i, 'vcpu-wake', (r) => r.vm === vm && r.vcpu === vcpu, lr[1].t);
  if (woke !== null) steps.push(step(woke[1], 'wake', `${name} was blocked in WFI: it becomes runnable (${woke[1].reason})`, 'run queue'));
  const kick = c.find(i, 'hyp-kick', (r) => r.core === rd && r.target === core, lr[1].t);
  if (kick !== null && core !== rd) steps.push(step(kick[1], 'kick', `${name} runs on core ${core}: core ${rd} sends it SGI 0 to make it look at its list registers`, 'ICC_SGI1R_EL1'));
  const sched = c.find(i, 'sched-decision', (r) => r.core === core, lr[1].t);
  if (sched !== null) steps.push(step(sched[1], 'schedule', `the scheduler picks ${name} for core ${core} (after '${sched[1].event}')`, 'scheduler policy'));
  const load = c.find(i, 'vcpu-load', (r) => r.core === core && r.vm === vm && r.vcpu === vcpu, lr[1].t);
  if (load !== null) steps.push(step(load[1], 'world switch', `the hypervisor loads ${name}: its EL1 system registers, virtual timer, ICH_VMCR_EL2 and stage-2 context`, 'EL1 sysregs, ICH_VMCR_EL2, VTTBR_EL2'));
  const l = lr[1];
  steps.push(step(l, 'list register write', `it writes ICH_LR${l.lr}_EL2: vINTID ${l.vintid}, Pending, priority ${hex(l.priority)}, group ${l.group}, HW = ${l.hw ? 1 : 0}`, `ICH_LR${l.lr}_EL2`));
  const eret = c.find(lr[0], 'eret', (r) => r.core === core && r.from === 2 && r.to < 2);
  if (eret === null) return fail('the guest was never entered', steps);
  steps.push(step(eret[1], 'ERET', `ERET from EL2 to EL${eret[1].to}: ${name} runs`, 'ELR_EL2, SPSR_EL2'));
  const tail = guestTail(c, eret[0], core, vintid, 'lr', steps);
  if (tail === null) return fail('the guest never acknowledged it', steps);
  const cores = new Set([rd, core]);
  const lrWrites = src.records.filter((r) => r.kind === 'ich-lr-write' && r.vintid === vintid && r.core === core && r.t >= msiT && r.t <= tail.ack.t).length;
  return {
    ...base,
    title: `Injected path: device ${t.deviceId}, EventID ${t.eventId} -> host LPI ${t.intid} -> ${name}, vINTID ${vintid}`,
    found: true,
    steps,
    cost: {
      latencyCycles: tail.ack.t - msiT,
      el2Entries: el2Entries(src.records, cores, msiT, tail.ack.t),
      el2Cycles: eret[1].t - x.t,
      lrWrites,
      residencyChanges: 0,
      residencyCycles: 0,
      doorbells: 0,
    },
    note: '',
  };
}

/** The direct path with the vPE resident: a vLPI that found its vPE resident (preferably with the guest running). */
export function explainDirectResident(src: ExplainSource): ExplainCase {
  const c = new Cursor(src.records);
  const base = { kind: 'direct-resident' as const, path: 'direct' as const };
  const title = 'Direct injection, vPE resident';
  const fail = (note: string, steps?: readonly ExplainStep[]): ExplainCase => notFound(base.kind, title, note, steps);
  const resident = (r: TraceOf<'vlpi-pending'>): boolean => r.resident && r.t - src.itsTranslate >= src.from;
  const vpf = c.find(0, 'vlpi-pending', (r) => resident(r) && r.el === 1) ?? c.find(0, 'vlpi-pending', resident);
  if (vpf === null) return fail('no vLPI found its vPE resident in this run');
  const [vpIdx, vp] = vpf;
  const tr = c.find(Math.max(0, vpIdx - 4), 'its-translate', (r) => r.virtual && r.intid === vp.vintid && r.rd === vp.rd && r.t === vp.t);
  if (tr === null) return fail('the vLPI has no translation record');
  const steps = msiSteps(src, tr[0], tr[1]);
  if (steps === null) return fail(NO_WRITE);
  const msiT = steps[0]!.t;
  const rd = vp.rd;
  // Who runs on that core.
  let running = '';
  for (let i = vpIdx; i >= 0; i--) {
    const r = src.records[i]!;
    if (r.core === rd && r.kind === 'vcpu-enter') {
      running = `${src.vmNames[r.vm] ?? `vm${r.vm}`}.vcpu${r.vcpu}`;
      break;
    }
  }
  steps.push(
    step(
      vp,
      'vLPI pending (VPT)',
      `redistributor ${rd} sets vINTID ${vp.vintid}'s bit in the VPT at ${hex(vp.vpt)}; that vPE is resident here (GICR_VPENDBASER.Valid = 1), so the vLPI joins its pending set at once${vp.el === 1 ? `, while core ${rd} runs ${running} at EL1` : `; core ${rd} is at EL${vp.el}`}`,
      `VPT @${hex(vp.vpt)} (GICR_VPENDBASER)`,
    ),
  );
  const fill = c.find(vpIdx, 'vlpi', (r) => r.rd === rd && r.vintid === vp.vintid && r.what === 'fill', vp.t + 10_000);
  if (fill !== null) steps.push(step(fill[1], 'vLPI configuration', `redistributor ${rd} reads vINTID ${vp.vintid}'s configuration byte (${hex(fill[1].detail)}) from the guest's own LPI Configuration table`, 'guest LPI Configuration table (GICR_VPROPBASER)'));
  const tail = guestTail(c, vpIdx, rd, vp.vintid, 'vlpi', steps);
  if (tail === null) return fail('the guest never acknowledged it', steps);
  return {
    ...base,
    title: `${title}: device ${tr[1].deviceId}, EventID ${tr[1].eventId} -> vINTID ${vp.vintid}${running !== '' ? ` of ${running}` : ''}, on core ${rd}`,
    found: true,
    steps,
    cost: {
      latencyCycles: tail.ack.t - msiT,
      el2Entries: el2Entries(src.records, new Set([rd]), msiT, tail.ack.t),
      el2Cycles: 0,
      lrWrites: src.records.filter((r) => r.kind === 'ich-lr-write' && r.core === rd && r.t >= msiT && r.t <= tail.ack.t).length,
      residencyChanges: 0,
      residencyCycles: 0,
      doorbells: 0,
    },
    note: '',
  };
}

/**
 * GICv4.1: the default doorbell step's text, naming the GICR_VPENDBASER write (Valid = 0, DB = 1)
 * with which the hypervisor asked for it when the vCPU blocked (the last write of the vPE's
 * residency before the vLPI at index `at`).
 */
function defaultDoorbellText(src: ExplainSource, c: Cursor, at: number, vp: TraceOf<'vlpi-pending'>): string {
  let asked = '';
  for (let i = at - 1; i >= 0; i--) {
    const r = src.records[i]!;
    if (r.kind !== 'vpe-residency' || r.vpt !== vp.vpt || r.event !== 'deschedule') continue;
    const w = c.find(i - 2, 'mmio', (m) => m.core === r.core && m.write && m.t === r.t && m.region.endsWith('.vlpi'), r.t);
    if (w !== null) {
      const v = BigInt(w[1].value);
      const db = Number((v >> 62n) & 1n);
      const pl = Number((v >> 61n) & 1n);
      asked = `; the hypervisor asked for it ${count(vp.t - r.t)} cycles earlier on core ${r.core}, when the vCPU blocked in WFI, by writing GICR_VPENDBASER with Valid = 0, DB = ${db}, PendingLast = ${pl} (vPEID ${Number(v & 0xffffn)})`;
    }
    break;
  }
  return `this is the vPE's first vLPI since it left: the redistributor rings the vPE's default doorbell, physical LPI ${vp.doorbell} (one per vPE, given by VMAPP), makes it pending and signals IRQ to core ${vp.rd}${asked}. Later vLPIs before the vPE is resident again ring nothing`;
}

/**
 * The direct path with the vPE not resident: a vLPI that rang its doorbell. `v41`: the run is
 * GICv4.1 direct injection ('direct-v41'): the doorbell is the vPE's default doorbell, asked for
 * with GICR_VPENDBASER.DB = 1 when the vCPU blocked, and residency is by vPEID.
 */
export function explainDirectNotResident(src: ExplainSource, v41 = false): ExplainCase {
  const c = new Cursor(src.records);
  const base = v41 ? { kind: 'direct-v41-not-resident' as const, path: 'direct-v41' as const } : { kind: 'direct-not-resident' as const, path: 'direct' as const };
  const title = v41 ? 'GICv4.1 direct injection, vPE not resident' : 'Direct injection, vPE not resident';
  const fail = (note: string, steps?: readonly ExplainStep[]): ExplainCase => notFound(base.kind, title, note, steps);
  const vpf = c.find(0, 'vlpi-pending', (r) => !r.resident && r.rung && r.t - src.itsTranslate >= src.from);
  if (vpf === null) return fail('no vLPI rang a doorbell in this run');
  const [vpIdx, vp] = vpf;
  const tr = c.find(Math.max(0, vpIdx - 4), 'its-translate', (r) => r.virtual && r.intid === vp.vintid && r.rd === vp.rd && r.t === vp.t);
  if (tr === null) return fail('the vLPI has no translation record');
  const steps = msiSteps(src, tr[0], tr[1]);
  if (steps === null) return fail(NO_WRITE);
  const msiT = steps[0]!.t;
  const rd = vp.rd;
  steps.push(
    step(
      vp,
      'vLPI pending (VPT)',
      `redistributor ${rd} sets vINTID ${vp.vintid}'s bit in the VPT at ${hex(vp.vpt)} in memory; that vPE is not resident ${v41 ? 'here (no GICR_VPENDBASER holds its vPEID with Valid = 1)' : 'anywhere'}, so no vIRQ can be signalled`,
      `VPT @${hex(vp.vpt)}`,
    ),
  );
  const db = c.find(Math.max(0, vpIdx - 4), 'vlpi-doorbell', (r) => r.rd === rd && r.vintid === vp.vintid && r.t === vp.t);
  const dbPend = c.find(Math.max(0, vpIdx - 4), 'gic-pending', (r) => r.intid === vp.doorbell && r.pe === rd && r.t === vp.t);
  const dbRec = db?.[1] ?? dbPend?.[1];
  if (dbRec !== undefined && v41) steps.push(step(dbRec, 'default doorbell', defaultDoorbellText(src, c, vpIdx, vp), 'Default_Doorbell (VMAPP) -> LPI Pending table'));
  else if (dbRec !== undefined)
    steps.push(step(dbRec, 'doorbell', `the ITE names a doorbell, physical LPI ${vp.doorbell}: redistributor ${rd} makes it pending and signals IRQ to core ${rd}`, 'Dbell_pINTID (VMAPTI) -> LPI Pending table'));
  const exc = c.find(vpIdx, 'exception', (r) => r.core === rd && r.target === 2 && r.type === 'irq');
  if (exc === null) return fail('the doorbell was never taken', steps);
  const wake = c.find(vpIdx, 'wfi-wake', (r) => r.core === rd, exc[1].t);
  if (wake !== null) steps.push(step(wake[1], 'wake from WFI', `core ${rd} leaves WFI: the doorbell is pending`, 'WFI'));
  const x = exc[1];
  steps.push(step(x, 'physical IRQ at EL2', `core ${rd} takes the doorbell as a physical IRQ at EL2, from EL${x.from}${x.from === 2 ? " (the hypervisor's idle loop)" : ' (an exit from the guest running there)'}`, `VBAR_EL2 + ${x.from === 2 ? '0x280' : '0x480'} (IRQ vector)`));
  const ack = c.find(exc[0], 'gic-ack', (r) => r.core === rd && r.intid === vp.doorbell);
  if (ack === null) return fail('the doorbell was never acknowledged', steps);
  steps.push(step(ack[1], 'acknowledge', `the hypervisor reads ICC_IAR1_EL1: INTID ${vp.doorbell}, the doorbell of a vPE`, 'ICC_IAR1_EL1'));
  const drop = c.find(ack[0], 'gic-eoi', (r) => r.core === rd && r.intid === vp.doorbell);
  if (drop !== null) steps.push(step(drop[1], 'priority drop', 'it writes ICC_EOIR1_EL1: priority drop', 'ICC_EOIR1_EL1'));
  const woke = c.find(ack[0], 'vcpu-wake', (r) => r.reason === 'doorbell');
  if (woke === null) return fail('no vCPU was woken by the doorbell', steps);
  const { vm, vcpu } = woke[1];
  const name = `${src.vmNames[vm] ?? `vm${vm}`}.vcpu${vcpu}`;
  steps.push(step(woke[1], 'wake', v41 ? `the default doorbell belongs to ${name}'s vPE, blocked in WFI: it becomes runnable (nothing to disarm: the doorbell LPI stays enabled, and the GIC rings it once per non-resident period)` : `the doorbell belongs to ${name}, blocked in WFI: it becomes runnable`, 'run queue'));
  const sched = c.find(woke[0], 'vpe-schedule', (r) => r.vm === vm && r.vcpu === vcpu);
  if (sched === null) return fail('the vPE was never made resident', steps);
  const core = sched[1].core;
  // The entry's steps in the order they happened: with the VPT-parse wait before entry (Linux
  // 5.11+) the vPE is made resident before the world switch and its parse ends after it.
  const entry: ExplainStep[] = [];
  const pick = c.find(woke[0], 'sched-decision', (r) => r.core === core, sched[1].t);
  if (pick !== null) entry.push(step(pick[1], 'schedule', `the scheduler picks ${name} for core ${core} (after '${pick[1].event}')`, 'scheduler policy'));
  const load = c.find(woke[0], 'vcpu-load', (r) => r.core === core && r.vm === vm && r.vcpu === vcpu, sched[1].t);
  if (load !== null) entry.push(step(load[1], 'world switch', `the hypervisor loads ${name}: EL1 system registers, virtual timer, ICH_VMCR_EL2, stage-2 context`, 'EL1 sysregs, ICH_VMCR_EL2, VTTBR_EL2'));
  const res = c.find(woke[0], 'vpe-residency', (r) => r.rd === core && r.event === 'schedule', sched[1].t);
  const resWrite = res === null || !v41 ? null : c.find(res[0] - 2, 'mmio', (r) => r.core === core && r.write && r.t === res[1].t && r.region.endsWith('.vlpi'));
  if (res !== null && resWrite !== null) {
    const v = BigInt(resWrite[1].value);
    const f = (bit: number): number => Number((v >> BigInt(bit)) & 1n);
    entry.push(
      step(
        res[1],
        'schedule-in',
        `it writes GICR_VPENDBASER = ${hex(Number(v >> 32n))}_${Number(v & 0xffffffffn).toString(16).padStart(8, '0')} (Valid = ${f(63)}, VGrp1En = ${f(58)}, vPEID = ${Number(v & 0xffffn)}): the vPE becomes resident on redistributor ${core}, which finds its VPT and configuration table in entry vPEID of the vPE table it shares with the ITS (GICR_VPROPBASER, set at boot) and parses the VPT (Dirty = 1)`,
        'GICR_VPENDBASER (vPEID, Valid)',
      ),
    );
  } else if (res !== null)
    entry.push(step(res[1], 'schedule-in', `it writes GICR_VPROPBASER and GICR_VPENDBASER (Valid = 1, the VPT at ${hex(res[1].vpt)}): the vPE becomes resident on redistributor ${core}, which parses the VPT (Dirty = 1)`, 'GICR_VPENDBASER'));
  const s = sched[1];
  const moved = s.vmovp ? ', including a VMOVP to move it to this redistributor' : '';
  // The parse is waited for at once (vptParseWait 'at-schedule'), or at the last step before the
  // ERET (vptParseWait 'before-entry', Linux 5.11+): then it ends after the vPE was scheduled.
  const parsedAt = res === null ? null : c.find(res[0], 'vpe-residency', (r) => r.rd === core && r.event === 'parsed');
  const parseStep = (p: NonNullable<typeof parsedAt>): ExplainStep => step(p[1], 'VPT parse done', `the redistributor has parsed the VPT and found ${p[1].found} pending vLPI(s): GICR_VPENDBASER.Dirty reads 0`, 'GICR_VPENDBASER.Dirty');
  if (parsedAt !== null && parsedAt[1].t > s.t) {
    entry.push(step(s, 'vPE scheduled', `the hypervisor made ${name}'s vPE resident (${count(s.cycles)} cycles of EL2 work for it${moved}) and goes on with the entry: it waits for Dirty = 0 at the last step before the ERET (the VPT parse overlapped, Linux 5.11+)`, 'GICR_VPENDBASER'));
    entry.push(parseStep(parsedAt));
  } else {
    if (parsedAt !== null) entry.push(parseStep(parsedAt));
    entry.push(step(s, 'vPE scheduled', `the hypervisor saw Dirty = 0: ${name}'s vPE is resident (${count(s.cycles)} cycles of EL2 work for it${moved})`, 'GICR_VPENDBASER'));
  }
  steps.push(...entry.sort((a, b) => a.t - b.t));
  const eret = c.find(sched[0], 'eret', (r) => r.core === core && r.from === 2 && r.to < 2);
  if (eret === null) return fail('the guest was never entered', steps);
  steps.push(step(eret[1], 'ERET', `ERET from EL2 to EL${eret[1].to}: ${name} runs, with its vLPI already pending at the redistributor`, 'ELR_EL2, SPSR_EL2'));
  const tail = guestTail(c, eret[0], core, vp.vintid, 'vlpi', steps);
  if (tail === null) return fail('the guest never acknowledged it', steps);
  const cores = new Set([rd, core]);
  const changes = src.records.filter((r) => r.kind === 'vpe-residency' && r.event === 'schedule' && r.rd === core && r.t >= msiT && r.t <= tail.ack.t).length;
  return {
    ...base,
    title: `${title}: device ${tr[1].deviceId}, EventID ${tr[1].eventId} -> vINTID ${vp.vintid} of ${name}, doorbell LPI ${vp.doorbell}`,
    found: true,
    steps,
    cost: {
      latencyCycles: tail.ack.t - msiT,
      el2Entries: el2Entries(src.records, cores, msiT, tail.ack.t),
      el2Cycles: eret[1].t - x.t,
      lrWrites: src.records.filter((r) => r.kind === 'ich-lr-write' && cores.has(r.core) && r.t >= msiT && r.t <= tail.ack.t).length,
      residencyChanges: changes,
      residencyCycles: s.cycles,
      // GICv4.1 rings the default doorbell once per non-resident period, however many vLPIs come.
      doorbells: v41 ? src.records.filter((r) => r.kind === 'vlpi-doorbell' && r.vpt === vp.vpt && r.t >= msiT && r.t <= tail.ack.t).length : 1,
    },
    note: '',
  };
}

/**
 * GICv4.1 direct vSGI (guest with nASSGIreq on a 'direct-v41' run): one vSGI made pending at a
 * resident vPE while its guest ran at EL1, followed back to the sender's trapped ICC_SGI1R_EL1
 * and the hypervisor's GITS_SGIR write (IHI 0069, GITS_SGIR: vINTID [3:0], vPEID [47:32]), and
 * forward to the target guest's acknowledge and EOI.
 */
export function explainVsgi(src: ExplainSource): ExplainCase {
  const c = new Cursor(src.records);
  const base = { kind: 'direct-v41-vsgi' as const, path: 'direct-v41' as const };
  const title = 'GICv4.1 direct vSGI, target resident';
  const fail = (note: string, steps?: readonly ExplainStep[]): ExplainCase => notFound(base.kind, title, note, steps);
  const vsf = c.find(0, 'vsgi', (r) => r.what === 'pending' && r.resident && r.el === 1 && r.t >= src.from);
  if (vsf === null) return fail('no vSGI found its vPE resident with its guest running in this run (no guest set GICD_CTLR.nASSGIreq, or no SGIs)');
  const [vsIdx, vs] = vsf;
  // The GITS_SGIR write it came from: the last one naming that vPEID and vINTID.
  let sgir: TraceOf<'mmio'> | null = null;
  let sgirIdx = -1;
  for (let i = vsIdx - 1; i >= 0; i--) {
    const r = src.records[i]!;
    if (r.kind !== 'mmio' || !r.write || r.region !== 'gits.vsgi') continue;
    const v = BigInt(r.value);
    if (Number(v & 0xfn) === vs.vintid && Number((v >> 32n) & 0xffffn) === vs.vpeid) {
      sgir = r;
      sgirIdx = i;
      break;
    }
  }
  if (sgir === null) return fail('the trace holds no GITS_SGIR write for the vSGI');
  const sender = sgir.core;
  // The sender's trap: the last exception to EL2 on its core before the write.
  let trap: TraceOf<'exception'> | null = null;
  let exit: TraceOf<'vcpu-exit'> | null = null;
  for (let i = sgirIdx - 1; i >= 0 && trap === null; i--) {
    const r = src.records[i]!;
    if (r.core !== sender) continue;
    if (r.kind === 'vcpu-exit' && exit === null) exit = r;
    if (r.kind === 'exception' && r.target === 2) trap = r;
  }
  if (trap === null || trap.ec !== 0x18 || exit === null) return fail("the GITS_SGIR write does not follow a trapped ICC_SGI1R_EL1 write");
  const nameOf = (vm: number, vcpu: number): string => `${src.vmNames[vm] ?? `vm${vm}`}.vcpu${vcpu}`;
  const sname = nameOf(exit.vm, exit.vcpu);
  const owner = src.records.find((r): r is TraceOf<'vpe-schedule'> => r.kind === 'vpe-schedule' && r.vpe === vs.vpeid);
  const tname = owner !== undefined ? nameOf(owner.vm, owner.vcpu) : `vPEID ${vs.vpeid}`;
  const steps: ExplainStep[] = [
    step(
      trap,
      'SGI trap',
      `${sname} writes ICC_SGI1R_EL1 (SGI ${vs.vintid} to ${tname}); with HCR_EL2.IMO = 1 the write traps to EL2 (EC 0x18), as on KVM: the hypervisor decodes the target list`,
      'ICC_SGI1R_EL1 -> VBAR_EL2 + 0x400 (EC 0x18)',
    ),
    step(
      sgir,
      'GITS_SGIR write',
      `the guest set GICD_CTLR.nASSGIreq, so its SGIs are direct vSGIs: instead of a list register and a kick, the hypervisor writes GITS_SGIR = ${hex(Number(BigInt(sgir.value)))} (vPEID ${vs.vpeid}, vINTID ${vs.vintid}) in the ITS's vSGI frame`,
      'GITS_SGIR (vPEID, vINTID)',
    ),
  ];
  const back = c.find(sgirIdx, 'eret', (r) => r.core === sender && r.from === 2 && r.to < 2);
  if (back !== null && back[1].t <= vs.t) steps.push(step(back[1], 'ERET (sender)', `ERET from EL2 to EL${back[1].to}: ${sname} goes on; nothing else for EL2 to do`, 'ELR_EL2, SPSR_EL2'));
  const rd = vs.rd;
  steps.push(
    step(
      vs,
      'vSGI pending',
      `the ITS hands it to redistributor ${rd}, where vPEID ${vs.vpeid} is resident (GICR_VPENDBASER.vPEID = ${vs.vpeid}, Valid = 1): SGI ${vs.vintid} becomes pending in the vPE's vSGI state and, being enabled and of high enough priority, is presented to core ${rd}, which runs ${tname} at EL1; no doorbell, no exit`,
      `GICR${rd} vSGI state (vPEID ${vs.vpeid})`,
    ),
  );
  if (back !== null && back[1].t > vs.t) steps.push(step(back[1], 'ERET (sender)', `ERET from EL2 to EL${back[1].to}: ${sname} goes on; nothing else for EL2 to do`, 'ELR_EL2, SPSR_EL2'));
  const tail = guestTail(c, vsIdx, rd, vs.vintid, 'vsgi', steps);
  if (tail === null) return fail('the guest never acknowledged it', steps);
  const eret = steps.find((x) => x.step === 'ERET (sender)');
  const cores = new Set([sender, rd]);
  return {
    ...base,
    title: `${title}: ${sname} sends SGI ${vs.vintid} to ${tname} (vPEID ${vs.vpeid}), on core ${rd}`,
    found: true,
    steps,
    cost: {
      latencyCycles: tail.ack.t - trap.t,
      el2Entries: el2Entries(src.records, cores, trap.t, tail.ack.t),
      el2Cycles: eret !== undefined ? eret.t - trap.t : 0,
      lrWrites: src.records.filter((r) => r.kind === 'ich-lr-write' && cores.has(r.core) && r.t >= trap.t && r.t <= tail.ack.t).length,
      residencyChanges: 0,
      residencyCycles: 0,
      doorbells: src.records.filter((r) => r.kind === 'vsgi' && r.rung && r.vpeid === vs.vpeid && r.t >= trap.t && r.t <= tail.ack.t).length,
    },
    note: '',
  };
}

// ---------------------------------------------------------------------------------------------

/** Runs `s` on both paths with tracing and explains one interrupt of each case. */
export function explainScenario(
  s: Scenario,
  opts: { onProgress?: (path: DeliveryPath, done: number, total: number) => void } = {},
): { explanation: Explanation; handles: Partial<Record<DeliveryPath, RunHandle>>; results: PathResult[] } {
  const handles = {} as Record<DeliveryPath, RunHandle>;
  const results: PathResult[] = [];
  // One interrupt per uniform path: every VM injected, every VM direct (not the mixed run).
  const paths = pathsOf(s).filter((x): x is DeliveryPath => x !== 'mixed');
  const vmNames = expandVms(s).map((v) => v.name);
  const sources = {} as Record<DeliveryPath, ExplainSource>;
  for (const path of paths) {
    const r = runScenario(s, {
      path,
      trace: true,
      onBuilt: (h) => (handles[path] = h),
      ...(opts.onProgress !== undefined ? { onProgress: (d: number, t: number) => opts.onProgress!(path, d, t) } : {}),
    });
    results.push(r);
    const m = handles[path].platform.m;
    sources[path] = { records: m.trace.records, itsTranslate: m.costs.itsTranslate, vmNames, from: handles[path].measureFrom };
  }
  const cases: ExplainCase[] = [explainInjected(sources.injected)];
  if (sources.direct !== undefined) cases.push(explainDirectResident(sources.direct), explainDirectNotResident(sources.direct));
  // GICv4.1 scenarios: the default doorbell, and a direct vSGI when the run has one.
  const v41 = sources['direct-v41'];
  if (v41 !== undefined) cases.push(explainDirectNotResident(v41, true), explainVsgi(v41));
  return {
    explanation: { scenario: s.name, summary: s.summary, seed: s.seed, cores: s.cores, clockHz: s.clockMHz * 1e6, cases },
    handles,
    results,
  };
}

/** `text` wrapped at `width` columns, every line indented by `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + w.length > width) {
      out.push(indent + line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') out.push(indent + line);
  return out;
}

/** Text width of `formatExplanation`. */
export const EXPLAIN_WIDTH = 100;

/**
 * The explanation as text: per step a line with its number, time from the MSI, where it
 * happens (device, ITS, or core and EL), its name and the register or table involved, then the
 * narration, wrapped and indented; each case ends with its cost.
 */
export function formatExplanation(e: Explanation): string {
  const us = (c: number): string => ((c / e.clockHz) * 1e6).toFixed(3);
  const out: string[] = [
    ...wrap(`minivisor --explain: scenario '${e.scenario}': ${e.summary}`, EXPLAIN_WIDTH, ''),
    ...wrap(
      `seed ${e.seed}, ${plural(e.cores, 'core')} at ${e.clockHz / 1e6} MHz. Every step is a record of the run's trace; times are from the device's MSI write${e.cases.some((k) => k.kind === 'direct-v41-vsgi') ? " (for a vSGI, from the sender's ICC_SGI1R_EL1 write)" : ''}.`,
      EXPLAIN_WIDTH,
      '',
    ),
  ];
  e.cases.forEach((k, i) => {
    out.push('', `${i + 1}. ${k.title}`);
    if (!k.found) {
      out.push(`   (${k.note})`);
      return;
    }
    const t0 = k.steps[0]!.t;
    const wStep = Math.max(...k.steps.map((s) => s.step.length));
    out.push('');
    k.steps.forEach((s, j) => {
      const place = s.core === null ? (s.step === 'MSI' ? 'device' : 'ITS') : who(s.core, s.el);
      out.push(`  ${String(j + 1).padStart(2)}  ${`+${us(s.t - t0)}`.padStart(8)} us  ${place.padEnd(10)}  ${s.step.padEnd(wStep)}  ${s.where}`);
      out.push(...wrap(s.text, EXPLAIN_WIDTH, '      '));
    });
    const c = k.cost!;
    const sgi = k.kind === 'direct-v41-vsgi';
    const parts = [
      `${count(c.latencyCycles)} cycles (${us(c.latencyCycles)} us) from the ${sgi ? "sender's ICC_SGI1R_EL1 write" : 'MSI'} to the guest's acknowledge`,
      c.el2Entries === 0 ? 'no EL2 entry and no cycles at EL2' : `${c.el2Entries} EL2 entr${c.el2Entries === 1 ? 'y' : 'ies'}, ${count(c.el2Cycles)} cycles at EL2 from the ${sgi ? "sender's trap" : 'physical IRQ'} to the ERET`,
      plural(c.lrWrites, 'list register write'),
    ];
    if (k.path === 'direct' || k.path === 'direct-v41') parts.push(plural(c.doorbells, 'doorbell'), `${plural(c.residencyChanges, 'vPE residency change')} (${count(c.residencyCycles)} cycles of EL2 work)`);
    out.push('', ...wrap(`cost: ${parts.join('; ')}.`, EXPLAIN_WIDTH, '  '));
  });
  const found = e.cases.filter((k) => k.found);
  if (found.length > 1) {
    out.push('', 'In short:');
    const w = Math.max(20, ...found.map((k) => k.kind.length + 1));
    for (const k of found) out.push(`   ${k.kind.padEnd(w)} ${count(k.cost!.latencyCycles).padStart(7)} cycles to the guest, ${k.cost!.el2Entries} EL2 entr${k.cost!.el2Entries === 1 ? 'y' : 'ies'}, ${count(k.cost!.el2Cycles)} cycles at EL2`);
  }
  return out.join('\n');
}
