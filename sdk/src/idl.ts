/**
 * Accounts and events of the program decoded by the layouts in the IDL
 * (program/idl/edgerun.json, written by `cargo xtask idl` from
 * edgerun-protocol): `src/idl.generated.ts` holds the interfaces,
 * discriminators and field lists; this walks them (little-endian,
 * Borsh-compatible fixed layouts: no padding, no variable-length fields).
 */
import { getAddressDecoder } from "@solana/kit";
import {
  ACCOUNT_DISCRIMINATORS,
  type Accounts,
  EVENT_DISCRIMINATORS,
  type Events,
  TYPES,
} from "./idl.generated.js";

export type IdlType =
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "bool"
  | "pubkey"
  | { array: [IdlType, number] }
  | { defined: { name: string } };

const SIZE: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, bool: 1, pubkey: 32 };

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array, readonly view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)) {}
  take(n: number): number {
    if (this.at + n > this.bytes.length) throw new RangeError("the data ends early");
    const at = this.at;
    this.at += n;
    return at;
  }
  read(t: IdlType): unknown {
    if (typeof t === "string") {
      const at = this.take(SIZE[t]!);
      switch (t) {
        case "u8":
          return this.bytes[at];
        case "u16":
          return this.view.getUint16(at, true);
        case "u32":
          return this.view.getUint32(at, true);
        case "u64":
          return this.view.getBigUint64(at, true);
        case "bool": {
          const b = this.bytes[at];
          if (b !== 0 && b !== 1) throw new RangeError(`a bool byte is ${b}`);
          return b === 1;
        }
        case "pubkey":
          return getAddressDecoder().decode(this.bytes.subarray(at, at + 32));
      }
    }
    if ("array" in t) {
      const [inner, n] = t.array;
      if (inner === "u8") return this.bytes.slice(this.take(n), this.at);
      return Array.from({ length: n }, () => this.read(inner));
    }
    const fields = TYPES[t.defined.name];
    if (!fields) throw new Error(`the IDL names no type ${t.defined.name}`);
    const out: Record<string, unknown> = {};
    for (const f of fields) out[f.name] = this.read(f.type);
    return out;
  }
}

function match<T extends Record<string, readonly number[]>>(table: T, data: Uint8Array): keyof T | undefined {
  if (data.length < 8) return undefined;
  return (Object.keys(table) as (keyof T)[]).find((k) => table[k]!.every((b, i) => data[i] === b));
}

export type DecodedAccount = { [K in keyof Accounts]: { name: K; value: Accounts[K] } }[keyof Accounts];
export type DecodedEvent = { [K in keyof Events]: { name: K; value: Events[K] } }[keyof Events];

function decode(name: string, data: Uint8Array, exact: boolean): unknown {
  const r = new Reader(data);
  r.at = 8;
  const value = r.read({ defined: { name } });
  if (exact && r.at !== data.length) throw new RangeError(`${name} is ${r.at} bytes, the data ${data.length}`);
  return value;
}

/** Decodes `data` as the entry of `table` whose discriminator it starts with, filling it exactly. */
function decodeBy<T>(table: Record<string, readonly number[]>, data: Uint8Array): T | undefined {
  const name = match(table, data);
  if (!name) return undefined;
  try {
    return { name, value: decode(name as string, data, true) } as T;
  } catch {
    return undefined;
  }
}

/** An account's data by its discriminator; `undefined` if it is none of the program's or does not fit. */
export const decodeAccount = (data: Uint8Array) => decodeBy<DecodedAccount>(ACCOUNT_DISCRIMINATORS, data);

/** A `Program data:` buffer as an edgerun event; `undefined` if it is none. */
export const decodeEvent = (data: Uint8Array) => decodeBy<DecodedEvent>(EVENT_DISCRIMINATORS, data);
