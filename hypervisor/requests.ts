/**
 * Host-side injection as a KVM user does it, carried out by the hypervisor at EL2: a VMM running
 * beside the machine (the platform, scenarios/platform.ts) writes its request into a ring in the
 * hypervisor image, as an ioctl's argument, and rings the request SPI; the core that SPI is routed
 * to takes it at EL2 (spi-host.ts), reads the ring with loads, carries each request out and
 * writes back its result, the ioctl's return value.
 *
 * The ring (layout.ts REQUEST_RING): one producer, one consumer, so no lock. The VMM writes an
 * entry, then HEAD (request count, modulo 2^32); the hypervisor reads HEAD with a load-acquire,
 * each entry, writes the entry's RESULT and then TAIL with a store-release. Requests written
 * before the hypervisor runs queue up in the ring and are all carried out by one doorbell (the
 * SPI is edge-triggered and deactivated before the ring is read, so one written meanwhile rings
 * again); the VMM refuses a request when the ring is full.
 *
 * - KVM_IRQ_LINE (Documentation/virt/kvm/api.rst; the irq field as KVM's uapi asm/kvm.h lays it
 *   out, layout.ts KVM_IRQ): an SPI of the VM (type 1), or a PPI of one of its vCPUs (type 2,
 *   with the vCPU index), its line raised or lowered (vgic/spi.ts `setLine`: a level-sensitive
 *   interrupt follows the line, an edge-triggered one takes a 1 as an edge). -EINVAL for an INTID
 *   or vCPU the VM does not have, or another type. CHOICE, as KVM's owner check
 *   (vgic_validate_injection): a line owned by something else is left alone and the request
 *   returns 0: an SPI wired to a host device, the timer PPIs 26, 27, 28 and 30.
 * - KVM_SIGNAL_MSI (a device of the VM, DeviceID and EventID): the event's translation
 *   through the VM's emulated ITS (vits/commands.ts, the guest's own mappings); on the injected path its guest LPI is made pending on its vCPU (returns 1; 0 if
 *   the guest's redistributor has LPIs disabled, the MSI "blocked", as KVM answers); on the direct
 *   path the ITS is sent INT for the event, so the vLPI goes through the vPE's VPT and, if not
 *   resident, its doorbell (returns 1), as KVM's irq_set_irqchip_state on a forwarded vLPI does.
 *   An event the VM's device does not map: 0. A VM that does not exist: -EINVAL.
 */
import { ldar, ldr, stlr, str, work, type Program } from '../core/ops.js';
import type { Hypervisor } from './hypervisor.js';
import { EINVAL, HYP_REQUESTS, KVM_IRQ, REQUEST, REQUEST_KIND, REQUEST_RING } from './layout.js';
import { IrqLine, setLine } from './vgic/spi.js';
import { signalMsi as vitsSignalMsi } from './vits/commands.js';
import type { PerCpu, Vm } from './vm.js';

declare module '../core/trace.js' {
  interface TraceKinds {
    /** A VMM request carried out at EL2 (`request`: KVM_IRQ_LINE or KVM_SIGNAL_MSI; `a`, `b` its arguments; `result` its return value). */
    'host-request': { vm: number; request: string; a: number; b: number; result: number };
  }
}

/** PPIs the host cannot drive: the timers' (the EL2 timers, and the guest's virtual and physical timers, which the hypervisor drives). */
const OWNED_PPIS = [26, 27, 28, 30];

