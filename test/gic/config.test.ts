/**
 * GIC configuration checks (gic/config.ts `gicConfig`): the frame bases must be 64 KB aligned
 * (every GIC register frame is a 64 KB page on a 64 KB boundary), `its.cpuDeviceId` must be null
 * or a DeviceID the ITS has; each refusal names the field and the value.
 */
import test from 'ava';
import { createBoard } from '../../gic/board.js';
import { gicConfig, redistributorSize } from '../../gic/config.js';

for (const field of ['gicdBase', 'gicrBase', 'itsBase'] as const) {
  test(`${field} must be 64 KB aligned: the error names the field and the address`, (t) => {
    for (const off of [0x1000, 0x8000, 0xfffc]) {
      const at = 0x0900_0000 + off;
      const e = t.throws(() => gicConfig({ [field]: at }));
      t.regex(e!.message, new RegExp(`^gic\\.${field}: expected a physical address aligned to 64 KB .* got 0x${at.toString(16)}$`));
    }
    for (const bad of [-0x10000, 0x10000 + 0.5, NaN]) t.throws(() => gicConfig({ [field]: bad }), { message: new RegExp(`^gic\\.${field}: `) });
  });
}

test('64 KB aligned bases other than the defaults are accepted and the board maps each block there', (t) => {
  const over = { gicdBase: 0x0810_0000, itsBase: 0x0830_0000, gicrBase: 0x0b01_0000 };
  const c = gicConfig(over);
  t.like(c, over);
  const { m } = createBoard({ cores: 2, gic: over });
  t.is(m.bus.find(over.gicdBase)!.kind, 'mmio');
  t.is(m.bus.find(over.itsBase)!.name, 'gits');
  t.is(m.bus.find(over.gicrBase + redistributorSize(4))!.kind, 'mmio');
  t.is(m.bus.find(0x0800_0000), undefined, 'nothing left at the default GICD base');
});

test('its.cpuDeviceId: null or an integer DeviceID below 2^deviceIdBits', (t) => {
  t.is(gicConfig().its.cpuDeviceId, null);
  t.is(gicConfig({ its: { cpuDeviceId: 0 } }).its.cpuDeviceId, 0);
  t.is(gicConfig({ its: { cpuDeviceId: 0xffff } }).its.cpuDeviceId, 0xffff);
  t.is(gicConfig({ its: { deviceIdBits: 4, cpuDeviceId: 15 } }).its.cpuDeviceId, 15);
  for (const bad of [16, -1, 1.5, NaN]) {
    const e = t.throws(() => gicConfig({ its: { deviceIdBits: 4, cpuDeviceId: bad } }));
    t.regex(e!.message, /^gic\.its\.cpuDeviceId: expected null or an integer from 0 to 15 \(its\.deviceIdBits = 4\), got /);
  }
});
