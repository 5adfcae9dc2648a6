/**
 * ITS commands: ONE table of every command's field layout (IHI 0069H §5.3 "ITS commands"), from
 * which both directions are derived:
 *
 * - `decodeCommand` (used by the ITS) turns the four doublewords of a queue slot into a typed
 *   record `{ name: 'MAPTI', opcode: 0x0a, DeviceID, EventID, pINTID, ICID }` before any logic
 *   runs (parse, then act);
 * - `encodeCommand` / `ItsCmd.MAPTI({...})` (used by drivers: the hypervisor, guests, tests)
 *   build the four doublewords as bigints, and `writeCommand` is a program that stores them
 *   into a queue slot with four 8-byte STRs.
 *
 * Field values are plain numbers. Address fields (`ITT_addr`, `VPT_addr`) are physical
 * addresses whose bits [hi:lo] sit in place in the doubleword (ITT_addr [51:8] is 256-byte
 * aligned, VPT_addr [51:16] 64 KB aligned); every other field is the bit-field value shifted
 * down (RDbase [51:16] is PA[51:16] >> 16 with GITS_TYPER.PTA = 1 and the processor number
 * with PTA = 0; IHI 0069, GITS_TYPER.PTA). All bits the table does not name are RES0: the
 * encoder leaves them zero and the decoder ignores them (CHOICE: RES0 bits set in a command
 * are ignored, the command executes on its named fields).
 *
 * GICv4.1 additions: INVDB (0x2E, `V41_ONLY`: an unknown command on a GICv4.0 ITS) and the
 * v4.1 fields of VMAPP (Alloc, PTZ, VConf_addr, Default_Doorbell) and VMOVP (DB,
 * Default_Doorbell), which are RES0 on GICv4.0 and which a GICv4.0 ITS ignores. VSGI (0x23,
 * `V41_ONLY`) sets a vSGI's configuration or clears its pending state (virtual-commands.ts).
 */
import { fieldOfPair, hi32, lo32 } from '../../core/bits.js';
import { str, type Program } from '../../core/ops.js';
import { addField, WordPairs } from './field-words.js';
import { COMMAND_BYTES } from './its-registers.js';

type Dw = 0 | 1 | 2 | 3;

/** One field: doubleword index and inclusive bit positions [hi:lo] inside it. */
export interface CommandField {
  readonly dw: Dw;
  readonly hi: number;
  readonly lo: number;
  /** The value is an address with these bits in place (low bits zero), not a shifted field. */
  readonly addr: boolean;
}

const f = (dw: Dw, hi: number, lo: number): CommandField => ({ dw, hi, lo, addr: false });
const addr = (dw: Dw, hi: number, lo: number): CommandField => ({ dw, hi, lo, addr: true });

const DeviceID = f(0, 63, 32);
const EventID = f(1, 31, 0);
const ICID = f(2, 15, 0);
const RDbase = f(2, 51, 16);
const V = f(2, 63, 63);
const vPEID = f(1, 47, 32);

/**
 * The layout table (IHI 0069H §5.3 "ITS commands"). Opcode is DW0[7:0] for every command.
 * `virtual` marks the GICv4 commands, which an ITS with GITS_TYPER.Virtual = 0 does not
 * implement.
 */
