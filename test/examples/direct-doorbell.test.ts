/**
 * The GICv4.0 example hypervisor (examples/direct-doorbell.ts): vLPIs reach a running guest with
 * no exception to EL2; a guest waiting in WFI is blocked with its doorbell armed, and each vLPI
 * then costs one doorbell and one WFI trap.
 */
import test from 'ava';
import { MsiDevice } from '../../core/msi-device.js';
import { DEVICE_ID, directExample, EVENT_ID, GUEST_INTID } from '../../examples/direct-doorbell.js';
import { msiToAckCycles } from '../../examples/latency.js';
import { guestLog } from '../../examples/tiny-guest.js';

const BUSY = 400_000;
const GAP = 20_000;

test('while the guest runs, each vLPI is delivered with no EL2 entry at all', (t) => {
  const { board, hyp, guest } = directExample({ busyCycles: BUSY, trace: true });
  const m = board.m;
  m.run(m.now + 50_000); // booted, the guest computing
  const from = m.trace.records.length;
  t.is(hyp.residencyChanges, 1);
  const pe = m.pes[0]!.counters;
  const el2 = pe.taken(1, 2);
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  for (let i = 0; i < 10; i++) {
    dev.msi(EVENT_ID);
    m.run(m.now + GAP);
  }
  t.true(m.now < BUSY, 'still in the guest\'s busy phase');
  const log = guestLog(board, guest);
  t.deepEqual(log, Array(10).fill(GUEST_INTID));
  t.is(pe.taken(1, 2) - el2, 0, 'no exception to EL2');
  t.is(hyp.doorbells, 0);
  const lat = msiToAckCycles(m, from);
  t.log(`10 vLPIs to a resident vPE: ${pe.taken(1, 2) - el2} EL2 entries; MSI to ICV_IAR1_EL1 ${Math.min(...lat)}-${Math.max(...lat)} cycles`);
});

test('a blocked vCPU is woken by its doorbell: one doorbell and one WFI trap per vLPI, nothing lost', (t) => {
  const { board, hyp, guest } = directExample({ trace: true });
  const m = board.m;
  t.true(m.runUntilQuiescent(10_000_000).quiescent, 'booted; the guest waits in WFI, trapped; the hypervisor blocks it');
  const from = m.trace.records.length;
  const cycles = m.pes[0]!.counters.cyclesAt[2]!;
  t.is(hyp.wfiTraps, 1);
  t.is(hyp.blocks, 1);
  const pe = m.pes[0]!.counters;
  const el2 = pe.taken(1, 2);
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  const N = 8;
  for (let i = 0; i < N; i++) {
    dev.msi(EVENT_ID);
    t.true(m.runUntilQuiescent(GAP).quiescent);
  }
  t.deepEqual(guestLog(board, guest), Array(N).fill(GUEST_INTID));
  t.is(hyp.doorbells, N);
  t.is(hyp.wfiTraps, 1 + N, 'each wake-up ends in the guest\'s next WFI');
  t.is(pe.taken(1, 2) - el2, N, 'the WFI traps are the only EL2 entries');
  // Boot made it resident, the first WFI made it leave; each wake-up made it resident and the next WFI made it leave.
  t.is(hyp.residencyChanges, 2 + 2 * N);
  t.is(hyp.otherExits, 0);
  const lat = msiToAckCycles(m, from);
  t.log(`per vLPI to a blocked vCPU: ${(pe.taken(1, 2) - el2) / N} EL2 entries, ${((m.pes[0]!.counters.cyclesAt[2]! - cycles) / N).toFixed(0)} cycles at EL2, 1 doorbell, 2 residency changes; MSI to ICV_IAR1_EL1 ${Math.min(...lat)}-${Math.max(...lat)} cycles`);
});

test('a vLPI that arrives while the vCPU traps on WFI is seen in PendingLast: the vCPU does not block, no doorbell', (t) => {
  // A dry run finds when the guest's first WFI traps (T) and when the vPE leaves (D)...
  const dry = directExample({ busyCycles: 30_000, trace: true });
  dry.board.m.runUntilQuiescent(1_000_000);
  const recs = dry.board.m.trace.records;
  const T = recs.find((x) => x.kind === 'exception' && x.from === 1)!.t;
  const D = recs.find((x) => x.kind === 'vpe-residency' && x.event === 'deschedule' && x.t > T)!.t;
  // ...then the same run again (one seed, one trace) with an MSI whose vLPI lands in between.
  const { board, hyp, guest } = directExample({ busyCycles: 30_000, trace: true });
  const m = board.m;
  const write = D - m.costs.itsTranslate - 1;
  t.true(write + m.costs.itsTranslate > T, `the window: trap at ${T}, vPE leaves at ${D}`);
  m.run(write);
  new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater }).msi(EVENT_ID);
  t.true(m.runUntilQuiescent(1_000_000).quiescent);
  const leave = m.trace.records.find((x) => x.kind === 'vpe-residency' && x.event === 'flushed');
  t.is(leave?.kind === 'vpe-residency' ? leave.pendingLast : -1, 1, 'GICR_VPENDBASER.PendingLast = 1 when the vPE left');
  t.deepEqual(guestLog(board, guest), [GUEST_INTID]);
  t.is(hyp.doorbells, 0);
  t.is(hyp.wfiTraps, 2, 'the trap that saw PendingLast resumed the guest, which took the vLPI and waited again');
  t.is(hyp.blocks, 1, 'only the second WFI blocked');
});
