/**
 * Command encodings: every command's fields against doublewords computed independently from
 * IHI 0069H §5.3 "ITS commands" (plain BigInt shifts, two value patterns per command: all-ones
 * in every field and a distinct pattern), round trip both ways, RES0 bits ignored by the
 * decoder, and properties over random values.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  ITS_COMMANDS, ItsCmd, commandOfOpcode, decodeCommandWords, encodeCommand, type CommandWords, type ItsCommandName,
} from '../../gic/its/commands.js';

const s = (v: number | bigint, lo: number): bigint => BigInt(v) << BigInt(lo);
const ones = (bits: number): number => 2 ** bits - 1;

interface Case {
  name: ItsCommandName;
  fields: Record<string, number>;
  dw: [bigint, bigint, bigint, bigint];
}

/** IHI 0069H §5.3 "ITS commands", command by command. `p` picks the value pattern: all-ones (0) or a distinct one (1). */
function cases(p: 0 | 1): Case[] {
  const dev = p === 0 ? ones(32) : 0x8765_4321;
  const ev = p === 0 ? ones(32) : 0x0012_3456;
  const icid = p === 0 ? ones(16) : 0x0a5c;
  const rdbase = p === 0 ? ones(36) : 0x1_2345_6789;
  const vpe = p === 0 ? ones(16) : 0x3c3c;
  const intid = p === 0 ? ones(32) : 0x2001;
  const db = p === 0 ? ones(32) : 1023;
  const itt = p === 0 ? 2 ** 52 - 256 : 0x4_5678_9abc_de00; // ITT_addr [51:8]
  const vpt = p === 0 ? 2 ** 52 - 0x10000 : 0xa_bcde_0000; // VPT_addr [51:16]
  const v = p === 0 ? 1 : 0;
  return [
    { name: 'MOVI', fields: { DeviceID: dev, EventID: ev, ICID: icid }, dw: [0x01n | s(dev, 32), BigInt(ev), BigInt(icid), 0n] },
    { name: 'INT', fields: { DeviceID: dev, EventID: ev }, dw: [0x03n | s(dev, 32), BigInt(ev), 0n, 0n] },
    { name: 'CLEAR', fields: { DeviceID: dev, EventID: ev }, dw: [0x04n | s(dev, 32), BigInt(ev), 0n, 0n] },
    { name: 'SYNC', fields: { RDbase: rdbase }, dw: [0x05n, 0n, s(rdbase, 16), 0n] },
    { name: 'MAPD', fields: { DeviceID: dev, Size: p === 0 ? 31 : 9, ITT_addr: itt, V: v }, dw: [0x08n | s(dev, 32), BigInt(p === 0 ? 31 : 9), BigInt(itt) | s(v, 63), 0n] },
    { name: 'MAPC', fields: { ICID: icid, RDbase: rdbase, V: v }, dw: [0x09n, 0n, BigInt(icid) | s(rdbase, 16) | s(v, 63), 0n] },
    { name: 'MAPTI', fields: { DeviceID: dev, EventID: ev, pINTID: intid, ICID: icid }, dw: [0x0an | s(dev, 32), BigInt(ev) | s(intid, 32), BigInt(icid), 0n] },
    { name: 'MAPI', fields: { DeviceID: dev, EventID: ev, ICID: icid }, dw: [0x0bn | s(dev, 32), BigInt(ev), BigInt(icid), 0n] },
    { name: 'INV', fields: { DeviceID: dev, EventID: ev }, dw: [0x0cn | s(dev, 32), BigInt(ev), 0n, 0n] },
    { name: 'INVALL', fields: { ICID: icid }, dw: [0x0dn, 0n, BigInt(icid), 0n] },
    { name: 'MOVALL', fields: { RDbase1: rdbase, RDbase2: p === 0 ? rdbase : 7 }, dw: [0x0en, 0n, s(rdbase, 16), s(p === 0 ? rdbase : 7, 16)] },
    { name: 'DISCARD', fields: { DeviceID: dev, EventID: ev }, dw: [0x0fn | s(dev, 32), BigInt(ev), 0n, 0n] },
    {
      name: 'VMOVI', fields: { DeviceID: dev, EventID: ev, vPEID: vpe, D: v, Dbell_pINTID: db },
      dw: [0x21n | s(dev, 32), BigInt(ev) | s(vpe, 32), BigInt(v) | s(db, 32), 0n],
    },
    {
      // DB (DW2 [63]) and Default_Doorbell (DW3 [31:0]) are GICv4.1 (RES0 on GICv4.0).
      name: 'VMOVP', fields: { SequenceNumber: p === 0 ? ones(16) : 0x77, ITSList: p === 0 ? ones(16) : 1, vPEID: vpe, RDbase: rdbase, DB: v, Default_Doorbell: db },
      dw: [0x22n | s(p === 0 ? ones(16) : 0x77, 32), BigInt(p === 0 ? ones(16) : 1) | s(vpe, 32), s(rdbase, 16) | s(v, 63), BigInt(db)],
    },
    {
      // GICv4.1: Enable [8], Clear [9], Group [10], Priority [23:20], vINTID [35:32]; vPEID DW1 [47:32].
      name: 'VSGI', fields: { Enable: v, Clear: 1 - v, Group: v, Priority: p === 0 ? 0xf : 0x5, vINTID: p === 0 ? 15 : 9, vPEID: vpe },
      dw: [0x23n | s(v, 8) | s(1 - v, 9) | s(v, 10) | s(p === 0 ? 0xf : 0x5, 20) | s(p === 0 ? 15 : 9, 32), s(vpe, 32), 0n, 0n],
    },
    { name: 'VSYNC', fields: { vPEID: vpe }, dw: [0x25n, s(vpe, 32), 0n, 0n] },
    {
      // Alloc (DW0 [8]), PTZ (DW0 [9]), VConf_addr (DW0 [51:16]) and Default_Doorbell (DW1 [31:0]) are GICv4.1.
      name: 'VMAPP', fields: { Alloc: v, PTZ: 1 - v, VConf_addr: vpt, vPEID: vpe, Default_Doorbell: db, RDbase: rdbase, V: v, VPT_size: p === 0 ? 31 : 15, VPT_addr: vpt },
      dw: [0x29n | s(v, 8) | s(1 - v, 9) | BigInt(vpt), s(vpe, 32) | BigInt(db), s(rdbase, 16) | s(v, 63), BigInt(p === 0 ? 31 : 15) | BigInt(vpt)],
    },
    {
      name: 'VMAPTI', fields: { DeviceID: dev, EventID: ev, vPEID: vpe, vINTID: intid, Dbell_pINTID: db },
      dw: [0x2an | s(dev, 32), BigInt(ev) | s(vpe, 32), BigInt(intid) | s(db, 32), 0n],
    },
    { name: 'VMAPI', fields: { DeviceID: dev, EventID: ev, vPEID: vpe, Dbell_pINTID: db }, dw: [0x2bn | s(dev, 32), BigInt(ev) | s(vpe, 32), s(db, 32), 0n] },
    { name: 'VINVALL', fields: { vPEID: vpe }, dw: [0x2dn, s(vpe, 32), 0n, 0n] },
    { name: 'INVDB', fields: { vPEID: vpe }, dw: [0x2en, s(vpe, 32), 0n, 0n] },
  ];
}

