// Wire messages of the interview WebSocket (binary protobuf, proto/interview.proto), built
// with the generated schemas of proto.js.

import {
  ClientToServerMessageSchema,
  ServerToClientMessageSchema,
  create,
  fromBinary,
  toBinary,
} from '/assets/proto.js';

function encodeClient(message) {
  return toBinary(ClientToServerMessageSchema, create(ClientToServerMessageSchema, { message }));
}

/** AudioChunk: PCM16LE mono 16 000 Hz bytes (a Uint8Array). */
export const audioChunkMessage = (audioContent) => encodeClient({ case: 'audioChunk', value: { audioContent } });
/** TextInput: a typed answer. */
export const textInputMessage = (text) => encodeClient({ case: 'textInput', value: { text } });
/** EndRequest. */
export const endRequestMessage = () => encodeClient({ case: 'endRequest', value: {} });

/** Whether the schemas know `PlaybackReport` (ClientToServerMessage field 4). */
export const canReportPlayback = ClientToServerMessageSchema.fields.some((f) => f.localName === 'playbackReport');

/**
 * PlaybackReport: `playedMs` of the current interviewer turn's audio (ms at 24 000 Hz) the
 * page actually played, and whether a barge-in cut it; null when the schemas do not have
 * the message yet.
 */
export function playbackReportMessage(playedMs, cutByBargeIn) {
  if (!canReportPlayback) return null;
  return encodeClient({
    case: 'playbackReport',
    value: { playedMs: Math.max(0, Math.round(playedMs)), cutByBargeIn },
  });
}

/** Decodes one binary frame from the server; throws on malformed bytes. */
export function decodeServer(bytes) {
  return fromBinary(ServerToClientMessageSchema, bytes).message;
}
