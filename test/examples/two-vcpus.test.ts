/**
 * The two-vCPU example hypervisor (examples/two-vcpus.ts): two vCPUs time-sliced on one core by
 * the EL2 physical timer, a device's two events delivered through list registers to vCPU 0 and
 * vCPU 1. What a user can observe: what each vCPU read from ICV_IAR1_EL1 (its log), the EL2
 * entries, the slice timer's edges, and the trace's MSI writes and guest acknowledges.
 */
import test from 'ava';
import { MsiDevice } from '../../core/msi-device.js';
import type { Machine } from '../../core/machine.js';
import { LrState } from '../../gic/ich-registers.js';
import { DEVICE_ID, GUEST_INTID, HOST_LPI, SLICE_PPI, SLICE_TICKS, twoVcpus, VCPUS, type TwoVcpus } from '../../examples/two-vcpus.js';
import { guestLog } from '../../examples/tiny-guest.js';

/** A slice in core cycles (2 GHz core, 1 GHz system counter). */
const SLICE = SLICE_TICKS * 2;
const US = 2000;

/** Runs in small steps until vCPU `i` has just been loaded (early in its slice). */
function runUntilRunning(m: Machine, ex: TwoVcpus, i: number): void {
  for (let k = 0; k < 1000 && ex.hyp.running !== i; k++) m.run(m.now + 1000);
  if (ex.hyp.running !== i) throw new Error(`vCPU ${i} never scheduled`);
}

/** Rising edges of the EL2 physical timer (slice ends) in the trace. */
function sliceEdges(m: Machine): number[] {
  return m.trace.of('timer').filter((r) => r.timer === 'hyp-phys' && r.level).map((r) => r.t);
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const us = (c: number): string => (c / US).toFixed(2);
  return `n=${s.length} min ${us(s[0]!)} p50 ${us(s[s.length >> 1]!)} mean ${us(s.reduce((a, b) => a + b, 0) / s.length)} max ${us(s[s.length - 1]!)} us`;
}

test('each MSI reaches the vCPU its event targets, at once if it runs, at its next slice if not; one switch per slice end', (t) => {
  const ex = twoVcpus({ trace: true });
  const { board, hyp, guest } = ex;
  const m = board.m;
  m.run(3 * SLICE); // boot, and both vCPUs have started (and wait in WFI)
  t.true(hyp.switches >= 2, 'both vCPUs ran');
  t.deepEqual([guestLog(board, guest, 0), guestLog(board, guest, 1)], [[], []]);

  // MSIs alternate between the events, 1.37 slices apart: they land at every phase of a slice,
  // half of them while their vCPU is descheduled; each vCPU gets one every 2.74 slices, so
  // none can merge with one still pending.
  const MSIS = 60;
  const GAP = Math.round(1.37 * SLICE);
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  const descheduled: boolean[] = [];
  for (let k = 0; k < MSIS; k++) {
    descheduled.push(hyp.running !== k % VCPUS);
    dev.msi(k % VCPUS);
    m.run(m.now + GAP);
  }
  // Two and a half slices more: the last deliveries land, and the run ends mid-slice, so every
  // slice end so far has been handled.
  const edgesSoFar = sliceEdges(m);
  m.run(edgesSoFar[edgesSoFar.length - 1]! + 2 * SLICE + SLICE / 2);

  const accepted = board.gic.its.translator.accepted;
  t.is(accepted, MSIS);
  for (let i = 0; i < VCPUS; i++) {
    const log = guestLog(board, guest, i);
    t.is(log.length, MSIS / VCPUS, `vCPU ${i}: one delivery per MSI on event ${i}`);
    t.true(log.every((x) => x === GUEST_INTID + i), `vCPU ${i} read only its own vINTID ${GUEST_INTID + i}: ${[...new Set(log)].join(', ')}`);
  }
  t.is(hyp.merged, 0);
  t.is(hyp.lpis, accepted, 'every accepted MSI was a host LPI acknowledged at EL2');
  // Slice ends: the timer's rising edges, each handled by one switch (two vCPUs, round-robin).
  const edges = sliceEdges(m).length;
  t.is(hyp.sliceEnds, edges);
  t.is(hyp.switches, edges);
  // Every EL2 entry is a physical IRQ from the guest: a slice end or a host LPI (WFI is not trapped).
  const c = m.pes[0]!.counters;
  t.is(c.taken(1, 2), hyp.sliceEnds + hyp.lpis);
  t.is(c.taken(2, 2), 0, 'the hypervisor never takes an interrupt at EL2 itself');

  // Which vCPU each host LPI found, from the GIC's record of what EL2 acknowledged: each slice
  // end (PPI 26) hands the core to the other vCPU, starting with vCPU 0.
  const found: boolean[][] = [[], []]; // per event, in order: was its vCPU descheduled?
  let running = 0;
  for (const r of m.trace.of('gic-ack')) {
    if (r.intid === SLICE_PPI) running = 1 - running;
    else found[r.intid - HOST_LPI]!.push(running !== r.intid - HOST_LPI);
  }
  const nDesched = found.flat().filter((d) => d).length;
  t.true(nDesched > 10 && nDesched < MSIS - 10, `${nDesched} of ${MSIS} host LPIs found their vCPU descheduled`);
  t.is(hyp.deferred, nDesched, 'the LPIs for a descheduled vCPU waited in its software state');
  t.is(hyp.lrWrites, MSIS - nDesched, 'the others went straight into an LR');
  const raced = descheduled.filter((d, k) => !d && found[k % VCPUS]![Math.floor(k / VCPUS)]).length;

  // Latency, MSI write -> the guest's ICV_IAR1_EL1 read, paired in order per event.
  const acks = m.trace.of('icv-ack').filter((r) => r.source === 'lr');
  const ackTimes = [0, 1].map((e) => acks.filter((r) => r.vintid === GUEST_INTID + e).map((r) => r.t));
  const direct: number[] = [];
  const waiting: number[] = [];
  for (const w of m.trace.of('msi-write')) {
    const ack = ackTimes[w.eventId]!.shift()!;
    const wasDescheduled = found[w.eventId]!.shift()!;
    t.true(ack > w.t);
    (wasDescheduled ? waiting : direct).push(ack - w.t);
  }
  t.true(Math.max(...direct) < 2 * US, `to the running vCPU: within 2 us (${stats(direct)})`);
  t.true(Math.max(...waiting) < SLICE + 2 * US, 'to a descheduled vCPU: at most one slice later (round-robin of two)');
  t.true(Math.min(...waiting) > Math.max(...direct), 'waiting for the slice always costs more than delivery to the running vCPU');
  t.log(`slice ${SLICE / US} us; ${edges} slice ends, ${hyp.switches} switches; EL2 entries ${c.taken(1, 2)} (${hyp.sliceEnds} slice ends + ${hyp.lpis} host LPIs)`);
  t.log(`latency MSI -> guest acknowledge, vCPU running:     ${stats(direct)}`);
  t.log(`latency MSI -> guest acknowledge, vCPU descheduled: ${stats(waiting)}`);
  t.log(`${raced} MSI(s) written while their vCPU ran found it descheduled: the slice ended between the write and EL2's acknowledge`);
});

