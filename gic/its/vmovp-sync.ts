/**
 * What the ITSs of one GIC share for VMOVP (IHI 0069, VMOVP; GITS_TYPER.VMOVP).
 *
 * - GITS_TYPER.VMOVP = 1: software issues VMOVP on one ITS only, and the ITSs keep each other's
 *   vPE mappings up to date. Here the ITS that executed it tells every other ITS of the GIC, and
 *   each one that maps the vPE moves it too (`propagate`).
 * - GITS_TYPER.VMOVP = 0: software must issue VMOVP on every ITS that maps the vPE, with the same
 *   SequenceNumber, an ITSList naming those ITSs (bit n = the ITS whose number is n) and in the
 *   same order on every ITS (Linux serializes every VMOVP under one lock and one sequence number
 *   for this: irq-gic-v3-its.c, its_send_vmovp). CHOICE (what happens when software gets it
 *   wrong is UNPREDICTABLE): each ITS executes its own VMOVP at once, without waiting for the
 *   others of its ITSList, so an ITS that is not sent the command keeps the old RDbase in its
 *   vPE table and its vLPIs keep going to the old redistributor.
 *   What software did is recorded (observation only, nothing changes the ITSs' behaviour):
 *   `listErrors` counts VMOVPs whose ITSList does not name the ITS executing them or disagrees
 *   with another ITS's VMOVP of the same SequenceNumber, `incomplete` the SequenceNumbers some
 *   ITS of the ITSList has not (yet) received, `abandoned` those superseded before completing.
 */

/** An ITS as the others see it for VMOVP = 1. */
export interface VmovpPeer {
  /** The ITS's number (its ITSList bit; GITS_CTLR.ITS_Number on GICv4.1). */
  readonly itsNumber: number;
  /** Another ITS executed VMOVP of `vpeid` to redistributor `rd`: move it here too if mapped. */
  peerMovedVpe(vpeid: number, rd: number): void;
}

interface OpenSequence {
  list: number;
  seen: number;
  vpeid: number;
  rd: number;
}

export class VmovpSync {
  readonly peers: VmovpPeer[] = [];
  /** VMOVPs executed with GITS_TYPER.VMOVP = 0 (all ITSs). */
  received = 0;
  /** VMOVPs whose ITSList does not name their ITS, or that disagree with their SequenceNumber's others. */
  listErrors = 0;
  /** SequenceNumbers superseded (the same number again at an ITS that had it) before every ITS of their list had it. */
  abandoned = 0;
  private readonly open = new Map<number, OpenSequence>();

  /** SequenceNumbers some ITS of their ITSList has not received. */
  get incomplete(): number {
    return this.open.size;
  }

  /** VMOVP = 0: ITS `its` executed VMOVP {SequenceNumber `seq`, ITSList `list`} of `vpeid` to `rd`. */
  record(its: number, seq: number, list: number, vpeid: number, rd: number): void {
    this.received++;
    const bit = 2 ** its;
    let s = this.open.get(seq);
    if (s !== undefined && (s.seen & bit) !== 0) {
      this.abandoned++;
      s = undefined;
    }
    if (s === undefined) {
      s = { list, seen: 0, vpeid, rd };
      this.open.set(seq, s);
    } else if (s.list !== list || s.vpeid !== vpeid || s.rd !== rd) this.listErrors++;
    if ((list & bit) === 0) this.listErrors++;
    s.seen |= bit;
    if ((s.seen & s.list) === s.list) this.open.delete(seq);
  }

  /** VMOVP = 1: ITS `from` moved `vpeid` to `rd`; every other ITS follows. */
  propagate(from: number, vpeid: number, rd: number): void {
    for (const p of this.peers) if (p.itsNumber !== from) p.peerMovedVpe(vpeid, rd);
  }
}
