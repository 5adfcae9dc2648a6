/**
 * Stage 2: tables built in memory by EL2 code, a guest at EL1 whose MMIO access faults to
 * EL2 and is emulated from the syndrome (SRT, ELR + 4), a permission fault, and a TLB that
 * keeps a stale translation until TLBI.
 */
import test from 'ava';
import { EC, ESR, ISS_DABT } from '../../core/esr.js';
import { HCR_RW, HCR_VM } from '../../core/hcr.js';
import { dsb, eret, getx, hvc, isb, ldr, mrs, msr, setx, str, tlbi, Tlbi, type Program } from '../../core/ops.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { S2_READ, S2_WRITE, S2_EXEC, VTTBR } from '../../core/stage2.js';
import { s2Map, S2_VTCR } from '../../core/stage2-tables.js';
import { ELR_EL2, ESR_EL2, FAR_EL2, HCR_EL2, HPFAR_EL2, SPSR_EL2, VBAR_EL2, VTCR_EL2, VTTBR_EL2 } from '../../core/sysregs.js';
import { Machine } from '../../core/machine.js';
import { cpuOff } from '../helpers/harness.js';

const HYP = 0x4000_0000;
const HYP_VEC = 0x4000_0800;
const GUEST_IPA = 0x4000_0000;
const GUEST_PA = 0x4800_0000;
const RO_IPA = 0x4200_0000;
const RO_PA = 0x4900_0000;
const ALT_PA = 0x4900_1000;
const DEV_IPA = 0x0900_0000;
const TABLES = 0x5000_0000;

interface Abort {
  ec: number;
  isv: number;
  sas: number;
  srt: number;
  wnr: number;
  dfsc: number;
  far: number;
  hpfar: number;
}

function build(guest: () => Program, onHvc: (imm: number, root: number) => Program = function* () {}) {
  const m = new Machine({ trace: true });
  const aborts: Abort[] = [];
  const deviceWrites: unknown[] = [];
  let next = TABLES + 0x1000;
  const alloc = (): number => {
    const p = next;
    next += 0x1000;
    return p;
  };
  const root = TABLES;
  m.bus.memory.write32(RO_PA, 0x55);
  m.bus.memory.write32(ALT_PA, 0x66);
  m.code.install(GUEST_PA, guest, 'guest');
  m.code.installVectors(HYP_VEC, {
    lower64: {
      sync: function* () {
        const esr: number = yield mrs(ESR_EL2, 9);
        const elr: number = yield mrs(ELR_EL2, 9);
        const ec = ESR.get(esr, 'EC');
        if (ec === EC.HVC64) {
          yield* onHvc(ESR.get(esr, 'ISS') & 0xffff, root);
          yield eret();
          return;
        }
        const iss = ISS_DABT.decode(ESR.get(esr, 'ISS'));
        const far: number = yield mrs(FAR_EL2, 9);
        const hpfar: number = yield mrs(HPFAR_EL2, 9);
        aborts.push({ ec, isv: iss.ISV, sas: iss.SAS, srt: iss.SRT, wnr: iss.WnR, dfsc: iss.DFSC, far, hpfar });
        const ipa = (hpfar - (hpfar % 16)) * 256 + (far % 4096);
        if (ipa >= DEV_IPA && ipa < DEV_IPA + 0x1000) {
          if (iss.WnR === 1) deviceWrites.push(yield getx(iss.SRT));
          else yield setx(iss.SRT, 0xfeed);
        }
        yield msr(ELR_EL2, elr + 4, 9);
        yield eret();
      },
    },
  });
  m.code.install(HYP, function* () {
    yield msr(VBAR_EL2, HYP_VEC);
    yield* s2Map(root, GUEST_IPA, GUEST_PA, 0x40_0000, S2_READ | S2_WRITE | S2_EXEC, alloc);
    yield* s2Map(root, RO_IPA, RO_PA, 0x1000, S2_READ, alloc);
    yield msr(VTTBR_EL2, VTTBR.encode({ VMID: 3, BADDR: root / 2 }));
    yield msr(VTCR_EL2, S2_VTCR);
    yield msr(HCR_EL2, HCR_RW | HCR_VM);
    yield isb();
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, GUEST_IPA);
    yield eret();
  });
  m.boot(HYP);
  return { m, aborts, deviceWrites };
}