test('a slice ends while the guest handles an interrupt: its Active LR, active priority and EL1 exception state survive the switch', (t) => {
  const ex = twoVcpus({ trace: true, handlerCycles: 1.5 * SLICE });
  const { board, hyp, guest } = ex;
  const m = board.m;
  m.run(3 * SLICE);
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  runUntilRunning(m, ex, 0);
  dev.msi(0); // vCPU 0 runs: into an LR; it acknowledges and works 1.5 slices with it Active
  runUntilRunning(m, ex, 1); // its slice ended mid-handler: the LR (Active) folded into its state
  dev.msi(0); // descheduled and Active: Active+Pending in its software state
  dev.msi(1); // vCPU 1 runs: its own interrupt (its exception entry overwrites ELR_EL1/SPSR_EL1)
  m.run(m.now + 8 * SLICE);

  t.deepEqual(guestLog(board, guest, 0), [GUEST_INTID, GUEST_INTID], 'the second delivery followed the first one\'s EOI');
  t.deepEqual(guestLog(board, guest, 1), [GUEST_INTID + 1]);
  t.is(hyp.merged, 0);
  t.is(hyp.deferred, 1);
  t.is(hyp.lrWrites, 2);
  const restored = m.trace.of('ich-lr-write').filter((r) => r.vintid === GUEST_INTID);
  t.true(restored.some((r) => r.state === LrState.PendingActive), 'vCPU 0 was loaded with its interrupt Active+Pending');
  const eois = m.trace.of('icv-eoi');
  t.is(eois.length, 3);
  t.true(eois.every((r) => r.outcome === 'deactivated'), `every EOI dropped the priority and deactivated: ${eois.map((r) => r.outcome).join(', ')}`);
});

test('two MSIs for a descheduled vCPU merge in its software state and reach it once, when it is loaded', (t) => {
  const ex = twoVcpus();
  const { board, hyp, guest } = ex;
  const m = board.m;
  m.run(3 * SLICE);
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  runUntilRunning(m, ex, 1);
  dev.msi(0);
  m.run(m.now + 5 * US); // the first host LPI has been acknowledged and made pending for vCPU 0
  dev.msi(0);
  m.run(m.now + 5 * US);
  t.deepEqual(guestLog(board, guest, 0), [], 'vCPU 0 has not run yet');
  t.is(hyp.running, 1);
  m.run(m.now + 2 * SLICE);
  t.is(board.gic.its.translator.accepted, 2);
  t.is(hyp.lpis, 2, 'two host LPIs: the merge was in the hypervisor, not in the LPI\'s pending state');
  t.is(hyp.deferred, 1);
  t.is(hyp.merged, 1);
  t.deepEqual(guestLog(board, guest, 0), [GUEST_INTID]);
  t.deepEqual(guestLog(board, guest, 1), []);
});

test('EL2 exits in the middle of the guest\'s IRQ handler leave its registers intact (x0-x30 saved on entry, restored at the ERET)', (t) => {
  const ex = twoVcpus();
  const { board, hyp, guest } = ex;
  const m = board.m;
  m.run(3 * SLICE);
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  // vCPU 0 takes event 0; event 1 follows `d` cycles later, so its host LPI exits to EL2 at every
  // point of vCPU 0's handler, in particular between an MRS or LDADD and the op that uses its result.
  const ROUNDS = 60;
  for (let k = 0; k < ROUNDS; k++) {
    runUntilRunning(m, ex, 0);
    dev.msi(0);
    m.run(m.now + 20 * k);
    dev.msi(1);
    runUntilRunning(m, ex, 1);
  }
  m.run(m.now + 2 * SLICE);
  t.is(hyp.lpis, 2 * ROUNDS);
  t.deepEqual(guestLog(board, guest, 0), new Array<number>(ROUNDS).fill(GUEST_INTID));
  t.deepEqual(guestLog(board, guest, 1), new Array<number>(ROUNDS).fill(GUEST_INTID + 1));
});