/** Carries out every request in the ring (see the top). */
export function* serveRequests(h: Hypervisor, pcpu: PerCpu): Program {
  const host = h.spiHost;
  const ring = h.cfg.codePa + HYP_REQUESTS;
  for (;;) {
    const head: number = yield ldar(ring + REQUEST_RING.HEAD, 4, 9);
    if (head === host.requestTail) return;
    while (host.requestTail !== head) {
      const tail = host.requestTail;
      const slot = ring + REQUEST_RING.ENTRIES + (tail % REQUEST_RING.SLOTS) * REQUEST_RING.SLOT;
      const kind: number = yield ldr(slot + REQUEST.KIND, 4, 9);
      const vm: number = yield ldr(slot + REQUEST.VM, 4, 9);
      const a: number = yield ldr(slot + REQUEST.A, 4, 9);
      const b: number = yield ldr(slot + REQUEST.B, 4, 9);
      yield work(h.cfg.bookkeeping.hypercall);
      const result: number = yield* carryOut(h, pcpu, kind, vm, a, b);
      host.stats.requests++;
      const env = h.env;
      if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'host-request', vm, request: kind === REQUEST_KIND.IRQ_LINE ? 'KVM_IRQ_LINE' : kind === REQUEST_KIND.SIGNAL_MSI ? 'KVM_SIGNAL_MSI' : `kind ${kind}`, a, b, result });
      yield str(slot + REQUEST.RESULT, result >>> 0, 4, 9);
      host.requestTail = (tail + 1) >>> 0;
      yield stlr(ring + REQUEST_RING.TAIL, host.requestTail, 4, 9);
    }
  }
}

function* carryOut(h: Hypervisor, pcpu: PerCpu, kind: number, vmIndex: number, a: number, b: number): Program<number> {
  const vm = h.vms[vmIndex];
  if (vm === undefined) return EINVAL;
  if (kind === REQUEST_KIND.IRQ_LINE) return yield* irqLine(h, pcpu, vm, a, b !== 0);
  if (kind === REQUEST_KIND.SIGNAL_MSI) return yield* signalMsi(h, pcpu, vm, a, b);
  return EINVAL;
}

/** KVM_IRQ_LINE (see the top): `high`, the request's level. */
function* irqLine(h: Hypervisor, pcpu: PerCpu, vm: Vm, irq: number, high: boolean): Program<number> {
  const type = (irq >>> KVM_IRQ.TYPE_SHIFT) & KVM_IRQ.TYPE_MASK;
  const num = irq & KVM_IRQ.NUM_MASK;
  const spis = h.spiHost.vms[vm.index]!;
  if (type === KVM_IRQ.TYPE_SPI) {
    const v = spis.irq(num);
    if (v === undefined) return EINVAL;
    if (v.hw) return 0;
    yield* h.spiHost.tell(pcpu, setLine(v, high, spis.stats));
    return 0;
  }
  if (type !== KVM_IRQ.TYPE_PPI) return EINVAL;
  const vcpu = vm.vcpus[(irq >>> KVM_IRQ.VCPU_SHIFT) & KVM_IRQ.VCPU_MASK];
  if (vcpu === undefined || num < 16 || num >= 32) return EINVAL;
  if (OWNED_PPIS.includes(num)) return 0;
  const p = vcpu.vgic.private[num]!;
  // The PPI's trigger as the guest configured it (GICR_ICFGR1: bit 2k + 1 set = edge, PPI 16 + k).
  const level = ((vcpu.vgic.icfgr1 >>> (2 * (num - 16) + 1)) & 1) === 0;
  let l = p.line;
  if (l === null) {
    l = p.line = new IrqLine(vm, false, level, vcpu);
    l.owner = vcpu;
  }
  if (l.level !== level) {
    l.level = level;
    if (level) l.latch = p.pending;
  }
  p.eoiMaintenance = level;
  yield* h.spiHost.tell(pcpu, setLine(p, high, spis.stats));
  return 0;
}

/** KVM_SIGNAL_MSI (see the top). */
function* signalMsi(h: Hypervisor, pcpu: PerCpu, vm: Vm, deviceId: number, eventId: number): Program<number> {
  // Translated by the VM's emulated ITS, through the guest's own mappings (vits/commands.ts):
  // INT on the physical ITS for a directly injected event, the guest LPI made pending otherwise.
  return yield* vitsSignalMsi(h, pcpu, h.vits[vm.index]!, deviceId, eventId);
}
