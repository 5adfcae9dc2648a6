/**
 * Exclusives, atomics and LDAR/STLR from a guest at EL1 under stage 2: a stage-2 fault is a Data
 * Abort to EL2 with HPFAR_EL2, with a valid instruction syndrome (ISV = 1, AR = 1) for LDAR/STLR
 * and none (ISV = 0) for exclusives and atomics; atomics need stage-2 write permission.
 */
import test from 'ava';
import { EC, ESR, ISS_DABT } from '../../core/esr.js';
import { HCR_RW, HCR_VM } from '../../core/hcr.js';
import { Machine } from '../../core/machine.js';
import { cas, eret, isb, ldadd, ldar, ldxr, mrs, msr, setx, stlr, stxr, type Program } from '../../core/ops.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { S2_EXEC, S2_READ, S2_WRITE, VTTBR } from '../../core/stage2.js';
import { s2Map, S2_VTCR } from '../../core/stage2-tables.js';
import { ELR_EL2, ESR_EL2, FAR_EL2, HCR_EL2, HPFAR_EL2, SPSR_EL2, VBAR_EL2, VTCR_EL2, VTTBR_EL2 } from '../../core/sysregs.js';
import { cpuOff } from '../helpers/harness.js';

const HYP = 0x4000_0000;
const HYP_VEC = 0x4000_0800;
const GUEST_IPA = 0x4000_0000;
const GUEST_PA = 0x4800_0000;
const DATA_IPA = GUEST_IPA + 0x10_0000;
const DATA_PA = GUEST_PA + 0x10_0000;
const RO_IPA = 0x4200_0000;
const RO_PA = 0x4900_0000;
/** Not mapped at stage 2 (an emulated device's IPA). */
const HOLE_IPA = 0x0900_0000;
const TABLES = 0x5000_0000;

interface Abort {
  ec: number;
  iss: ReturnType<typeof ISS_DABT.decode>;
  far: number;
  hpfar: number;
}

/** A guest at EL1 with 4 MB of RAM and one read-only page; EL2 logs each abort, answers with `replies` and skips the op. */
function guestMachine(guest: () => Program, replies: [number, number][] = []) {
  const m = new Machine({ trace: true });
  const aborts: Abort[] = [];
  let next = TABLES + 0x1000;
  const alloc = (): number => (next += 0x1000) - 0x1000;
  m.code.install(GUEST_PA, guest, 'guest');
  m.code.installVectors(HYP_VEC, {
    lower64: {
      sync: function* () {
        const esr: number = yield mrs(ESR_EL2, 9);
        const elr: number = yield mrs(ELR_EL2, 9);
        const far: number = yield mrs(FAR_EL2, 9);
        const hpfar: number = yield mrs(HPFAR_EL2, 9);
        aborts.push({ ec: ESR.get(esr, 'EC'), iss: ISS_DABT.decode(ESR.get(esr, 'ISS')), far, hpfar });
        const r = replies.shift();
        if (r !== undefined) yield setx(r[0], r[1]);
        yield msr(ELR_EL2, elr + 4, 9);
        yield eret();
      },
    },
  });
  m.code.install(HYP, function* () {
    yield msr(VBAR_EL2, HYP_VEC);
    yield* s2Map(TABLES, GUEST_IPA, GUEST_PA, 0x40_0000, S2_READ | S2_WRITE | S2_EXEC, alloc);
    yield* s2Map(TABLES, RO_IPA, RO_PA, 0x1000, S2_READ, alloc);
    yield msr(VTTBR_EL2, VTTBR.encode({ VMID: 1, BADDR: TABLES / 2 }));
    yield msr(VTCR_EL2, S2_VTCR);
    yield msr(HCR_EL2, HCR_RW | HCR_VM);
    yield isb();
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, GUEST_IPA);
    yield eret();
  });
  m.boot(HYP);
  return { m, aborts };
}

const hpfarOf = (ipa: number): number => Math.floor(ipa / 4096) * 16;

