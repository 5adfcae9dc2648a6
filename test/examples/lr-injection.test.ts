/**
 * The list-register example hypervisor (examples/lr-injection.ts): boot it, send MSIs from the
 * device, and count what the guest received (what it read from ICV_IAR1_EL1) and what each
 * interrupt cost (exceptions from EL1 to EL2, cycles at EL2, LR writes).
 */
import test from 'ava';
import { MsiDevice } from '../../core/msi-device.js';
import { DEVICE_ID, EVENT_ID, GUEST, GUEST_INTID, lrExample } from '../../examples/lr-injection.js';
import { msiToAckCycles } from '../../examples/latency.js';
import { guestLog } from '../../examples/tiny-guest.js';

const MSIS = 20;
/** Cycles between MSIs: the guest has long finished with one when the next arrives. */
const GAP = 20_000;

test('every MSI reaches the guest as vINTID 8192, each for one EL2 entry and one LR write', (t) => {
  const { board, hyp } = lrExample({ trace: true });
  const m = board.m;
  const boot = m.runUntilQuiescent(10_000_000);
  const from = m.trace.records.length;
  t.true(boot.quiescent, 'the hypervisor boots and the guest waits in WFI');
  t.deepEqual(guestLog(board, GUEST), []);
  const el2Before = m.pes[0]!.counters.taken(1, 2);
  const cyclesBefore = m.pes[0]!.counters.cyclesAt[2]!;
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  for (let i = 0; i < MSIS; i++) {
    dev.msi(EVENT_ID);
    t.true(m.runUntilQuiescent(GAP).quiescent);
  }
  const log = guestLog(board, GUEST);
  t.is(log.length, MSIS);
  t.true(log.every((x) => x === GUEST_INTID), `the guest read ${[...new Set(log)].join(', ')}`);
  const entries = m.pes[0]!.counters.taken(1, 2) - el2Before;
  const cycles = m.pes[0]!.counters.cyclesAt[2]! - cyclesBefore;
  t.is(entries, MSIS, 'one IRQ exception to EL2 per MSI, nothing else (WFI is not trapped)');
  t.is(hyp.lrWrites, MSIS);
  t.is(hyp.merged, 0);
  const lat = msiToAckCycles(m, from);
  t.is(lat.length, MSIS);
  t.log(`per interrupt: ${entries / MSIS} EL2 entries, ${(cycles / MSIS).toFixed(0)} cycles at EL2, ${hyp.lrWrites / MSIS} LR writes; MSI to ICV_IAR1_EL1 ${Math.min(...lat)}-${Math.max(...lat)} cycles`);
});

test('a burst faster than the guest: merged with the interrupt still pending (as the architecture allows), never duplicated, nothing left pending', (t) => {
  const { board, hyp } = lrExample();
  const m = board.m;
  m.runUntilQuiescent(10_000_000);
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
  // Three MSIs at once: the second and third arrive while the first is still pending.
  dev.msi(EVENT_ID);
  dev.msi(EVENT_ID);
  dev.msi(EVENT_ID);
  t.true(m.runUntilQuiescent(GAP).quiescent, 'quiescent: nothing pending is left undelivered');
  const log = guestLog(board, GUEST);
  t.is(board.gic.its.translator.accepted, 3);
  t.true(log.length >= 1 && log.length < 3, `${log.length} deliveries for 3 MSIs`);
  t.true(log.every((x) => x === GUEST_INTID));
  // Each delivery is one LR write; an injection that found its LR still Pending was merged there.
  t.is(hyp.lrWrites, log.length);
  t.log(`3 MSIs: ${log.length} delivered, ${hyp.merged} merged in the LR, ${3 - log.length - hyp.merged} merged in the host LPI's pending state`);
});

test('an exit at any point of the guest\'s handler leaves what the guest read intact (the hypervisor saves x0-x30)', (t) => {
  // A second MSI 0-1,200 cycles after the first lands its EL2 exit at every op of the guest's
  // handler, including right after its ICV_IAR1_EL1 read, whose result sits in x0.
  for (let gap = 0; gap <= 1_200; gap += 20) {
    const { board } = lrExample();
    const m = board.m;
    m.runUntilQuiescent(10_000_000);
    const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: board.translater });
    dev.msi(EVENT_ID);
    m.run(m.now + gap);
    dev.msi(EVENT_ID);
    t.true(m.runUntilQuiescent(GAP).quiescent);
    const log = guestLog(board, GUEST);
    t.true(log.length >= 1 && log.every((x) => x === GUEST_INTID), `gap ${gap}: the guest read ${log.join(', ')}`);
  }
});