export const ITS_COMMANDS = {
  MOVI: { opcode: 0x01, virtual: false, fields: { DeviceID, EventID, ICID } },
  INT: { opcode: 0x03, virtual: false, fields: { DeviceID, EventID } },
  CLEAR: { opcode: 0x04, virtual: false, fields: { DeviceID, EventID } },
  SYNC: { opcode: 0x05, virtual: false, fields: { RDbase } },
  MAPD: { opcode: 0x08, virtual: false, fields: { DeviceID, Size: f(1, 4, 0), ITT_addr: addr(2, 51, 8), V } },
  MAPC: { opcode: 0x09, virtual: false, fields: { ICID, RDbase, V } },
  MAPTI: { opcode: 0x0a, virtual: false, fields: { DeviceID, EventID, pINTID: f(1, 63, 32), ICID } },
  MAPI: { opcode: 0x0b, virtual: false, fields: { DeviceID, EventID, ICID } },
  INV: { opcode: 0x0c, virtual: false, fields: { DeviceID, EventID } },
  INVALL: { opcode: 0x0d, virtual: false, fields: { ICID } },
  MOVALL: { opcode: 0x0e, virtual: false, fields: { RDbase1: f(2, 51, 16), RDbase2: f(3, 51, 16) } },
  DISCARD: { opcode: 0x0f, virtual: false, fields: { DeviceID, EventID } },
  VMOVI: { opcode: 0x21, virtual: true, fields: { DeviceID, EventID, vPEID, D: f(2, 0, 0), Dbell_pINTID: f(2, 63, 32) } },
  VMOVP: { opcode: 0x22, virtual: true, fields: { SequenceNumber: f(0, 47, 32), ITSList: f(1, 15, 0), vPEID, RDbase, DB: f(2, 63, 63), Default_Doorbell: f(3, 31, 0) } },
  VSGI: { opcode: 0x23, virtual: true, fields: { Enable: f(0, 8, 8), Clear: f(0, 9, 9), Group: f(0, 10, 10), Priority: f(0, 23, 20), vINTID: f(0, 35, 32), vPEID } },
  VSYNC: { opcode: 0x25, virtual: true, fields: { vPEID } },
  VMAPP: {
    opcode: 0x29,
    virtual: true,
    fields: { Alloc: f(0, 8, 8), PTZ: f(0, 9, 9), VConf_addr: addr(0, 51, 16), vPEID, Default_Doorbell: f(1, 31, 0), RDbase, V, VPT_size: f(3, 4, 0), VPT_addr: addr(3, 51, 16) },
  },
  VMAPTI: { opcode: 0x2a, virtual: true, fields: { DeviceID, EventID, vPEID, vINTID: f(2, 31, 0), Dbell_pINTID: f(2, 63, 32) } },
  VMAPI: { opcode: 0x2b, virtual: true, fields: { DeviceID, EventID, vPEID, Dbell_pINTID: f(2, 63, 32) } },
  VINVALL: { opcode: 0x2d, virtual: true, fields: { vPEID } },
  INVDB: { opcode: 0x2e, virtual: true, fields: { vPEID } },
} as const;

/** Commands only a GICv4.1 ITS (GITS_TYPER.VMAPP = 1) implements. */
export const V41_ONLY: ReadonlySet<string> = new Set(['INVDB', 'VSGI']);

type Defs = typeof ITS_COMMANDS;
export type ItsCommandName = keyof Defs;
/** The named fields of one command, as numbers. */
export type ItsCommandFields<N extends ItsCommandName> = { -readonly [K in keyof Defs[N]['fields']]: number };
/** A decoded command: a discriminated union on `name`. */
export type ItsCommand = { [N in ItsCommandName]: { readonly name: N; readonly opcode: number } & ItsCommandFields<N> }[ItsCommandName];
/** The four doublewords of a command, DW0 first. */
export type CommandWords = readonly [bigint, bigint, bigint, bigint];

interface CompiledField {
  readonly name: string;
  readonly dw: Dw;
  readonly lsb: number;
  readonly width: number;
  /** 2^lsb for address fields (the value keeps its bits in place), 1 otherwise. */
  readonly scale: number;
}

interface CompiledCommand {
  readonly name: ItsCommandName;
  readonly opcode: number;
  readonly virtual: boolean;
  readonly fields: readonly CompiledField[];
}

function compile(name: ItsCommandName): CompiledCommand {
  const def = ITS_COMMANDS[name];
  const fields: CompiledField[] = [];
  // Every field of a command, plus the opcode, must be a distinct set of bits.
  const used: string[] = ['0:7:0'];
  for (const [fname, fd] of Object.entries(def.fields) as [string, CommandField][]) {
    if (fd.hi < fd.lo || fd.hi > 63 || fd.hi - fd.lo >= 53) throw new Error(`ITS ${name}.${fname}: bad position`);
    for (const u of used) {
      const [dw, hi, lo] = u.split(':').map(Number) as [number, number, number];
      if (dw === fd.dw && fd.lo <= hi && lo <= fd.hi) throw new Error(`ITS ${name}.${fname} overlaps another field`);
    }
    used.push(`${fd.dw}:${fd.hi}:${fd.lo}`);
    fields.push({ name: fname, dw: fd.dw, lsb: fd.lo, width: fd.hi - fd.lo + 1, scale: fd.addr ? 2 ** fd.lo : 1 });
  }
  return { name, opcode: def.opcode, virtual: def.virtual, fields };
}

