/**
 * The driver library's LPI routines: which invalidation a redistributor offers (hasDirectLpi:
 * GICR_TYPER.DirectLPI or GICR_CTLR.IR, as Linux decides has_direct_lpi), on the physical GIC
 * and on the hypervisor's emulated redistributors (IR = 1 without DirectLPI, as KVM presents
 * them); and a guest kernel that uses what it found.
 */
import test from 'ava';
import fc from 'fast-check';
import { hasDirectLpi, lpiConfigByte } from '../../drivers/lpi.js';
import { LPI_CONFIG } from '../../gic/gic-registers.js';
import { createBoard } from '../../gic/board.js';
import { deviceKernel } from '../../guests/samples.js';
import { bootGuests, buildPlatform } from '../../scenarios/platform.js';
import { run } from '../helpers/its-rig.js';

test('the physical redistributor has the direct LPI registers (GICR_TYPER.DirectLPI = 1)', (t) => {
  const b = createBoard();
  let direct = false;
  run(b, function* () {
    direct = yield* hasDirectLpi(b.config.gicrBase);
  });
  t.true(direct);
});

test('a guest finds GICR_CTLR.IR = 1 on its emulated redistributor and invalidates through GICR_INVLPIR', (t) => {
  const p = buildPlatform({
    cores: 1,
    trace: true,
    gic: { version: 3 },
    vms: [{ name: 'vm', vcpus: 1, injection: 'list-register', kernel: (cfg) => deviceKernel(cfg), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }] }] }],
  });
  bootGuests(p);
  t.true(p.kernels[0]!.cpus[0]!.directLpi);
  // What the guest read: GICR_TYPER without DirectLPI, then GICR_CTLR (both trapped and emulated).
  const reads = p.m.trace.of('hyp-mmio').filter((x) => !x.write && (x.ipa & 0xffff) <= 0x8);
  t.true(reads.some((x) => (x.ipa & 0xffff) === 0x8 && (x.value & 0b1000) === 0), 'GICR_TYPER.DirectLPI = 0');
  t.true(reads.some((x) => (x.ipa & 0xffff) === 0x0 && (x.value & 0b100) !== 0), 'GICR_CTLR.IR = 1');
});

test('property: lpiConfigByte is the LPI_CONFIG encoding of any priority and enable (priority bits [7:2], Group1 set)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), (priority, enabled) => {
      const b = lpiConfigByte(priority, enabled);
      t.is(b, LPI_CONFIG.encode({ Priority: priority >> 2, Group1: 1, Enable: enabled ? 1 : 0 }));
      t.is(LPI_CONFIG.get(b, 'Priority') << 2, priority & 0xfc);
      t.is(LPI_CONFIG.get(b, 'Enable'), enabled ? 1 : 0);
    }),
    { numRuns: 200, seed: 7 },
  );
});
