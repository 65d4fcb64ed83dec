// Preppal browser <-> worker messages (proto/interview.proto, package preppal.v1).
//
// A small, hand-written protobuf wire encoder/decoder for exactly the messages the page
// uses: ClientToServerMessage (encode) and ServerToClientMessage (decode). It will be
// replaced by code generated with @bufbuild/protobuf from proto/interview.proto; the
// shapes below already follow that generator's conventions (camelCase field names, a
// oneof as `{ case, value }`) so the swap stays small. One difference: uint64 fields are
// plain Numbers here (exact up to 2^53 ms, about 285 000 years), not BigInt.
//
// Wire format (protobuf encoding spec): every field is a key varint
// `(field_number << 3) | wire_type` followed by its value. Wire type 0 is a varint
// (int32, uint64, bool, enum), 2 is length-delimited (a varint byte length, then the
// bytes of a string, bytes field or embedded message). Wire types 1 (8 bytes) and
// 5 (4 bytes) are skipped when met as unknown fields, as forward compatibility asks.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** A protobuf message could not be decoded (truncated or malformed bytes). */
export class DecodeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** Appends protobuf fields to a growing byte buffer. */
class Writer {
  constructor() {
    /** @type {number[]} */
    this.bytes = [];
  }

  /** Writes a non-negative integer (< 2^53) as a base-128 varint. */
  varint(n) {
    let v = n;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }

  /** Writes a field key. */
  key(field, wireType) {
    return this.varint(field * 8 + wireType);
  }

  /** Writes a length-delimited field holding `data` (a Uint8Array). */
  lenField(field, data) {
    this.key(field, WIRE_LEN).varint(data.length);
    for (let i = 0; i < data.length; i += 1) this.bytes.push(data[i]);
    return this;
  }

  /** The bytes written so far. */
  finish() {
    return Uint8Array.from(this.bytes);
  }
}

/** Reads protobuf fields from a Uint8Array. */
class Reader {
  constructor(bytes) {
    this.buf = bytes;
    this.pos = 0;
  }

  done() {
    return this.pos >= this.buf.length;
  }

