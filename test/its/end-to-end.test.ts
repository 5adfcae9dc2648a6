/**
 * End to end with the real GIC: a 2-PE board (`PhysicalGic` + `Its`), EL1 programs
 * that bring up the distributor, redistributors (LPI configuration and pending tables,
 * EnableLPIs) and CPU interfaces, an ITS driver that maps a device's event to an LPI in a
 * collection on PE 1's redistributor, and an MSI device whose write ends with PE 1
 * acknowledging the LPI through ICC_IAR1_EL1.
 */
import test from 'ava';
import { DAIF_I, daifclr, eret, mrs, msr, str, type Program } from '../../core/ops.js';
import { MsiDevice } from '../../core/msi-device.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../../drivers/gic-init.js';
import { PhysHeap } from '../../drivers/heap.js';
import { ItsDriver } from '../../drivers/its.js';
import { configureLpi, enableLpis, type LpiTables } from '../../drivers/lpi.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS } from '../../gic/its/its-registers.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../../gic/sysregs.js';
import { DIST_OPTIONS, FLAGS, TABLES, bootEl1, buildGicMachine, idle, setFlag, waitFlag } from '../helpers/gic-harness.js';

const LPI_TABLES: LpiTables = { prop: TABLES, idBits: 16 };
const pendOf = (pe: number): number => 0x4a00_0000 + pe * 0x10_0000;
// ITS memory, away from the harness's FLAGS/TABLES.
const QUEUE = 0x4c00_0000;
const DEVICES = 0x4c10_0000;
const COLLECTIONS = 0x4c20_0000;
const ITT = 0x4c30_0000;
/** Where the ITS driver allocates what ITS_LAYOUT leaves to it (a GICv4 ITS's vPE table). */
const HEAP = 0x5000_0000;
/** The ITS driver's options: the tables and the queue at the addresses above. */
const ITS_LAYOUT = { tables: { devices: { base: DEVICES }, collections: { base: COLLECTIONS } }, queue: QUEUE, queueBytes: 0x1000 };

const DEVICE_ID = 0x21;
const EVENT = 6;
const LPI = 8200;

test('an MSI through the ITS reaches PE 1 as LPI 8200, acknowledged with ICC_IAR1_EL1', (t) => {
  const g = buildGicMachine({ cores: 2 });
  const { m, cfg } = g;
  const its = g.its;
  const drv = new ItsDriver(cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const acks: { pe: number; intid: number; t: number }[] = [];
  const dev = new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: cfg.itsBase + GITS.TRANSLATER, events: [EVENT], pattern: { kind: 'periodic', period: 2000 }, count: 3 });

  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) {
        yield* initDistributor(cfg.gicdBase, DIST_OPTIONS);
        const rd: number = yield* initRedistributor(cfg.gicrBase);
        yield* initCpuInterface();
        // LPI 8200: priority 0xa0, enabled, in the configuration table both RDs share.
        yield* configureLpi(LPI_TABLES, LPI, 0xa0, true);
        yield* enableLpis(rd, LPI_TABLES, pendOf(0));
        yield* waitFlag(FLAGS + 4); // PE 1 is ready
        yield* drv.init(ITS_LAYOUT);
        yield* drv.send(0, [
          ItsCmd.MAPD({ DeviceID: DEVICE_ID, Size: 3, ITT_addr: ITT, V: 1 }),
          ItsCmd.MAPC({ ICID: 1, RDbase: 1, V: 1 }),
          ItsCmd.MAPTI({ DeviceID: DEVICE_ID, EventID: EVENT, pINTID: LPI, ICID: 1 }),
          ItsCmd.SYNC({ RDbase: 1 }),
        ]);
        dev.start(); // the device's driver enables MSIs once the mapping is in place
      } else {
        const rd: number = yield* initRedistributor(cfg.gicrBase);
        yield* initCpuInterface();
        yield* enableLpis(rd, LPI_TABLES, pendOf(1));
        yield* setFlag(FLAGS + 4);
      }
      yield daifclr(DAIF_I);
      yield* idle();
    },
    irq: function* (): Program {
      const intid: number = yield mrs(ICC_IAR1_EL1);
      acks.push({ pe, intid, t: m.pes[pe]!.now });
      if (intid !== 1023) yield msr(ICC_EOIR1_EL1, intid);
      yield eret();
    },
  }));
  m.run(20_000_000);

  t.is(its.errorCount, 0);
  t.is(dev.sent, 3);
  t.deepEqual(acks.map((a) => [a.pe, a.intid]), [[1, LPI], [1, LPI], [1, LPI]]);
  for (let i = 0; i < 3; i++) {
    // Acknowledged after translation (itsTranslate) and before the next MSI.
    t.true(acks[i]!.t > dev.timeOf(i) + m.costs.itsTranslate, `ack ${i} after translation`);
    if (i < 2) t.true(acks[i]!.t < dev.timeOf(i + 1), `ack ${i} before the next MSI`);
  }
  t.false(g.gic.isLpiPending(1, LPI));
  const tr = m.trace.of('its-translate');
  t.deepEqual(tr.map((r) => [r.deviceId, r.eventId, r.intid, r.rd, r.delivered]), [[DEVICE_ID, EVENT, LPI, 1, true], [DEVICE_ID, EVENT, LPI, 1, true], [DEVICE_ID, EVENT, LPI, 1, true]]);
  t.log(`MSI write to ICC_IAR1_EL1 on PE 1: ${acks.map((a, i) => a.t - dev.timeOf(i)).join(', ')} cycles`);
});