test('every GICv3/GICv4.0 command of IHI 0069H §5.3 and the GICv4.1 VSGI and INVDB is in the layout table, with its opcode', (t) => {
  t.deepEqual(
    cases(0).map((c) => [c.name, Number(c.dw[0] & 0xffn)]),
    (Object.keys(ITS_COMMANDS) as ItsCommandName[]).map((n) => [n, ITS_COMMANDS[n].opcode]),
  );
});

for (const p of [0, 1] as const) {
  test(`encoders match the IHI 0069 field positions and decode back (pattern ${p})`, (t) => {
    for (const c of cases(p)) {
      const enc = encodeCommand(c.name, c.fields as never);
      t.deepEqual(enc, c.dw, `${c.name} encode`);
      t.deepEqual(ItsCmd[c.name](c.fields as never), c.dw, `${c.name} named encoder`);
      const dec = decodeCommandWords(c.dw);
      t.deepEqual(dec, { name: c.name, opcode: ITS_COMMANDS[c.name].opcode, ...c.fields }, `${c.name} decode`);
    }
  });
}

test('the decoder ignores RES0 bits: every bit no field names can be set without changing the record', (t) => {
  for (const c of cases(1)) {
    // Mask of named bits: encode all-ones (values are truncated to their fields).
    const allOnes = encodeCommand(c.name, Object.fromEntries(Object.keys(c.fields).map((k) => [k, Number.MAX_SAFE_INTEGER])) as never);
    const noisy = c.dw.map((d, i) => d | (~allOnes[i]! & ~(i === 0 ? 0xffn : 0n) & 0xffff_ffff_ffff_ffffn)) as unknown as CommandWords;
    t.deepEqual(decodeCommandWords(noisy), decodeCommandWords(c.dw), c.name);
  }
});

test('opcodes no command has decode as unknown (the GICv4.1 VSGI 0x23 and INVDB 0x2E decode, and a GICv4.0 ITS refuses them)', (t) => {
  const known = new Set<number>(Object.values(ITS_COMMANDS).map((d) => d.opcode));
  for (let op = 0; op < 256; op++) {
    const d = decodeCommandWords([BigInt(op), 0n, 0n, 0n]);
    t.is(d === undefined, !known.has(op), `opcode 0x${op.toString(16)}`);
    t.is(commandOfOpcode(op) === undefined, !known.has(op));
  }
  t.is(decodeCommandWords([0x23n, 0n, 0n, 0n])?.name, 'VSGI');
  t.is(decodeCommandWords([0x2en, 0n, 0n, 0n])?.name, 'INVDB');
});

test('property: decode(encode(fields)) = fields truncated to their widths, encode(decode(words)) = words with RES0 bits cleared', (t) => {
  const names = Object.keys(ITS_COMMANDS) as ItsCommandName[];
  fc.assert(
    fc.property(fc.constantFrom(...names), fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 4, maxLength: 4 }), (name, raw) => {
      const words = [(raw[0]! & ~0xffn) | BigInt(ITS_COMMANDS[name].opcode), raw[1]!, raw[2]!, raw[3]!];
      const dec = decodeCommandWords(words)!;
      t.is(dec.name, name);
      const { name: _n, opcode: _o, ...fields } = dec as unknown as Record<string, number>;
      const re = encodeCommand(name, fields as never);
      const mask = encodeCommand(name, Object.fromEntries(Object.keys(fields).map((k) => [k, Number.MAX_SAFE_INTEGER])) as never);
      for (let i = 0; i < 4; i++) {
        const m = i === 0 ? mask[i]! | 0xffn : mask[i]!;
        if (re[i] !== (words[i]! & m)) return false;
      }
      return JSON.stringify(decodeCommandWords(re)) === JSON.stringify(dec);
    }),
    { numRuns: 500 },
  );
});
