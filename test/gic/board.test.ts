/**
 * The board builder (gic/board.ts): one call gives the machine (cores, clock, seed, trace, costs,
 * RAM) and the whole GIC (distributor, redistributors, virtual CPU interfaces, ITS) on the bus at
 * the configured addresses; a bad GIC option is refused by name before anything is built.
 */
import test from 'ava';
import { mrs, type Program } from '../../core/ops.js';
import { createBoard } from '../../gic/board.js';
import { DEFAULT_GIC_CONFIG, gicConfig, redistributorSize } from '../../gic/config.js';
import { GICD_TYPER } from '../../gic/gic-registers.js';
import { ICH_VTR } from '../../gic/ich-registers.js';
import { GITS, GITS_TYPER } from '../../gic/its/its-registers.js';
import { ICH_VTR_EL2 } from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';

const PE0 = { requester: 'pe', id: 0 } as const;

test('one call builds the machine and the whole GIC from the options', (t) => {
  const b = createBoard({ cores: 3, clockHz: 1e9, trace: true, costs: { mmioRead: 77 }, gic: { version: 4, listRegs: 8, idBits: 20, its: { deviceIdBits: 10 } } });
  const { m, gic, config } = b;
  t.is(m.cores, 3);
  t.is(m.clockHz, 1e9);
  t.true(m.trace.on);
  t.is(m.costs.mmioRead, 77);
  // The options on the defaults.
  t.deepEqual(config, gicConfig({ version: 4, listRegs: 8, idBits: 20, its: { deviceIdBits: 10 } }));
  t.is(gic.config, config);
  t.is(m.interruptController, gic.physical);
  t.is(gic.virtual.length, 3);
  t.is(gic.physical.cpuInterfaces.length, 3);
  // Every block answers on the bus at its configured address, and says what it was built with.
  const rdSize = redistributorSize(4);
  t.is(m.bus.find(config.gicdBase)!.kind, 'mmio');
  t.is(GICD_TYPER.get(m.bus.read(config.gicdBase + 0x4, 4, PE0) as number, 'IDbits'), 19);
  t.is(m.bus.find(config.gicrBase + 2 * rdSize)!.kind, 'mmio');
  t.is(m.bus.find(config.gicrBase + 3 * rdSize), undefined, 'one redistributor per PE');
  t.is(GITS_TYPER.get(Number(m.bus.read(config.itsBase + GITS.TYPER, 8, PE0)), 'Devbits'), 9);
  t.is(b.translater, config.itsBase + GITS.TRANSLATER);
  t.is(m.bus.find(b.translater)!.name, 'gits');
});

test('the virtual CPU interfaces are real: ICH_VTR_EL2 read at EL2 reports the configured list registers', (t) => {
  const { m } = createBoard({ gic: { listRegs: 7 } });
  let vtr = -1;
  m.code.install(0x4000_0000, function* (): Program {
    vtr = yield mrs(ICH_VTR_EL2);
    yield* cpuOff();
  });
  m.boot(0x4000_0000);
  m.run(1e6);
  t.is(ICH_VTR.get(vtr, 'ListRegs'), 6);
});

test('defaults: one PE at 2 GHz, trace off, the Machine RAM (2 GiB at 0x4000_0000) and DEFAULT_GIC_CONFIG', (t) => {
  const { m, config } = createBoard();
  t.is(m.cores, 1);
  t.is(m.clockHz, 2e9);
  t.false(m.trace.on);
  t.deepEqual(config, gicConfig());
  t.is(config.its.cpuDeviceId, DEFAULT_GIC_CONFIG.its.cpuDeviceId);
  t.true(m.bus.isRam(0x4000_0000, 0x8000_0000));
  t.false(m.bus.isRam(0xc000_0000));
});

test('RAM ranges and the seed reach the machine', (t) => {
  const { m } = createBoard({ ram: [{ name: 'dram', base: 0x8000_0000, size: 0x1000_0000 }] });
  t.false(m.bus.isRam(0x4000_0000));
  t.is(m.bus.find(0x8000_0000)!.name, 'dram');
  t.true(m.bus.isRam(0x8000_0000, 0x1000_0000));
  const draws = (seed: number): number[] => {
    const r = createBoard({ seed }).m.rng;
    return [r.float(), r.float(), r.float()];
  };
  t.deepEqual(draws(5), draws(5));
  t.notDeepEqual(draws(5), draws(6));
});

test('a bad GIC option is refused naming the field and the value', (t) => {
  t.throws(() => createBoard({ gic: { listRegs: 17 } }), { message: /^gic\.listRegs: .* got 17$/ });
  t.throws(() => createBoard({ gic: { its: { cpuDeviceId: 1 << 16 } } }), { message: /^gic\.its\.cpuDeviceId: .* got 65536$/ });
  t.throws(() => createBoard({ gic: { itsBase: 0x0808_8000 } }), { message: /^gic\.itsBase: .* got 0x8088000$/ });
});
