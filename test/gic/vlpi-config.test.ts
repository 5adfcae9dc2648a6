/**
 * The resident vPE's vLPIs and their configuration (IHI 0069H §7.1, §7.2; GICR_VPROPBASER):
 * the configuration byte is cached by the redistributor until invalidated (INV / VINVALL reach it
 * as `invalidateVlpi` / `invalidateAllVlpis`), a disabled vLPI stays pending in the VPT and is
 * delivered once enabled and invalidated, the best vLPI is chosen by priority then lowest vINTID,
 * a cleared vLPI is never delivered, and vINTIDs beyond GICR_VPROPBASER.IDbits are dropped for the
 * resident vPE.
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { daifclr, DAIF_I, wfi, work, type Program } from '../../core/ops.js';
import { PSR_I } from '../../core/pstate.js';
import { enableVirtualInterface } from '../../drivers/list-registers.js';
import { configureLpi, lpiConfigByte } from '../../drivers/lpi.js';
import { makeResident } from '../../drivers/residency.js';
import { ackHandler } from '../helpers/vgic-rig.js';
import { ID_BITS, VPROP, VPROP_TABLES, VPT_A, enterGuest, pendingBit, startPe, vlpiBase, vlpiRig, vpe, type VlpiRig } from './vlpi-rig.js';

function* idle(): Program {
  for (;;) yield wfi();
}

/** PE 0: the configuration bytes `cfg` written, the vPE at VPT_A resident, the guest idling with interrupts unmasked. */
function residentGuest(r: VlpiRig, cfg: [number, number, boolean][], log: (string | number)[], opts: { idBits?: number; guest?: () => Program } = {}): void {
  startPe(r, 0, {
    el2: function* () {
      for (const [v, prio, en] of cfg) yield* configureLpi(VPROP_TABLES, v, prio, en);
      yield* makeResident(vlpiBase(r, 0), vpe(VPT_A, opts.idBits ?? ID_BITS), true);
      yield* enableVirtualInterface();
      yield* enterGuest(0, opts.guest ? PSR_I : 0);
    },
    guest: opts.guest ?? idle,
    guestVectors: { curSpx: { irq: ackHandler(log) } },
  });
}

function at(r: VlpiRig, t: number, fn: () => void): void {
  r.m.events.schedule(new SimEvent('test', 0, fn), t);
}

test('a disabled vLPI stays pending in the VPT; enabling its byte in memory is not seen until INV, then it is delivered', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const v = 8202;
  const log: (string | number)[] = [];
  residentGuest(r, [[v, 0x90, false]], log);
  const checks: unknown[] = [];
  at(r, 20_000, () => gic.physical.setVlpiPending(0, VPT_A, ID_BITS, v, 1023));
  at(r, 40_000, () => {
    checks.push(['disabled', log.length, pendingBit(r, VPT_A, v)]);
    m.bus.memory.write8(VPROP + (v - 8192), lpiConfigByte(0x90, true)); // the hypervisor enables it...
  });
  at(r, 60_000, () => {
    checks.push(['enabled, not invalidated', log.length, pendingBit(r, VPT_A, v)]); // ...the cached byte still says disabled
    gic.physical.invalidateVlpi(0, VPT_A, v); // INV on its virtual ITE
  });
  m.run(1e6);
  t.deepEqual(checks, [['disabled', 0, true], ['enabled, not invalidated', 0, true]]);
  t.deepEqual(log, [v]);
  t.true(m.trace.of('icv-ack')[0]!.t >= 60_000);
  t.false(pendingBit(r, VPT_A, v));
  t.deepEqual(m.trace.of('vlpi').map((x) => [x.what, x.vintid, x.detail]), [['fill', v, lpiConfigByte(0x90, false)], ['inv', v, 1]]);
});

