/**
 * Who handles a guest's GIC system register access: ICH_* at EL1 is UNDEFINED, ICH_HCR_EL2
 * TALL0/TALL1/TC/TDIR trap ICV accesses to EL2, SGI generation traps with IMO = 1
 * (Arm ARM DDI 0487, HCR_EL2.IMO/FMO; IHI 0069, ICC_SGI1R_EL1, ICH_HCR_EL2), and ICH_VTR_EL2
 * describes the implementation.
 */
import test from 'ava';
import { EC, ESR, ISS_SYS64 } from '../../core/esr.js';
import { eret, hvc, mrs, msr, type Program } from '../../core/ops.js';
import { ELR_EL1, ESR_EL1 } from '../../core/sysregs.js';
import type { SysReg } from '../../core/sysreg.js';
import { ICH_HCR, ICH_VMCR, ICH_VTR } from '../../gic/ich-registers.js';
import * as S from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { enterGuest, lr, vgicRig } from '../helpers/vgic-rig.js';

/** The system register named by an EC 0x18 syndrome, and its direction. */
function trapped(esr: number): string {
  const iss = ISS_SYS64.decode(ESR.get(esr, 'ISS'));
  const all: SysReg[] = [S.ICC_IAR0_EL1, S.ICC_IAR1_EL1, S.ICC_EOIR0_EL1, S.ICC_EOIR1_EL1, S.ICC_PMR_EL1, S.ICC_DIR_EL1, S.ICC_CTLR_EL1, S.ICC_RPR_EL1, S.ICC_BPR1_EL1, S.ICC_SGI1R_EL1, S.ICC_IGRPEN0_EL1];
  const r = all.find((x) => x.op0 === iss.Op0 && x.op1 === iss.Op1 && x.crn === iss.CRn && x.crm === iss.CRm && x.op2 === iss.Op2);
  return `${iss.Direction === 1 ? 'mrs' : 'msr'} ${r?.name ?? '?'}`;
}

test('ICH_* registers at EL1 are UNDEFINED (EC 0x00 to EL1), not trapped', (t) => {
  const ecs: number[] = [];
  let lr0 = -1n;
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 9, priority: 0xa0 }));
      yield* enterGuest();
    },
    guestVectors: {
      curSpx: {
        sync: function* (): Program {
          const esr: number = yield mrs(ESR_EL1, 9);
          ecs.push(ESR.get(esr, 'EC'));
          const elr: number = yield mrs(ELR_EL1, 9);
          yield msr(ELR_EL1, elr + 4, 9);
          yield eret();
        },
      },
    },
    guest: function* () {
      yield mrs(S.ICH_HCR_EL2, 1);
      yield msr(S.ICH_LR_EL2[0]!, 0n, 1);
      yield mrs(S.ICH_VTR_EL2, 1);
      yield mrs(S.ICH_MISR_EL2, 1);
      yield hvc(1);
      yield* cpuOff();
    },
    hvc: function* () {
      lr0 = yield mrs(S.ICH_LR_EL2[0]!, 3);
    },
  });
  rig.m.run(1e6);
  t.deepEqual(ecs, [EC.UNKNOWN, EC.UNKNOWN, EC.UNKNOWN, EC.UNKNOWN]);
  t.deepEqual(rig.el2Traps, []);
  t.is(lr0, lr({ vintid: 9, priority: 0xa0 })); // the EL1 MSR had no effect
});

test('ICH_HCR_EL2.TALL1 traps an EL1 ICV_IAR1 read to EL2 with EC 0x18 and the access in the syndrome', (t) => {
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_HCR_EL2, ICH_HCR.encode({ En: 1, TALL1: 1 }));
      yield* enterGuest();
    },
    guest: function* () {
      yield mrs(S.ICC_IAR1_EL1, 5);
      yield* cpuOff();
    },
  });
  rig.m.run(1e6);
  t.is(rig.el2Traps.length, 1);
  const esr = rig.el2Traps[0]!;
  t.is(ESR.get(esr, 'EC'), EC.SYS64);
  t.deepEqual(ISS_SYS64.decode(ESR.get(esr, 'ISS')), { Op0: 3, Op1: 0, CRn: 12, CRm: 12, Op2: 0, Rt: 5, Direction: 1 });
});

