/**
 * The virtual CPU interface inside the assembled GIC (createGic): the maintenance interrupt
 * reaches the physical redistributor as level-sensitive PPI 25 and interrupts the hypervisor at
 * EL2; an HW = 1 list register deactivates the physical interrupt the host left active.
 */
import test from 'ava';
import { HCR_FMO, HCR_IMO, HCR_RW } from '../../core/hcr.js';
import { eret, mrs, msr, work, type Program } from '../../core/ops.js';
import { PSR_DAIF } from '../../core/pstate.js';
import { gicConfig } from '../../gic/config.js';
import { findRedistributor, initCpuInterface, initDistributor, initPrivateInterrupts, wakeRedistributor } from '../../drivers/gic-init.js';
import { createGic } from '../../gic/gic.js';
import { ICH_HCR, ICH_MISR, ICH_VMCR, LrState } from '../../gic/ich-registers.js';
import { IchReg } from '../../gic/ports.js';
import * as S from '../../gic/sysregs.js';
import { cpuOff, setup } from '../helpers/harness.js';
import { ackHandler, enterGuest, GUEST, lr, lrState } from '../helpers/vgic-rig.js';

const VMCR_G1 = ICH_VMCR.encode({ VENG1: 1, VPMR: 0xf8, VBPR0: 2, VBPR1: 3 });

test('an EOI maintenance interrupt is taken at EL2 as physical PPI 25 and stops once EL2 rewrites the LR', (t) => {
  const log: (string | number)[] = [];
  const cfg = gicConfig();
  const m = setup({
    el: 2,
    hcr: HCR_RW + HCR_IMO + HCR_FMO,
    main: function* (): Program {
      yield* initDistributor(cfg.gicdBase);
      const rd: number = yield* findRedistributor(cfg.gicrBase);
      yield* wakeRedistributor(rd);
      yield* initPrivateInterrupts(rd, [25]);
      yield* initCpuInterface();
      yield msr(S.ICH_VMCR_EL2, VMCR_G1);
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 40, priority: 0xa0, eoi: true }));
      yield msr(S.ICH_HCR_EL2, ICH_HCR.encode({ En: 1 }));
      yield* enterGuest(GUEST);
    },
    el2Vectors: {
      lower64: {
        irq: function* (): Program {
          const intid: number = yield mrs(S.ICC_IAR1_EL1, 2); // EL2: the physical CPU interface
          const misr: number = yield mrs(S.ICH_MISR_EL2, 2);
          log.push(`el2 ${intid} misr=${misr}`);
          yield msr(S.ICH_LR_EL2[0]!, 0n, 2); // fold: LR0 is free again, the cause is gone
          yield msr(S.ICC_EOIR1_EL1, intid, 2);
          yield eret();
        },
      },
    },
    el1Vectors: { curSpx: { irq: ackHandler(log) } },
  });
  m.code.install(
    GUEST,
    function* (): Program {
      yield work(20_000);
      log.push('guest done');
      yield* cpuOff();
    },
    'guest',
  );
  createGic(m, cfg);
  m.run(10_000_000);
  t.deepEqual(log, [40, `el2 25 misr=${ICH_MISR.encode({ EOI: 1 })}`, 'guest done']);
});

test('HW = 1: the host leaves a physical interrupt active (EOImode 1), the guest EOIR deactivates it through the LR', (t) => {
  const log: (string | number)[] = [];
  const cfg = gicConfig();
  const m = setup({
    el: 2,
    hcr: HCR_RW + HCR_IMO + HCR_FMO,
    daif: PSR_DAIF, // the host polls ICC_IAR1_EL1 with interrupts masked
    main: function* (): Program {
      yield* initDistributor(cfg.gicdBase);
      const rd: number = yield* findRedistributor(cfg.gicrBase);
      yield* wakeRedistributor(rd);
      yield* initPrivateInterrupts(rd, []);
      yield* initCpuInterface({ eoiMode: 1 }); // host EOImode = 1: priority drop and deactivation are split
      yield msr(S.ICH_VMCR_EL2, VMCR_G1);
      yield msr(S.ICH_HCR_EL2, ICH_HCR.encode({ En: 1 }));
      // The host takes SGI 3 (standing in for a device interrupt owned by the guest)...
      yield msr(S.ICC_SGI1R_EL1, (3n << 24n) | 1n, 2);
      yield work(2_000);
      const intid: number = yield mrs(S.ICC_IAR1_EL1, 2);
      yield msr(S.ICC_EOIR1_EL1, intid, 2); // priority drop only: SGI 3 stays active
      log.push(`host took ${intid}`);
      // ...and hands it to the guest linked to the physical INTID.
      yield msr(S.ICH_LR_EL2[0]!, lr({ vintid: 3, priority: 0xa0, hw: true, pintid: intid }));
      yield* enterGuest(GUEST);
    },
    el1Vectors: { curSpx: { irq: ackHandler(log) } },
  });
  m.code.install(
    GUEST,
    function* (): Program {
      yield work(5_000);
      yield* cpuOff();
    },
    'guest',
  );
  const gic = createGic(m, cfg);
  m.run(10_000_000);
  t.deepEqual(log, ['host took 3', 3]);
  t.is(lrState(gic.virtual[0]!.readIch(IchReg.LR, 0, m.pes[0]!) as bigint), LrState.Invalid);
  // GICR_ISACTIVER0 (SGI_base + 0x300) bit 3: no longer active at the physical GIC.
  const active = m.bus.read(cfg.gicrBase + 0x10000 + 0x300, 4, { requester: 'pe', id: 0 }) as number;
  t.is(active & (1 << 3), 0);
  t.deepEqual(m.trace.of('icv-eoi').map((r) => [r.outcome, r.pintid]), [['deactivated', 3]]);
});
