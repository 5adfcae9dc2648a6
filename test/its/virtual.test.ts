/**
 * GICv4.0 virtual commands (IHI 0069H §5.3 "ITS commands", §7.2 "Direct injection of virtual
 * interrupts") against a recording VlpiPort: the vPE
 * table and ITT contents, vLPI delivery by translation and INT, VMOVI/VMOVP moves, VSYNC,
 * VINVALL, and the GICv3 ITS refusing virtual opcodes.
 */
import test from 'ava';
import { ItsCmd } from '../../gic/its/commands.js';
import { GITS } from '../../gic/its/its-registers.js';
import type { ItsDriver } from '../../drivers/its.js';
import { ITT_AREA, VPE_TABLE, VPT_AREA, layout, makeRig, peek64, rigDriver, run, type ItsRig } from '../helpers/its-rig.js';

const DEV = 5;
const EV = 3;
const VINTID = 8300;
const DB = 8250;
const VPT2 = VPT_AREA;
const VPT3 = VPT_AREA + 0x10000;

const vte = (size: number, vpt: number, rd: number): bigint => 1n | (BigInt(size) << 1n) | (BigInt(vpt / 0x10000) << 6n) | (BigInt(rd) << 42n);
const iteVirtual = (vintid: number, vpe: number): bigint => 1n | (BigInt(vintid) << 2n) | (BigInt(vpe) << 48n);

function* mapVirtual(d: ItsDriver): Generator<any, void, any> {
  yield* d.init(layout({ vpes: { base: VPE_TABLE } }));
  yield* d.submit(
    ItsCmd.MAPD({ DeviceID: DEV, Size: 4, ITT_addr: ITT_AREA, V: 1 }),
    ItsCmd.VMAPP({ vPEID: 2, RDbase: 1, V: 1, VPT_size: 15, VPT_addr: VPT2 }),
    ItsCmd.VMAPP({ vPEID: 3, RDbase: 0, V: 1, VPT_size: 13, VPT_addr: VPT3 }),
    ItsCmd.VMAPTI({ DeviceID: DEV, EventID: EV, vPEID: 2, vINTID: VINTID, Dbell_pINTID: DB }),
  );
}

function msi(rig: ItsRig, deviceId: number, eventId: number): void {
  rig.m.bus.write(rig.base + GITS.TRANSLATER, 4, eventId, { requester: 'device', id: deviceId });
}

test('VMAPP and VMAPTI write the documented VTE and virtual ITE; an MSI becomes a vLPI for the vPE at its RD', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapVirtual(d);
  });
  t.is(rig.its.errorCount, 0);
  t.is(peek64(rig, VPE_TABLE + 2 * 8), vte(15, VPT2, 1));
  t.is(peek64(rig, VPE_TABLE + 3 * 8), vte(13, VPT3, 0));
  t.is(peek64(rig, ITT_AREA + EV * 12), iteVirtual(VINTID, 2));
  t.is(rig.m.bus.memory.read32(ITT_AREA + EV * 12 + 8), DB);
  const vl = rig.vlpis!;
  t.deepEqual(vl.of('mapped').map((c) => c.args), [[1, VPT2, 16], [0, VPT3, 14]]);
  msi(rig, DEV, EV);
  rig.m.runFor(10_000);
  t.deepEqual(vl.of('vset').map((c) => c.args), [[1, VPT2, 16, VINTID, DB]]);
  t.is(vl.of('vset')[0]!.t - rig.m.trace.of('its-translate')[0]!.t, 0);
  t.deepEqual(rig.lpis.calls, []); // nothing physical
  const tr = rig.m.trace.of('its-translate')[0]!;
  t.like(tr, { deviceId: DEV, eventId: EV, intid: VINTID, virtual: true, rd: 1, delivered: true });
});