test('stage-2 faults of LDXR, STXR and CAS are Data Aborts to EL2 with ISV = 0; of LDAR/STLR, ISV = 1 with AR = 1', (t) => {
  const got: unknown[] = [];
  const { m, aborts } = guestMachine(
    function* () {
      got.push(yield ldxr(HOLE_IPA + 0x10, 4, 5));
      got.push(yield stxr(HOLE_IPA + 0x18, 1, 4, 6, 7));
      got.push(yield cas(HOLE_IPA + 0x20, 1, 2, 8, 0, 8, 9));
      got.push(yield ldar(HOLE_IPA + 0x28, 4, 3));
      got.push(yield stlr(HOLE_IPA + 0x30, 0x55, 8, 4));
      yield* cpuOff();
    },
    [[5, 0x11], [6, 1], [8, 0x22], [3, 0x33]],
  );
  m.run(1e7);
  t.true(aborts.every((a) => a.ec === EC.DABT_LOW));
  t.deepEqual(
    aborts.map((a) => ({ ...a.iss, far: a.far, hpfar: a.hpfar })),
    [
      { ISV: 0, SAS: 0, SSE: 0, SRT: 0, SF: 0, AR: 0, FnV: 0, EA: 0, CM: 0, S1PTW: 0, WnR: 0, DFSC: 0x05, far: HOLE_IPA + 0x10, hpfar: hpfarOf(HOLE_IPA) },
      { ISV: 0, SAS: 0, SSE: 0, SRT: 0, SF: 0, AR: 0, FnV: 0, EA: 0, CM: 0, S1PTW: 0, WnR: 1, DFSC: 0x05, far: HOLE_IPA + 0x18, hpfar: hpfarOf(HOLE_IPA) },
      { ISV: 0, SAS: 0, SSE: 0, SRT: 0, SF: 0, AR: 0, FnV: 0, EA: 0, CM: 0, S1PTW: 0, WnR: 1, DFSC: 0x05, far: HOLE_IPA + 0x20, hpfar: hpfarOf(HOLE_IPA) },
      { ISV: 1, SAS: 2, SSE: 0, SRT: 3, SF: 0, AR: 1, FnV: 0, EA: 0, CM: 0, S1PTW: 0, WnR: 0, DFSC: 0x05, far: HOLE_IPA + 0x28, hpfar: hpfarOf(HOLE_IPA) },
      { ISV: 1, SAS: 3, SSE: 0, SRT: 4, SF: 1, AR: 1, FnV: 0, EA: 0, CM: 0, S1PTW: 0, WnR: 1, DFSC: 0x05, far: HOLE_IPA + 0x30, hpfar: hpfarOf(HOLE_IPA) },
    ],
  );
  // ELR + 4 completed each op from the register EL2 left: rt for LDXR/LDAR, rs for STXR and CAS (bigint for 8 bytes).
  t.deepEqual(got, [0x11, 1, 0x22n, 0x33, undefined]);
  t.is(m.trace.of('s2-fault').length, 5);
});

test('an LSE atomic and an STXR need stage-2 write permission (permission fault, WnR = 1); LDXR of a read-only page works', (t) => {
  const got: unknown[] = [];
  const { m, aborts } = guestMachine(function* () {
    got.push(yield ldxr(RO_IPA, 4, 1));
    yield stxr(RO_IPA, 9, 4, 2, 3);
    yield ldadd(RO_IPA, 1, 4, 0, 1);
    yield cas(RO_IPA, 0x55, 0x56, 4); // would compare equal: still a write access
    yield* cpuOff();
  });
  m.bus.memory.write32(RO_PA, 0x55);
  m.run(1e7);
  t.deepEqual(got, [0x55]);
  t.deepEqual(aborts.map((a) => [a.ec, a.iss.ISV, a.iss.WnR, a.iss.DFSC]), [
    [EC.DABT_LOW, 0, 1, 0x0f],
    [EC.DABT_LOW, 0, 1, 0x0f],
    [EC.DABT_LOW, 0, 1, 0x0f],
  ]);
  t.is(m.bus.memory.read32(RO_PA), 0x55);
});

test('exclusives and atomics of mapped guest RAM translate through stage 2 to the PA', (t) => {
  const got: unknown[] = [];
  const { m, aborts } = guestMachine(function* () {
    const v: number = yield ldxr(DATA_IPA, 4, 1);
    got.push(yield stxr(DATA_IPA, v + 1, 4, 2, 3));
    got.push(yield ldadd(DATA_IPA, 10, 4));
    got.push(yield cas(DATA_IPA + 8, 0n, 7n, 8));
    yield* cpuOff();
  });
  m.bus.memory.write32(DATA_PA, 41);
  m.run(1e7);
  t.deepEqual(aborts, []);
  t.deepEqual(got, [0, 42, 0n]);
  t.is(m.bus.memory.read32(DATA_PA), 52);
  t.is(m.bus.memory.read64(DATA_PA + 8), 7n);
});
