/**
 * Configuration limits: an assigned device whose DeviceID or EventIDs the ITS cannot hold, a
 * guest LPI outside the guest's INTID space, or more host LPIs than the GIC has, is refused
 * when the platform is built, with an error naming the VM, the device, the field and the
 * limit (the ITS would otherwise refuse the MAPD/MAPTI and the interrupts would silently never
 * arrive). A configuration exactly at each limit boots and delivers.
 */
import test from 'ava';
import { deviceKernel, DeviceKernel } from '../../guests/samples.js';
import { addDevice, bootGuests, buildPlatform, type PlatformOptions, type PlatformVm } from '../../scenarios/platform.js';

const LPI = 8192 + 32;

function vm(o: Partial<PlatformVm> & Pick<PlatformVm, 'devices'>): PlatformVm {
  return { name: 'io', vcpus: 2, kernel: (c) => deviceKernel(c), ...o };
}

function build(o: Partial<PlatformOptions> & Pick<PlatformOptions, 'vms'>): ReturnType<typeof buildPlatform> {
  return buildPlatform({ cores: 1, gic: { version: 4 }, ...o });
}

/** Boots `p`, sends `count` MSIs of (deviceId, eventId) and returns the MSIs sent and the guest LPIs the guest logged. */
function deliver(p: ReturnType<typeof buildPlatform>, deviceId: number, eventId: number, count: number): { sent: number; log: number[] } {
  bootGuests(p);
  const dev = addDevice(p, deviceId, [eventId], { kind: 'periodic', period: 40_000 }, { count });
  dev.start();
  p.m.runFor(2_000_000);
  return { sent: dev.sent, log: [...(p.kernels[0] as DeviceKernel).log.intid] };
}

test('an EventID beyond GITS_TYPER.ID_bits is refused, naming the VM, the device and the limit', (t) => {
  for (const injection of ['list-register', 'direct'] as const) {
    const e = t.throws(() => build({ vms: [vm({ injection, devices: [{ deviceId: 7, events: [{ eventId: 70000, vcpu: 0, vintid: LPI }] }] })] }));
    t.is(e!.message, "vm 'io': device 7: EventID 70000 needs 17 ID bits, the ITS supports 16 (GITS_TYPER.ID_bits = 15)");
  }
  const small = t.throws(() => build({ gic: { its: { eventIdBits: 8 } }, vms: [vm({ devices: [{ deviceId: 3, events: [{ eventId: 256, vcpu: 1, vintid: LPI }] }] })] }));
  t.is(small!.message, "vm 'io': device 3: EventID 256 needs 9 ID bits, the ITS supports 8 (GITS_TYPER.ID_bits = 7)");
});

