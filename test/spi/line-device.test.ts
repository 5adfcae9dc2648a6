/**
 * The wired-line device (core/line-device.ts) on a board, seen through the host distributor's
 * registers (IHI 0069, GICD_ISPENDR<n>, GICD_ICFGR<n>) and its own register frame: a level device
 * holds its SPI pending until software writes its ACK register; an edge device's pulse is latched
 * only by an edge-triggered SPI; a pattern asserts it on a seeded schedule.
 */
import test from 'ava';
import type { AccessAttrs } from '../../core/bus.js';
import { LINE_DEV, WiredLineDevice } from '../../core/line-device.js';
import { createBoard } from '../../gic/board.js';
import { GICD } from '../../gic/mmio-offsets.js';

const ME: AccessAttrs = { requester: 'pe', id: 0 };
const FRAME = 0x2000_0000;

function board() {
  const b = createBoard({ cores: 1 });
  return { ...b, read: (a: number) => Number(b.m.bus.read(a, 4, ME)), write: (a: number, v: number) => b.m.bus.write(a, 4, v, ME) };
}

test('level device: its SPI stays pending while the line is high; STATUS and COUNT read it; writing ACK lowers it', (t) => {
  const { m, config, read, write } = board();
  const d = new WiredLineDevice(m, { spi: 40, mode: 'level', frame: FRAME });
  const pending = () => ((read(config.gicdBase + GICD.ISPENDR + 4) >>> 8) & 1) === 1;
  d.assert();
  d.assert();
  t.true(pending());
  t.deepEqual([read(FRAME + LINE_DEV.STATUS), read(FRAME + LINE_DEV.COUNT), d.merged], [1, 2, 1]);
  write(FRAME + LINE_DEV.ACK, 0); // bit 0 clear: ignored
  t.true(pending());
  write(FRAME + LINE_DEV.ACK, 1);
  t.false(pending());
  t.deepEqual([read(FRAME + LINE_DEV.STATUS), d.acks], [0, 1]);
});

test('edge device: a pulse is latched by an edge-triggered SPI only (GICD_ICFGR); a level-sensitive one sees nothing once the line is low', (t) => {
  const { m, config, read, write } = board();
  const d = new WiredLineDevice(m, { spi: 41, mode: 'edge' });
  const pending = () => ((read(config.gicdBase + GICD.ISPENDR + 4) >>> 9) & 1) === 1;
  d.assert();
  t.false(pending());
  write(config.gicdBase + GICD.ICFGR + 8, 2 << 18); // SPI 41: bit 2 * 9 + 1
  d.assert();
  t.true(pending());
  t.is(d.asserted, 2);
});

test('a periodic pattern asserts every period until its count; one seed, one schedule for a Poisson one', (t) => {
  const { m } = board();
  const d = new WiredLineDevice(m, { spi: 42, mode: 'edge', pattern: { kind: 'periodic', period: 1000 }, count: 5 });
  d.start();
  m.runFor(10_000);
  t.is(d.asserted, 5);
  const times = (seed: number) => {
    const b = createBoard({ cores: 1, seed, trace: true });
    const p = new WiredLineDevice(b.m, { spi: 42, mode: 'edge', pattern: { kind: 'poisson', mean: 500 }, count: 8 });
    p.start();
    b.m.runFor(100_000);
    return b.m.trace.of('line-level').filter((r) => r.level).map((r) => r.t);
  };
  t.deepEqual(times(3), times(3));
  t.notDeepEqual(times(3), times(4));
  t.throws(() => new WiredLineDevice(m, { spi: 1020, mode: 'level' }), { message: /32 to 1019/ });
});