  /** Reads a varint as a Number; bits past 2^53 are lost (no field here needs them). */
  varint() {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i += 1) {
      if (this.pos >= this.buf.length) throw new DecodeError('truncated varint');
      const b = this.buf[this.pos];
      this.pos += 1;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  /** Reads a varint as int32 (two's complement of its low 32 bits, as protobuf does). */
  int32() {
    const start = this.pos;
    let low = 0;
    for (let i = 0; i < 10; i += 1) {
      if (this.pos >= this.buf.length) throw new DecodeError('truncated varint');
      const b = this.buf[this.pos];
      this.pos += 1;
      if (i < 5) low |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return low | 0;
    }
    this.pos = start;
    throw new DecodeError('varint longer than 10 bytes');
  }

  /** Reads a length-delimited value and returns its bytes (a view, not a copy). */
  lenBytes() {
    const n = this.varint();
    if (n > this.buf.length - this.pos) throw new DecodeError('length past end of message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a field key: `[fieldNumber, wireType]`. */
  key() {
    const k = this.varint();
    return [Math.floor(k / 8), k % 8];
  }

  /** Skips a field of `wireType` that this decoder does not know. */
  skip(wireType) {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        break;
      case WIRE_FIXED64:
        this.advance(8);
        break;
      case WIRE_LEN:
        this.lenBytes();
        break;
      case WIRE_FIXED32:
        this.advance(4);
        break;
      default:
        throw new DecodeError(`unsupported wire type ${wireType}`);
    }
  }

  advance(n) {
    if (n > this.buf.length - this.pos) throw new DecodeError('truncated fixed-width field');
    this.pos += n;
  }
}

/**
 * Decodes the fields of one message: `onField(field, wireType, reader)` returns true when
 * it consumed the field; any other field is skipped.
 */
function readFields(bytes, onField) {
  const r = new Reader(bytes);
  while (!r.done()) {
    const [field, wireType] = r.key();
    if (field === 0) throw new DecodeError('field number 0');
    if (!onField(field, wireType, r)) r.skip(wireType);
  }
}

function expectWire(field, got, want) {
  if (got !== want) throw new DecodeError(`field ${field}: wire type ${got}, expected ${want}`);
}

// ---------------------------------------------------------------------------
// ClientToServerMessage (browser -> worker)
// ---------------------------------------------------------------------------

/**
 * Encodes a ClientToServerMessage. `msg.message` is the oneof:
 * - `{ case: 'audioChunk', value: { audioContent: Uint8Array } }` (field 1; AudioChunk
 *   field 1 bytes: PCM16LE mono 16 000 Hz, 1 280-3 200 bytes per frame);
 * - `{ case: 'endRequest', value: {} }` (field 2, an empty EndRequest);
 * - `{ case: 'textInput', value: { text: string } }` (field 3; TextInput field 1 string).
 * Returns the encoded bytes as a Uint8Array.
 */
export function encodeClientMessage(msg) {
  const w = new Writer();
  const m = msg.message;
  switch (m.case) {
    case 'audioChunk': {
      const inner = new Writer();
      if (m.value.audioContent.length > 0) inner.lenField(1, m.value.audioContent);
      w.lenField(1, inner.finish());
      break;
    }
    case 'endRequest':
      w.lenField(2, new Uint8Array(0));
      break;
    case 'textInput': {
      const inner = new Writer();
      if (m.value.text.length > 0) inner.lenField(1, textEncoder.encode(m.value.text));
      w.lenField(3, inner.finish());
      break;
    }
    default:
      throw new TypeError(`unknown ClientToServerMessage case ${m.case}`);
  }
  return w.finish();
}

/** ClientToServerMessage{audio_chunk{audio_content}} for a PCM16LE frame (Uint8Array). */
export function audioChunkMessage(audioContent) {
  return encodeClientMessage({ message: { case: 'audioChunk', value: { audioContent } } });
}

/** ClientToServerMessage{text_input{text}} for a typed answer. */
export function textInputMessage(text) {
  return encodeClientMessage({ message: { case: 'textInput', value: { text } } });
}

/** ClientToServerMessage{end_request{}}: the candidate ends the interview. */
export function endRequestMessage() {
  return encodeClientMessage({ message: { case: 'endRequest', value: {} } });
}

// ---------------------------------------------------------------------------
// ServerToClientMessage (worker -> browser)
// ---------------------------------------------------------------------------

/** SessionEnded.Reason values (proto enum numbers). */
export const SessionEndedReason = Object.freeze({
  UNKNOWN: 0,
  USER_ENDED: 1,
  ERROR: 2,
  TIMEOUT: 3,
  MODEL_ENDED: 4,
});

function decodeTranscriptUpdate(bytes) {
  const v = { speaker: '', text: '', isFinal: false, turnComplete: false, startMs: 0 };
  readFields(bytes, (field, wire, r) => {
    switch (field) {
      case 1:
        expectWire(field, wire, WIRE_LEN);
        v.speaker = textDecoder.decode(r.lenBytes());
        return true;
      case 2:
        expectWire(field, wire, WIRE_LEN);
        v.text = textDecoder.decode(r.lenBytes());
        return true;
      case 3:
        expectWire(field, wire, WIRE_VARINT);
        v.isFinal = r.varint() !== 0;
        return true;
      case 4:
        expectWire(field, wire, WIRE_VARINT);
        v.turnComplete = r.varint() !== 0;
        return true;
      case 5:
        expectWire(field, wire, WIRE_VARINT);
        v.startMs = r.varint();
        return true;
      default:
        return false;
    }
  });
  return v;
}

function decodeAudioResponse(bytes) {
  const v = { audioContent: new Uint8Array(0) };
  readFields(bytes, (field, wire, r) => {
    if (field !== 1) return false;
    expectWire(field, wire, WIRE_LEN);
    v.audioContent = r.lenBytes();
    return true;
  });
  return v;
}

function decodeErrorResponse(bytes) {
  const v = { code: 0, message: '' };
  readFields(bytes, (field, wire, r) => {
    if (field === 1) {
      expectWire(field, wire, WIRE_VARINT);
      v.code = r.int32();
      return true;
    }
    if (field === 2) {
      expectWire(field, wire, WIRE_LEN);
      v.message = textDecoder.decode(r.lenBytes());
      return true;
    }
    return false;
  });
  return v;
}

function decodeSessionEnded(bytes) {
  const v = { reason: SessionEndedReason.UNKNOWN };
  readFields(bytes, (field, wire, r) => {
    if (field !== 1) return false;
    expectWire(field, wire, WIRE_VARINT);
    v.reason = r.int32();
    return true;
  });
  return v;
}

function decodeSessionStarted(bytes) {
  const v = { interviewId: '', maxDurationMs: 0 };
  readFields(bytes, (field, wire, r) => {
    if (field === 1) {
      expectWire(field, wire, WIRE_LEN);
      v.interviewId = textDecoder.decode(r.lenBytes());
      return true;
    }
    if (field === 2) {
      expectWire(field, wire, WIRE_VARINT);
      v.maxDurationMs = r.varint();
      return true;
    }
    return false;
  });
  return v;
}

const SERVER_CASES = {
  1: ['transcriptUpdate', decodeTranscriptUpdate],
  2: ['audioResponse', decodeAudioResponse],
  3: ['errorResponse', decodeErrorResponse],
  4: ['sessionEnded', decodeSessionEnded],
  5: ['interrupted', () => ({})],
  6: ['sessionStarted', decodeSessionStarted],
};

/**
 * Decodes a ServerToClientMessage from a Uint8Array or ArrayBuffer. Returns
 * `{ message: { case, value } }` where `case` is one of `transcriptUpdate`
 * (`{speaker, text, isFinal, turnComplete, startMs}`), `audioResponse`
 * (`{audioContent}`: PCM16LE mono 24 000 Hz), `errorResponse` (`{code, message}`),
 * `sessionEnded` (`{reason}`, see SessionEndedReason), `interrupted` (`{}`) or
 * `sessionStarted` (`{interviewId, maxDurationMs}`); `case` is undefined when the
 * message holds no case this decoder knows (a newer server). The last case on the wire
 * wins, as protobuf specifies for a oneof.
 * Throws DecodeError on malformed bytes.
 */
export function decodeServerMessage(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  let message = { case: undefined, value: undefined };
  readFields(bytes, (field, wire, r) => {
    const known = SERVER_CASES[field];
    if (!known) return false;
    expectWire(field, wire, WIRE_LEN);
    const [name, decode] = known;
    message = { case: name, value: decode(r.lenBytes()) };
    return true;
  });
  return { message };
}