test('an MMIO load and store trapped at stage 2 are emulated at EL2 from SRT, with ELR + 4', (t) => {
  let loaded: unknown;
  let after = false;
  const { m, aborts, deviceWrites } = build(function* () {
    loaded = yield ldr(DEV_IPA + 0x10, 4, 5);
    yield str(DEV_IPA + 0x20, 0x1234, 8, 7);
    after = true;
    yield* cpuOff();
  });
  m.run(1e7);
  t.is(loaded, 0xfeed);
  t.deepEqual(deviceWrites, [0x1234]);
  t.true(after);
  t.is(aborts.length, 2);
  // Load: EC 0x24, ISV, word (SAS 2), SRT 5, read, translation fault at level 1 (no L1 entry for 0-1 GB).
  t.deepEqual(aborts[0], { ec: 0x24, isv: 1, sas: 2, srt: 5, wnr: 0, dfsc: 0x05, far: DEV_IPA + 0x10, hpfar: (DEV_IPA >> 12) << 4 });
  t.deepEqual({ ...aborts[1], far: 0, hpfar: 0 }, { ec: 0x24, isv: 1, sas: 3, srt: 7, wnr: 1, dfsc: 0x05, far: 0, hpfar: 0 });
  t.is(m.trace.of('s2-fault').length, 2);
});

test('a store to a read-only stage-2 page is a permission fault at level 3; loads work', (t) => {
  let v: unknown;
  const { m, aborts } = build(function* () {
    v = yield ldr(RO_IPA, 4, 1);
    yield str(RO_IPA, 1, 4, 2);
    yield* cpuOff();
  });
  m.run(1e7);
  t.is(v, 0x55);
  t.is(aborts.length, 1);
  t.is(aborts[0]!.dfsc, 0x0f);
  t.is(aborts[0]!.wnr, 1);
  t.is(m.bus.memory.read32(RO_PA), 0x55);
});

test('the TLB keeps a stale translation until TLBI IPAS2E1IS', (t) => {
  const seen: unknown[] = [];
  const { m } = build(
    function* () {
      seen.push(yield ldr(RO_IPA, 4, 1));
      yield hvc(1); // remap RO_IPA to ALT_PA, no TLBI
      seen.push(yield ldr(RO_IPA, 4, 1));
      yield hvc(2); // TLBI
      seen.push(yield ldr(RO_IPA, 4, 1));
      yield* cpuOff();
    },
    function* (imm, root) {
      if (imm === 1) {
        let next = TABLES + 0x10_0000;
        yield* s2Map(root, RO_IPA, ALT_PA, 0x1000, S2_READ, () => (next += 0x1000));
      } else {
        yield tlbi(Tlbi.IPAS2E1IS, RO_IPA / 4096);
        yield dsb();
      }
    },
  );
  m.run(1e7);
  t.deepEqual(seen, [0x55, 0x55, 0x66]);
});

test('an IPA beyond the stage-2 input size (T0SZ 25: 2^39) is a translation fault at level 0, not at the start level', (t) => {
  const { m, aborts } = build(function* () {
    yield ldr(2 ** 39 + 0x1000, 4, 1);
    yield* cpuOff();
  });
  m.run(1e7);
  t.is(aborts.length, 1);
  t.is(aborts[0]!.ec, 0x24);
  t.is(aborts[0]!.dfsc, 0x04);
  t.is(aborts[0]!.hpfar, (2 ** 39 / 4096) * 16 + 16);
});