test('INT, CLEAR, INV and DISCARD on a virtual ITE reach the vPE through the VlpiPort', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const vl = rig.vlpis!;
  run(rig, function* () {
    yield* mapVirtual(d);
    yield* d.submit(ItsCmd.INT({ DeviceID: DEV, EventID: EV }));
    t.deepEqual(vl.at(VPT2), [VINTID]);
    yield* d.submit(ItsCmd.CLEAR({ DeviceID: DEV, EventID: EV }), ItsCmd.INV({ DeviceID: DEV, EventID: EV }), ItsCmd.INT({ DeviceID: DEV, EventID: EV }));
    t.deepEqual(vl.at(VPT2), [VINTID]);
    yield* d.submit(ItsCmd.DISCARD({ DeviceID: DEV, EventID: EV }));
  });
  t.deepEqual(vl.calls.filter((c) => c.op.startsWith('v')).map((c) => [c.op, ...c.args]), [
    ['vset', 1, VPT2, 16, VINTID, DB],
    ['vclear', 1, VPT2, VINTID],
    ['vinv', 1, VPT2, VINTID],
    ['vset', 1, VPT2, 16, VINTID, DB],
    ['vclear', 1, VPT2, VINTID],
  ]);
  t.deepEqual(vl.at(VPT2), []);
  t.is(peek64(rig, ITT_AREA + EV * 12), 0n);
});

test('VMOVI moves the pending vLPI to the new vPE and, with D = 1, changes the doorbell; MOVI refuses a virtual ITE', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const vl = rig.vlpis!;
  run(rig, function* () {
    yield* mapVirtual(d);
    yield* d.submit(
      ItsCmd.INT({ DeviceID: DEV, EventID: EV }),
      ItsCmd.VMOVI({ DeviceID: DEV, EventID: EV, vPEID: 3, D: 1, Dbell_pINTID: 1023 }),
      ItsCmd.MOVI({ DeviceID: DEV, EventID: EV, ICID: 0 }),
    );
  });
  t.deepEqual([vl.at(VPT2), vl.at(VPT3)], [[], [VINTID]]);
  t.deepEqual(vl.of('vset').at(-1)!.args, [0, VPT3, 14, VINTID, 1023]);
  t.is(peek64(rig, ITT_AREA + EV * 12), iteVirtual(VINTID, 3));
  t.is(rig.m.bus.memory.read32(ITT_AREA + EV * 12 + 8), 1023);
  t.deepEqual(rig.its.errors.map((e) => [e.name, e.code]), [['MOVI_WRONG_INTTYPE', 0x010114]]);
  msi(rig, DEV, EV);
  rig.m.runFor(10_000);
  t.deepEqual(vl.of('vset').at(-1)!.args, [0, VPT3, 14, VINTID, 1023]);
});

test('VMOVP retargets the vPE to another RD (VTE rewritten, port told); VSYNC and VINVALL name the vPE', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  const vl = rig.vlpis!;
  run(rig, function* () {
    yield* mapVirtual(d);
    yield* d.submit(
      ItsCmd.VMOVP({ vPEID: 2, RDbase: 0, SequenceNumber: 0, ITSList: 0 }),
      ItsCmd.VSYNC({ vPEID: 2 }),
      ItsCmd.VINVALL({ vPEID: 2 }),
      ItsCmd.VSYNC({ vPEID: 9 }), // never mapped
    );
  });
  t.is(peek64(rig, VPE_TABLE + 2 * 8), vte(15, VPT2, 0));
  t.deepEqual(vl.calls.slice(2).map((c) => [c.op, ...c.args]), [
    ['unmapped', 1, VPT2],
    ['mapped', 0, VPT2, 16],
    ['vinvall', 0, VPT2],
  ]);
  t.deepEqual(rig.its.errors.map((e) => e.name), ['VSYNC_UNMAPPED_VPE']);
  msi(rig, DEV, EV);
  rig.m.runFor(10_000);
  t.deepEqual(vl.of('vset').at(-1)!.args, [0, VPT2, 16, VINTID, DB]);
});

test('VMAPP V = 0 unmaps the vPE: its VTE is invalid and later MSIs for it are dropped', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapVirtual(d);
    yield* d.submit(ItsCmd.VMAPP({ vPEID: 2, V: 0 }));
  });
  t.is(peek64(rig, VPE_TABLE + 2 * 8), 0n);
  t.deepEqual(rig.vlpis!.of('unmapped').map((c) => c.args), [[1, VPT2]]);
  msi(rig, DEV, EV);
  rig.m.runFor(10_000);
  t.is(rig.vlpis!.of('vset').length, 0);
  t.is(rig.its.translator.lastError, 0x010311); // INT UNMAPPED_VPE (simulator-defined)
});