const COMPILED: ReadonlyMap<ItsCommandName, CompiledCommand> = new Map(
  (Object.keys(ITS_COMMANDS) as ItsCommandName[]).map((n) => [n, compile(n)]),
);
const BY_OPCODE: readonly (CompiledCommand | undefined)[] = (() => {
  const t: (CompiledCommand | undefined)[] = new Array<CompiledCommand | undefined>(256).fill(undefined);
  for (const c of COMPILED.values()) t[c.opcode] = c;
  return t;
})();

/** The command an opcode names, or undefined (reserved opcode or a GICv4.1 command). */
export function commandOfOpcode(opcode: number): { name: ItsCommandName; virtual: boolean } | undefined {
  const c = BY_OPCODE[opcode & 0xff];
  return c === undefined ? undefined : { name: c.name, virtual: c.virtual };
}

/**
 * Decodes a command from its eight 32-bit halves (`w[2i]` = DWi[31:0], `w[2i+1]` = DWi[63:32]),
 * the form in which the ITS reads a queue slot. Returns undefined for an opcode no command
 * has. Never throws.
 */
export function decodeCommand(w: ArrayLike<number>): ItsCommand | undefined {
  const c = BY_OPCODE[(w[0] ?? 0) & 0xff];
  if (c === undefined) return undefined;
  const out: Record<string, number | string> = { name: c.name, opcode: c.opcode };
  for (const fd of c.fields) {
    const v = fieldOfPair(w[fd.dw * 2] ?? 0, w[fd.dw * 2 + 1] ?? 0, fd.lsb, fd.width);
    out[fd.name] = fd.scale === 1 ? v : v * fd.scale;
  }
  return out as unknown as ItsCommand;
}

/** Decodes a command given as four doublewords. */
export function decodeCommandWords(dw: readonly bigint[]): ItsCommand | undefined {
  const w: number[] = [];
  for (let i = 0; i < 4; i++) {
    const d = dw[i] ?? 0n;
    w.push(lo32(d), hi32(d));
  }
  return decodeCommand(w);
}

/**
 * Encodes a command. Fields left out are zero; values wider than their field are truncated to
 * it; address fields keep only their bits [hi:lo].
 */
export function encodeCommand<N extends ItsCommandName>(name: N, fields: Partial<ItsCommandFields<N>>): CommandWords {
  const c = COMPILED.get(name)!;
  const p = ENCODE;
  const w = p.words;
  p.clear();
  w[0] = c.opcode;
  const given = fields as Record<string, number | undefined>;
  for (const fd of c.fields) {
    const v = given[fd.name];
    if (v === undefined) continue;
    addField(w, fd.dw * 2, fd.lsb, fd.width, fd.scale === 1 ? v : Math.floor(v / fd.scale));
  }
  return [p.value(0), p.value(1), p.value(2), p.value(3)];
}

const ENCODE = new WordPairs(4);

type Encoders = { readonly [N in ItsCommandName]: (fields: Partial<ItsCommandFields<N>>) => CommandWords };

/** One encoder per command: `ItsCmd.MAPD({ DeviceID: 1, Size: 4, ITT_addr: 0x4100_0000, V: 1 })`. */
export const ItsCmd: Encoders = Object.fromEntries(
  (Object.keys(ITS_COMMANDS) as ItsCommandName[]).map((n) => [n, (fields: Partial<ItsCommandFields<ItsCommandName>>) => encodeCommand(n, fields as never)]),
) as unknown as Encoders;

/**
 * A driver program that stores `words` into slot `slot` of the command queue at `queueVa`
 * (four 8-byte STRs through x`rt`). Software then advances GITS_CWRITER past the slot.
 */
export function* writeCommand(queueVa: number, slot: number, words: CommandWords, rt = 9): Program {
  const at = queueVa + slot * COMMAND_BYTES;
  yield str(at, words[0], 8, rt);
  yield str(at + 8, words[1], 8, rt);
  yield str(at + 16, words[2], 8, rt);
  yield str(at + 24, words[3], 8, rt);
}