test('a DeviceID beyond GITS_TYPER.Devbits is refused', (t) => {
  const e = t.throws(() => build({ vms: [vm({ devices: [{ deviceId: 65536, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] })] }));
  t.is(e!.message, "vm 'io': device 65536: DeviceID 65536 needs 17 ID bits, the ITS supports 16 (GITS_TYPER.Devbits = 15)");
  const small = t.throws(() => build({ gic: { its: { deviceIdBits: 4 } }, vms: [vm({ injection: 'direct', devices: [{ deviceId: 16, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] })] }));
  t.is(small!.message, "vm 'io': device 16: DeviceID 16 needs 5 ID bits, the ITS supports 4 (GITS_TYPER.Devbits = 3)");
});

test('direct injection needs an ITS whose ID_bits covers the 16-bit VPTs (VMAPP VPT_size)', (t) => {
  const e = t.throws(() => build({ gic: { its: { eventIdBits: 8 } }, vms: [vm({ injection: 'direct', devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] })] }));
  t.is(e!.message, "vm 'io': direct injection needs 16 ID bits for its vPEs' virtual pending tables (VMAPP VPT_size 15), the ITS supports 8 (GITS_TYPER.ID_bits = 7)");
});

test('guest LPIs outside the guest INTID space, missing vCPUs and IDs assigned twice are refused', (t) => {
  const dev = (events: { eventId: number; vcpu: number; vintid: number }[], deviceId = 7) => ({ deviceId, events });
  const cases: [PlatformVm[], string][] = [
    [[vm({ devices: [dev([{ eventId: 1, vcpu: 0, vintid: 65536 }])] })], "vm 'io': device 7: EventID 1: guest LPI 65536 is outside the guest's LPIs 8192..65535 (its GIC has 16 INTID bits, GICD_TYPER.IDbits = 15)"],
    [[vm({ devices: [dev([{ eventId: 1, vcpu: 0, vintid: 8191 }])] })], "vm 'io': device 7: EventID 1: guest LPI 8191 is outside the guest's LPIs 8192..65535 (its GIC has 16 INTID bits, GICD_TYPER.IDbits = 15)"],
    [[vm({ injection: 'direct', devices: [dev([{ eventId: 1, vcpu: 2, vintid: LPI }])] })], "vm 'io': device 7: EventID 1 targets vCPU 2, but the VM has 2 vCPUs"],
    [[vm({ devices: [dev([{ eventId: 1, vcpu: 0, vintid: LPI }, { eventId: 1, vcpu: 1, vintid: LPI + 1 }])] })], "vm 'io': device 7: EventID 1 is assigned twice"],
    [
      [vm({ devices: [dev([{ eventId: 0, vcpu: 0, vintid: LPI }])] }), vm({ name: 'other', devices: [dev([{ eventId: 0, vcpu: 0, vintid: LPI }])] })],
      "vm 'other': device 7: DeviceID 7 is already assigned to vm 'io' (one device, one ITT)",
    ],
  ];
  for (const [vms, message] of cases) t.is(t.throws(() => build({ vms }))!.message, message);
});

test('more host LPIs than GICD_TYPER.IDbits allows are refused, doorbells included', (t) => {
  // gic.idBits 14: LPIs 8192..16383, 8192 of them.
  const events = (n: number) => Array.from({ length: n }, (_, e) => ({ eventId: e, vcpu: 0, vintid: LPI + (e % 16) }));
  const injected = t.throws(() => build({ gic: { idBits: 14 }, vms: [vm({ devices: [{ deviceId: 2, events: events(8193) }] })] }));
  t.is(
    injected!.message,
    "vm 'io': device 2: EventID 8192 needs host LPI 16384, the GIC supports 14 INTID bits (GICD_TYPER.IDbits = 13: LPIs 8192..16383; one per event on the injected path, one doorbell per vCPU on the direct path)",
  );
  // 8190 doorbells for the direct VM, then 3 events of the injected one: the third is one too many.
  const mixed = t.throws(() =>
    build({
      gic: { idBits: 14 },
      vms: [vm({ name: 'big', vcpus: 8190, injection: 'direct', devices: [] }), vm({ devices: [{ deviceId: 2, events: events(3) }] })],
    }),
  );
  t.regex(mixed!.message, /^vm 'io': device 2: EventID 2 needs host LPI 16384, the GIC supports 14 INTID bits/);
  const doorbells = t.throws(() => build({ gic: { idBits: 14 }, vms: [vm({ name: 'big', vcpus: 8193, ramMiB: 32, injection: 'direct', devices: [] })] }));
  t.regex(doorbells!.message, /^vm 'big': vCPU 8192: its vPE doorbell needs host LPI 16384, the GIC supports 14 INTID bits/);
});

test('at the limits: DeviceID and EventID 2^16 - 1 are delivered on both paths', (t) => {
  for (const injection of ['list-register', 'direct'] as const) {
    const p = build({ trapWfi: false, vms: [vm({ vcpus: 1, injection, devices: [{ deviceId: 65535, events: [{ eventId: 65535, vcpu: 0, vintid: 65535 }] }] })] });
    t.deepEqual(deliver(p, 65535, 65535, 5), { sent: 5, log: [65535, 65535, 65535, 65535, 65535] }, injection);
    t.is(p.gic.its.errorCount, 0, injection);
  }
});

test('at the limit: the last host LPI (2^idBits - 1) carries an event on the injected path', (t) => {
  const events = Array.from({ length: 8192 }, (_, e) => ({ eventId: e, vcpu: 0, vintid: LPI + (e % 16) }));
  const p = build({ gic: { idBits: 14 }, vms: [vm({ vcpus: 1, devices: [{ deviceId: 2, events }] })] });
  t.deepEqual(deliver(p, 2, 8191, 3), { sent: 3, log: [LPI + 15, LPI + 15, LPI + 15] });
  t.is(p.hyp.nextHostLpi, 16384);
  t.is(p.gic.its.errorCount, 0);
});