test('VINVALL re-reads every cached byte: re-prioritised, enabled and disabled vLPIs change order; the best is the lowest priority value, then the lowest vINTID', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const log: (string | number)[] = [];
  // The guest starts with interrupts masked so that every vLPI is pending before it looks.
  let phase = 0;
  const guest = function* (): Program {
    for (;;) {
      yield work(10_000);
      if (phase === 1) {
        phase = 2;
        yield daifclr(DAIF_I);
      }
    }
  };
  residentGuest(r, [[8300, 0xa0, true], [8301, 0x80, true], [8302, 0x80, true], [8303, 0x60, false], [8304, 0x70, true]], log, { guest });
  at(r, 20_000, () => {
    for (const v of [8304, 8303, 8302, 8301, 8300]) gic.physical.setVlpiPending(0, VPT_A, ID_BITS, v, 1023);
  });
  at(r, 30_000, () => {
    // Before the guest looks: 8304 (0x70) is the best. The hypervisor changes the table and issues VINVALL.
    log.push(`best ${gic.physical.vlpiSources[0]!.best().toString(16)}`);
    m.bus.memory.write8(VPROP + (8303 - 8192), lpiConfigByte(0x60, true)); // enabled
    m.bus.memory.write8(VPROP + (8304 - 8192), lpiConfigByte(0x70, false)); // disabled
    m.bus.memory.write8(VPROP + (8300 - 8192), lpiConfigByte(0x40, true)); // raised above 8301/8302
    gic.physical.invalidateAllVlpis(0, VPT_A);
    phase = 1;
  });
  m.run(1e6);
  t.deepEqual(log, [`best ${(0x70 * 2 ** 24 + 8304).toString(16)}`, 8300, 8303, 8301, 8302]);
  t.true(pendingBit(r, VPT_A, 8304)); // disabled: still pending
  for (const v of [8300, 8301, 8302, 8303]) t.false(pendingBit(r, VPT_A, v));
  t.like(m.trace.of('vlpi').find((x) => x.what === 'invall'), { detail: 5 });
});

test('a configuration fetch delays the first arrival of a vINTID by lpiConfigFetch; later arrivals use the cached byte', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const v = 8400;
  const log: (string | number)[] = [];
  residentGuest(r, [[v, 0xa0, true]], log);
  at(r, 20_000, () => gic.physical.setVlpiPending(0, VPT_A, ID_BITS, v, 1023));
  at(r, 40_000, () => gic.physical.setVlpiPending(0, VPT_A, ID_BITS, v, 1023));
  m.run(1e6);
  t.deepEqual(log, [v, v]);
  const fills = m.trace.of('vlpi').filter((x) => x.what === 'fill');
  t.deepEqual(fills.map((x) => x.t), [20_000 + m.costs.lpiConfigFetch]);
  const acks = m.trace.of('icv-ack').map((x) => x.t);
  // Same path to the guest both times (wake from WFI, exception entry, ICV_IAR1), but the fetch.
  t.is(acks[0]! - 20_000 - (acks[1]! - 40_000), m.costs.lpiConfigFetch);
});

test('a vLPI cleared (CLEAR/DISCARD) before the guest looks is never delivered; an acknowledged one can become pending again', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const log: (string | number)[] = [];
  let unmask = false;
  const guest = function* (): Program {
    for (;;) {
      yield work(5_000);
      if (unmask) {
        unmask = false;
        yield daifclr(DAIF_I);
      }
    }
  };
  residentGuest(r, [[8500, 0xa0, true], [8501, 0xa0, true]], log, { guest });
  at(r, 20_000, () => {
    gic.physical.setVlpiPending(0, VPT_A, ID_BITS, 8500, 1023);
    gic.physical.setVlpiPending(0, VPT_A, ID_BITS, 8501, 1023);
  });
  at(r, 30_000, () => {
    log.push(`pending ${gic.physical.isVlpiPending(0, VPT_A, 8500)}`);
    gic.physical.clearVlpiPending(0, VPT_A, 8500);
    log.push(`pending ${gic.physical.isVlpiPending(0, VPT_A, 8500)}`);
    unmask = true;
  });
  at(r, 60_000, () => gic.physical.setVlpiPending(0, VPT_A, ID_BITS, 8501, 1023));
  m.run(1e6);
  t.deepEqual(log, ['pending true', 'pending false', 8501, 8501]);
  t.deepEqual(m.trace.of('vlpi').filter((x) => x.what === 'cleared').map((x) => x.vintid), [8500]);
});

test('GICR_VPROPBASER.IDbits bounds the resident vPE: a vINTID beyond it is dropped without touching the VPT; for a non-resident vPE only VPT_size counts', (t) => {
  const r = vlpiRig();
  const { m, gic } = r;
  const log: (string | number)[] = [];
  residentGuest(r, [[8600, 0xa0, true]], log, { idBits: 14 });
  at(r, 20_000, () => {
    gic.physical.setVlpiPending(0, VPT_A, ID_BITS, 20_000, 1023); // >= 2^14: dropped
    gic.physical.setVlpiPending(0, VPT_A, ID_BITS, 8600, 1023);
    gic.physical.setVlpiPending(0, VPT_A + 0x10000, ID_BITS, 20_000, 1023); // another vPE, not resident
  });
  m.run(1e6);
  t.deepEqual(log, [8600]);
  t.false(pendingBit(r, VPT_A, 20_000));
  t.true(pendingBit(r, VPT_A + 0x10000, 20_000));
  t.deepEqual(m.trace.of('vlpi-dropped').map((x) => [x.vintid, x.reason]), [[20_000, 'idbits']]);
});
