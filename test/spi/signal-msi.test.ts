/**
 * KVM_SIGNAL_MSI carried out at EL2 (hypervisor/requests.ts): an MSI of one of the VM's devices,
 * named by DeviceID and EventID. On the injected path the event's guest LPI is made pending on its
 * vCPU (a list register); on the direct path the hypervisor sends the physical ITS an INT for the
 * event, so the vLPI goes through the vPE's virtual pending table (and, the vCPU blocked in WFI,
 * its doorbell). Results as KVM gives them: 1 delivered, 0 when nothing maps the event (or the
 * guest has LPIs disabled), -EINVAL for a VM that does not exist.
 */
import test from 'ava';
import { deviceKernel, type DeviceKernel } from '../../guests/samples.js';
import { bootGuests, buildPlatform, requestResult, signalMsi } from '../../scenarios/platform.js';
import { runUs } from './spi-guest.js';

for (const injection of ['list-register', 'direct'] as const) {
  test(`${injection}: KVM_SIGNAL_MSI delivers the event's guest LPI to its vCPU once per request; unmapped events and another VM's device are refused`, (t) => {
    const p = buildPlatform({
      cores: 2,
      trace: true,
      vmm: true,
      gic: { version: 4 },
      vms: [
        { name: 'a', vcpus: 2, injection, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 7, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }, { eventId: 1, vcpu: 1, vintid: 8225 }] }] },
        { name: 'b', vcpus: 1, injection, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 9, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }] }] },
      ],
    });
    bootGuests(p);
    const [a, b] = p.kernels as DeviceKernel[];
    const ok = [];
    for (let i = 0; i < 5; i++) {
      ok.push(signalMsi(p, 0, 7, i % 2));
      runUs(p, 30);
    }
    const refused = [signalMsi(p, 0, 7, 5), signalMsi(p, 0, 9, 0), signalMsi(p, 1, 7, 0), signalMsi(p, 4, 7, 0)];
    runUs(p, 50);
    t.deepEqual(ok.map((r) => requestResult(p, r)), [1, 1, 1, 1, 1]);
    t.deepEqual(refused.map((r) => requestResult(p, r)), [0, 0, 0, -22]);
    t.deepEqual(Array.from(a!.log.intid), [8224, 8225, 8224, 8225, 8224]);
    t.deepEqual(Array.from(a!.log.cpu), [0, 1, 0, 1, 0]);
    t.is(b!.log.length, 0);
    const acks = p.m.trace.of('icv-ack').filter((r) => r.vintid >= 8192);
    t.true(acks.every((r) => r.source === (injection === 'direct' ? 'vlpi' : 'lr')));
    // The direct path went through the physical ITS: one INT per delivered request.
    const ints = p.m.trace.of('its-command').filter((r) => r.command === 'INT');
    t.is(ints.length, injection === 'direct' ? 5 : 0);
  });
}
