/**
 * The shape of KVM's vgic_lpi_stress selftest, with the guest mapping its devices itself: 4
 * devices of 16 events each over 4 vCPUs (MAPD, MAPC, MAPTI through the guest's own ITS driver at
 * boot), then 1,000 rounds in which every device signals all of its events: every MSI is handled
 * exactly once, on its CPU, and the guest takes nothing but LPIs.
 */
import test from 'ava';
import { rig, type Path, type RigDevice } from './rig.js';

const DEVICES = 4;
const EVENTS = 16;
const CPUS = 4;
const ROUNDS = 1000;
const FIRST = 8224;

const devices: RigDevice[] = Array.from({ length: DEVICES }, (_, d) => ({
  deviceId: 20 + d,
  guestDeviceId: d,
  events: Array.from({ length: EVENTS }, (_, e) => ({ eventId: e, vcpu: (d * EVENTS + e) % CPUS, vintid: FIRST + d * EVENTS + e })),
}));

for (const path of ['injected', 'direct', 'bare'] as const satisfies readonly Path[]) {
  test(`${path}: ${DEVICES} devices x ${EVENTS} events over ${CPUS} CPUs, ${ROUNDS} rounds: every MSI handled once on its CPU, only LPIs taken`, (t) => {
    const r = rig(path, { cpus: CPUS, devices, steps: [], trapWfi: false });
    const k = r.kernel;
    const m = r.m;
    const step = m.usToCycles(2);
    let expected = 0;
    let stuck = -1;
    for (let round = 0; round < ROUNDS && stuck < 0; round++) {
      for (const d of devices) for (const e of d.events) r.devices.get(d.deviceId)!.msi(e.eventId);
      expected += DEVICES * EVENTS;
      for (let i = 0; i < 500 && k.log.length < expected; i++) m.runFor(step);
      if (k.log.length < expected) stuck = round;
    }
    t.is(stuck, -1, `round ${stuck}: ${k.log.length} of ${expected} handled`);
    t.is(k.log.length, ROUNDS * DEVICES * EVENTS);
    const counts = k.log.counts();
    for (const d of devices) for (const e of d.events) t.is(counts.get(e.vintid), ROUNDS, `LPI ${e.vintid}`);
    let wrongCpu = 0;
    for (let i = 0; i < k.log.length; i++) if ((k.log.intid[i]! - FIRST) % CPUS !== k.log.cpu[i]) wrongCpu++;
    t.is(wrongCpu, 0, 'every LPI on the CPU its collection names');
    // Only LPIs: every interrupt the guest acknowledged is one of them.
    t.is(k.cpus.reduce((a, c) => a + c.irqs, 0), k.log.length);
    t.true(k.cpus.every((c) => c.unhandled === 0));
    if (r.vits !== null) t.is(r.vits.forwarded.size, DEVICES * EVENTS);
    t.log(`${path}: ${k.log.length} MSIs in ${m.cyclesToUs(m.now).toFixed(0)} us simulated`);
  });
}