test('TALL0, TALL1, TC and TDIR each trap exactly the class of ICV accesses they name', (t) => {
  const cases: { hcr: Parameters<typeof ICH_HCR.encode>[0]; want: string[] }[] = [
    { hcr: { TALL0: 1 }, want: ['mrs ICC_IAR0_EL1', 'msr ICC_EOIR0_EL1', 'msr ICC_IGRPEN0_EL1'] },
    { hcr: { TALL1: 1 }, want: ['mrs ICC_IAR1_EL1', 'msr ICC_EOIR1_EL1', 'msr ICC_BPR1_EL1'] },
    { hcr: { TC: 1 }, want: ['msr ICC_PMR_EL1', 'msr ICC_DIR_EL1', 'mrs ICC_CTLR_EL1', 'mrs ICC_RPR_EL1'] },
    { hcr: { TDIR: 1 }, want: ['msr ICC_DIR_EL1'] },
    { hcr: {}, want: [] },
  ];
  for (const c of cases) {
    const got: string[] = [];
    const rig = vgicRig({
      el2: function* () {
        yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG0: 1, VENG1: 1, VPMR: 0xf8 }));
        yield msr(S.ICH_HCR_EL2, ICH_HCR.encode({ En: 1, ...c.hcr }));
        yield* enterGuest();
      },
      guest: function* () {
        yield mrs(S.ICC_IAR0_EL1, 1);
        yield msr(S.ICC_EOIR0_EL1, 1023, 1);
        yield msr(S.ICC_IGRPEN0_EL1, 1, 1);
        yield mrs(S.ICC_IAR1_EL1, 1);
        yield msr(S.ICC_EOIR1_EL1, 1023, 1);
        yield msr(S.ICC_BPR1_EL1, 3, 1);
        yield msr(S.ICC_PMR_EL1, 0xf8, 1);
        yield msr(S.ICC_DIR_EL1, 1023, 1);
        yield mrs(S.ICC_CTLR_EL1, 1);
        yield mrs(S.ICC_RPR_EL1, 1);
        yield* cpuOff();
      },
      trap: function* (esr: number): Program {
        got.push(trapped(esr));
      },
    });
    rig.m.run(1e6);
    t.deepEqual(got, c.want, JSON.stringify(c.hcr));
  }
});

test('with HCR_EL2.IMO = 1 a guest ICC_SGI1R_EL1 write traps to EL2 (EC 0x18) while IAR1 is silently redirected', (t) => {
  const got: string[] = [];
  let iar = -1;
  const rig = vgicRig({
    el2: function* () {
      yield msr(S.ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8 }));
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 77, priority: 0x40 }));
      yield msr(S.ICH_HCR_EL2, ICH_HCR.encode({ En: 1 }));
      yield* enterGuest(undefined, 0x80); // PSTATE.I = 1: the guest polls
    },
    guest: function* () {
      yield msr(S.ICC_SGI1R_EL1, (1n << 24n) | 1n, 2);
      iar = yield mrs(S.ICC_IAR1_EL1, 1);
      yield* cpuOff();
    },
    trap: function* (esr: number): Program {
      got.push(`${ESR.get(esr, 'EC')} ${trapped(esr)}`);
    },
  });
  rig.m.run(1e6);
  t.deepEqual(got, [`${EC.SYS64} msr ICC_SGI1R_EL1`]);
  t.is(iar, 77);
  t.deepEqual(rig.icc[0]!.accesses, []);
});

test('ICH_VTR_EL2 reads back the configuration (Cortex-A76-like default: 0x90280003)', (t) => {
  const read = (gic: Parameters<typeof vgicRig>[0]['gic']): number => {
    let v = -1;
    const rig = vgicRig({
      gic,
      el2: function* () {
        v = yield mrs(S.ICH_VTR_EL2, 1);
        yield* cpuOff();
      },
    });
    rig.m.run(1e6);
    return v;
  };
  const v4 = read({});
  // 4 LRs, 5 priority and 5 preemption bits, 16-bit vINTIDs, A3V, TDS, direct injection supported.
  t.is(v4, 0x90280003);
  t.deepEqual(ICH_VTR.decode(v4), { ListRegs: 3, DVIM: 0, TDS: 1, nV4: 0, A3V: 1, SEIS: 0, IDbits: 0, PREbits: 4, PRIbits: 4 });
  t.is(read({ version: 3 }), 0x90380003); // nV4 = 1 on GICv3
  t.is(read({ listRegs: 16, priorityBits: 8, preemptionBits: 7 }), 0xf828000f);
});
