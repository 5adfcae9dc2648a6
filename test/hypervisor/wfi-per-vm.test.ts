/**
 * WFI trapping chosen per VM: each VM's HCR_EL2.TWI is what the world switch loads for its
 * vCPUs, so on one platform a VM whose WFI traps exits to EL2 with EC 0x01 (WFx) and blocks,
 * while a VM left with native WFI sleeps on its core and never takes that exit.
 */
import test from 'ava';
import { EC } from '../../core/esr.js';
import { HCR_TWI } from '../../core/hcr.js';
import { deviceKernel, DeviceKernel } from '../../guests/samples.js';
import { addDevice, bootGuests, buildPlatform, type PlatformVm } from '../../scenarios/platform.js';
import { buildScenario } from '../../scenarios/run.js';
import { validateScenario } from '../../scenarios/validate.js';

const LPI = 8192 + 32;

function ioVm(name: string, core: number, deviceId: number, trapWfi?: boolean): PlatformVm {
  return { name, vcpus: 1, pinned: [core], injection: 'direct', kernel: (c) => deviceKernel(c), devices: [{ deviceId, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }], ...(trapWfi === undefined ? {} : { trapWfi }) };
}

test('one platform, two VMs: the trapping VM exits with EC 0x01 (WFx) and blocks, the native one never does', (t) => {
  // The platform traps WFI; VM 'native' (alone on core 1) opts out. Each VM is pinned to its own
  // core, so a core's counters are its VM's.
  const p = buildPlatform({ cores: 2, trace: true, trapWfi: true, sliceUs: 100_000, gic: { version: 4 }, vms: [ioVm('trapping', 0, 1), ioVm('native', 1, 2, false)] });
  bootGuests(p);
  t.not(p.hyp.vms[0]!.hcr & HCR_TWI, 0);
  t.is(p.hyp.vms[1]!.hcr & HCR_TWI, 0);
  p.m.trace.clear();
  const wfx = (core: number): number => p.m.pes[core]!.counters.syncByEc[2 * 64 + EC.WFX]!;
  const before = [wfx(0), wfx(1)];
  const el2Before = p.m.pes[1]!.counters.exceptions[2]!;
  const devs = [addDevice(p, 1, [0], { kind: 'periodic', period: 50_000 }, { count: 20 }), addDevice(p, 2, [0], { kind: 'periodic', period: 50_000 }, { count: 20 })];
  for (const d of devs) d.start();
  p.m.runFor(2_000_000);
  for (const k of p.kernels) t.is((k as DeviceKernel).log.length, 20);
  // PE counters: synchronous exceptions to EL2 with EC 0x01, per core (= per VM).
  t.true(wfx(0) - before[0]! >= 20, `${wfx(0) - before[0]!} WFx traps on core 0`);
  t.is(wfx(1) - before[1]!, 0);
  // Trace: the same, and the trapping VM's vCPU blocks while the native one never does.
  const traps = p.m.trace.of('exception').filter((r) => r.target === 2 && r.ec === EC.WFX);
  t.true(traps.length >= 20);
  t.true(traps.every((r) => r.core === 0));
  const blocks = p.m.trace.of('vcpu-block');
  t.true(blocks.length >= 20);
  t.true(blocks.every((r) => r.vm === 0));
  // The native VM's WFIs completed on its core: its 20 interrupts came with no EL2 entry at all
  // (its vPE stayed resident; the slice is longer than the run).
  t.is(p.m.pes[1]!.counters.exceptions[2]! - el2Before, 0);
});

test("a VM's trapWfi overrides the platform default either way; unset, it follows the platform", (t) => {
  const p = buildPlatform({ cores: 1, trapWfi: false, gic: { version: 4 }, vms: [ioVm('a', 0, 1, true), ioVm('b', 0, 2)] });
  bootGuests(p); // HCR_EL2 values are set up when the hypervisor creates the VMs at boot
  t.not(p.hyp.vms[0]!.hcr & HCR_TWI, 0);
  t.is(p.hyp.vms[1]!.hcr & HCR_TWI, 0);
});

test("scenario files: a VM's wfi overrides the scenario's, and a bad value names the field", (t) => {
  const s = validateScenario({
    name: 'mixed',
    cores: 2,
    wfi: 'native',
    vms: [
      { name: 'a', vcpus: 1, kernel: 'device', wfi: 'trap' },
      { name: 'b', vcpus: 1, kernel: 'device' },
      { name: 'c', vcpus: 1, kernel: 'hog', wfi: 'native' },
    ],
    devices: [],
  });
  t.is(s.vms[0]!.wfi, 'trap');
  t.false('wfi' in s.vms[1]!);
  const h = buildScenario(s);
  bootGuests(h.platform);
  t.deepEqual(
    h.platform.hyp.vms.map((vm) => (vm.hcr & HCR_TWI) !== 0),
    [true, false, false],
  );
  t.throws(() => validateScenario({ ...s, vms: [{ name: 'a', vcpus: 1, kernel: 'device', wfi: 'sometimes' }] }), {
    message: /^vms\[0\]\.wfi: expected one of "trap", "native", got "sometimes"$/,
  });
});
