/**
 * GICv4.1 virtual SGIs (IHI 0069: the ITS command VSGI, GITS_SGIR, GICR_VSGIR and
 * GICR_VSGIPENDR), as Linux drives them (irq-gic-v3-its.c, the vSGI irqchip):
 *
 * - `vsgiConfig` / `vsgiClear`: the VSGI command of one vSGI (priority, group, enable; or clear
 *   its pending state), to send with `ItsDriver.send` (`its_configure_sgi`, `its_sgi_clear_sgi`).
 * - `sendVsgi`: make vSGI `vintid` of vPE `vpeid` pending with a 64-bit GITS_SGIR write
 *   (`its_sgi_set_irqchip_state` for PENDING = true, the path KVM's vSGI injection takes).
 * - `queryVsgi`: a vPE's pending vSGIs read through a redistributor: GICR_VSGIR = vPEID, then
 *   GICR_VSGIPENDR polled until Busy = 0 (`its_sgi_get_irqchip_state`).
 */
import { ldr, str, type Op, type Program } from '../core/ops.js';
import { ItsCmd, type CommandWords } from '../gic/its/commands.js';
import { GITS_SGIR, GITS_VSGI_FRAME } from '../gic/its/vsgi-frame.js';
import { GICR_VLPI } from '../gic/mmio-offsets.js';

/** Transfer register of the MMIO accesses. */
const RT = 9;
const BUSY = 0x8000_0000;

/** VSGI, Clear = 0: vSGI `vintid` of `vpeid` gets `priority` (a byte; its bits [7:4] are sent), `group`, `enable`. */
export function vsgiConfig(vpeid: number, vintid: number, priority: number, group: 0 | 1, enable: boolean): CommandWords {
  return ItsCmd.VSGI({ vPEID: vpeid, vINTID: vintid, Priority: (priority >>> 4) & 0xf, Group: group, Enable: enable ? 1 : 0 });
}

/** VSGI, Clear = 1: vSGI `vintid` of `vpeid` is no longer pending. */
export function vsgiClear(vpeid: number, vintid: number): CommandWords {
  return ItsCmd.VSGI({ vPEID: vpeid, vINTID: vintid, Clear: 1 });
}

/** GITS_SGIR of the GICv4.1 ITS at `itsBase`: vSGI `vintid` of vPE `vpeid` becomes pending. */
export function sendVsgi(itsBase: number, vpeid: number, vintid: number): Op {
  return str(itsBase + GITS_VSGI_FRAME + GITS_SGIR, (BigInt(vpeid & 0xffff) << 32n) | BigInt(vintid & 0xf), 8, RT);
}

/** The pending vSGIs of vPE `vpeid` (bit n = vINTID n), asked at the VLPI_base frame `frame`. */
export function* queryVsgi(frame: number, vpeid: number): Program<number> {
  yield str(frame + GICR_VLPI.VSGIR, vpeid & 0xffff, 4, RT);
  for (;;) {
    const v: number = yield ldr(frame + GICR_VLPI.VSGIPENDR, 4, RT);
    if ((v & BUSY) === 0) return v & 0xffff;
  }
}