test('virtual command errors: simulator-defined 0x01_CC_EE codes, skipped', (t) => {
  const rig = makeRig();
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* mapVirtual(d);
    yield* d.submit(
      ItsCmd.VMAPP({ vPEID: 600, RDbase: 0, V: 1, VPT_size: 15, VPT_addr: VPT2 }), // beyond the 512-entry vPE table
      ItsCmd.VMAPP({ vPEID: 4, RDbase: 7, V: 1, VPT_size: 15, VPT_addr: VPT2 }),
      ItsCmd.VMAPP({ vPEID: 4, RDbase: 0, V: 1, VPT_size: 16, VPT_addr: VPT2 }), // > GITS_TYPER.ID_bits
      ItsCmd.VMAPTI({ DeviceID: DEV, EventID: 1, vPEID: 2, vINTID: 100, Dbell_pINTID: 1023 }),
      ItsCmd.VMAPTI({ DeviceID: DEV, EventID: 1, vPEID: 2, vINTID: VINTID, Dbell_pINTID: 5 }),
      ItsCmd.VMAPI({ DeviceID: DEV, EventID: 1, vPEID: 600, Dbell_pINTID: 1023 }),
      ItsCmd.MAPTI({ DeviceID: DEV, EventID: 2, pINTID: 8200, ICID: 0 }),
      ItsCmd.VMOVI({ DeviceID: DEV, EventID: 2, vPEID: 3, D: 0, Dbell_pINTID: 0 }),
      ItsCmd.VMOVP({ vPEID: 7, RDbase: 0 }),
    );
  });
  t.deepEqual(rig.its.errors.map((e) => [e.name, e.code.toString(16)]), [
    ['VMAPP_VPEID_OOR', '12910'],
    ['VMAPP_PROCNUM_OOR', '12902'],
    ['VMAPP_VPTSIZE_OOR', '12915'],
    ['VMAPTI_VIRTUALID_OOR', '12a12'],
    ['VMAPTI_DOORBELL_OOR', '12a13'],
    ['VMAPI_VPEID_OOR', '12b10'],
    ['VMOVI_WRONG_INTTYPE', '12114'],
    ['VMOVP_UNMAPPED_VPE', '12211'],
  ]);
});

test('a GICv3 ITS (Virtual = 0) treats every virtual opcode as an unknown command', (t) => {
  const rig = makeRig({ version: 3 });
  const d = rigDriver(rig);
  run(rig, function* () {
    yield* d.init(layout());
    yield* d.submit(
      ItsCmd.MAPD({ DeviceID: DEV, Size: 4, ITT_addr: ITT_AREA, V: 1 }),
      ItsCmd.VMAPP({ vPEID: 2, RDbase: 1, V: 1, VPT_size: 15, VPT_addr: VPT2 }),
      ItsCmd.VMAPTI({ DeviceID: DEV, EventID: EV, vPEID: 2, vINTID: VINTID, Dbell_pINTID: DB }),
      ItsCmd.VMOVI({ DeviceID: DEV, EventID: EV, vPEID: 2 }),
      ItsCmd.VMOVP({ vPEID: 2, RDbase: 1 }),
      ItsCmd.VSYNC({ vPEID: 2 }),
      ItsCmd.VMAPI({ DeviceID: DEV, EventID: EV, vPEID: 2 }),
      ItsCmd.VINVALL({ vPEID: 2 }),
    );
  });
  t.deepEqual(rig.its.errors.map((e) => e.code.toString(16)), ['129ff', '12aff', '121ff', '122ff', '125ff', '12bff', '12dff']);
  t.true(rig.its.errors.every((e) => e.outcome === 'skipped'));
  t.is(rig.vlpis, null);
  t.is(peek64(rig, ITT_AREA + EV * 12), 0n);
});