test('kvm-unit-tests style: with its.cpuDeviceId = 0, a PE store to GITS_TRANSLATER raises the LPI DeviceID 0 maps, and the PE acknowledges it', (t) => {
  const g = buildGicMachine({ cores: 1, gic: { its: { cpuDeviceId: 0 } } });
  const { m, cfg } = g;
  const drv = new ItsDriver(cfg.itsBase, new PhysHeap(HEAP, 0x100_0000));
  const acks: number[] = [];
  bootEl1(g, () => ({
    main: function* (): Program {
      yield* initDistributor(cfg.gicdBase, DIST_OPTIONS);
      const rd: number = yield* initRedistributor(cfg.gicrBase);
      yield* initCpuInterface();
      yield* configureLpi(LPI_TABLES, LPI, 0xa0, true);
      yield* enableLpis(rd, LPI_TABLES, pendOf(0));
      yield* drv.init(ITS_LAYOUT);
      yield* drv.send(0, [
        ItsCmd.MAPD({ DeviceID: 0, Size: 3, ITT_addr: ITT, V: 1 }),
        ItsCmd.MAPC({ ICID: 0, RDbase: 0, V: 1 }),
        ItsCmd.MAPTI({ DeviceID: 0, EventID: EVENT, pINTID: LPI, ICID: 0 }),
        ItsCmd.SYNC({ RDbase: 0 }),
      ]);
      yield str(g.board.translater, EVENT); // as kvm-unit-tests' its-trigger would on QEMU
      yield daifclr(DAIF_I);
      yield* idle();
    },
    irq: function* (): Program {
      const intid: number = yield mrs(ICC_IAR1_EL1);
      acks.push(intid);
      if (intid !== 1023) yield msr(ICC_EOIR1_EL1, intid);
      yield eret();
    },
  }));
  const r = m.runUntilQuiescent(20_000_000);
  t.true(r.quiescent, 'every PE asleep, nothing queued');
  t.is(g.its.errorCount, 0);
  t.deepEqual(acks, [LPI]);
  t.deepEqual(m.trace.of('its-translate').map((x) => [x.deviceId, x.eventId, x.intid, x.rd, x.delivered]), [[0, EVENT, LPI, 0, true]]);
});
