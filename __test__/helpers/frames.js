'use strict'

// Hand-made RFC 6455 frames, and a parser for what the server sends back.
// Frames here are built byte by byte on purpose: they must be able to express
// everything a conforming encoder refuses to produce (reserved bits, unknown
// opcodes, fragmented control frames, lying lengths, unmasked client frames).

const OPCODES = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa
}

// A fixed, non-trivial masking key so failures are reproducible.
const DEFAULT_MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d])

function toBuffer (payload) {
  if (payload === undefined || payload === null) return Buffer.alloc(0)
  if (Buffer.isBuffer(payload)) return payload
  if (Array.isArray(payload)) return Buffer.from(payload)
  return Buffer.from(String(payload), 'utf8')
}

function applyMask (payload, key) {
  const out = Buffer.from(payload)
  for (let i = 0; i < out.length; i++) out[i] ^= key[i % 4]
  return out
}

// Picks the shortest length encoding, as a conforming sender must.
function lengthKind (length) {
  if (length <= 125) return 7
  if (length <= 0xffff) return 16
  return 64
}

/**
 * Builds one frame.
 *
 *   opcode       number or name from OPCODES (default 'text')
 *   payload      Buffer | string | byte array
 *   fin          default true
 *   rsv1/2/3     default false
 *   mask         true (DEFAULT_MASK_KEY), false (unmasked), or a 4-byte key;
 *                default true because clients MUST mask (RFC 6455 5.3)
 *   lengthBits   7, 16 or 64: force an encoding (even a non-minimal one)
 *   length       declared payload length, when it must differ from the
 *                payload actually appended (e.g. header-only frames)
 */
function frame ({
  opcode = 'text',
  payload,
  fin = true,
  rsv1 = false,
  rsv2 = false,
  rsv3 = false,
  mask = true,
  lengthBits,
  length
} = {}) {
  const op = typeof opcode === 'number' ? opcode : OPCODES[opcode]
  if (op === undefined) throw new Error(`unknown opcode name ${opcode}`)

  const data = toBuffer(payload)
  const declared = length === undefined ? data.length : length
  const bits = lengthBits || lengthKind(declared)
  const key = mask === true ? DEFAULT_MASK_KEY : (mask ? toBuffer(mask) : null)
  if (key && key.length !== 4) throw new Error('a masking key has 4 bytes')

  const first = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0) | (op & 0x0f)
  const maskBit = key ? 0x80 : 0

  let head
  if (bits === 7) {
    if (declared > 125) throw new Error('a 7-bit length holds at most 125')
    head = Buffer.from([first, maskBit | declared])
  } else if (bits === 16) {
    head = Buffer.alloc(4)
    head[0] = first
    head[1] = maskBit | 126
    head.writeUInt16BE(declared, 2)
  } else if (bits === 64) {
    head = Buffer.alloc(10)
    head[0] = first
    head[1] = maskBit | 127
    head.writeBigUInt64BE(BigInt(declared), 2)
  } else {
    throw new Error(`lengthBits must be 7, 16 or 64, got ${bits}`)
  }

  return Buffer.concat(key ? [head, key, applyMask(data, key)] : [head, data])
}

// Close payload: 2-byte code then the UTF-8 reason. `code` null gives an
// empty payload; pass `payload` instead for arbitrary (malformed) bodies.
function closePayload (code, reason = '') {
  if (code === null || code === undefined) return Buffer.alloc(0)
  const head = Buffer.alloc(2)
  head.writeUInt16BE(code, 0)
  return Buffer.concat([head, toBuffer(reason)])
}

const text = (payload, opts = {}) => frame({ ...opts, opcode: 'text', payload })
const binary = (payload, opts = {}) => frame({ ...opts, opcode: 'binary', payload })
const continuation = (payload, opts = {}) => frame({ ...opts, opcode: 'continuation', payload })
const ping = (payload, opts = {}) => frame({ ...opts, opcode: 'ping', payload })
const pong = (payload, opts = {}) => frame({ ...opts, opcode: 'pong', payload })
const close = (code, reason, opts = {}) => frame({ ...opts, opcode: 'close', payload: closePayload(code, reason) })

/**
 * Incremental frame parser for bytes a peer writes. push() accepts any
 * chunking and returns the frames completed by that chunk. Payloads are
 * unmasked if the frame was masked, and `maskKey` keeps the key (a server
 * MUST NOT mask, a client MUST: tests assert `masked` either way).
 */
class FrameParser {
  constructor () {
    this._buffer = Buffer.alloc(0)
  }

  push (chunk) {
    this._buffer = this._buffer.length ? Buffer.concat([this._buffer, chunk]) : Buffer.from(chunk)
    const frames = []
    for (;;) {
      const parsed = parseFrame(this._buffer)
      if (!parsed) break
      frames.push(parsed.frame)
      this._buffer = this._buffer.subarray(parsed.consumed)
    }
    return frames
  }

  // Bytes received that do not (yet) form a whole frame.
  get pending () {
    return this._buffer.length
  }
}

// Parses one frame from the start of `buf`; null when more bytes are needed.
function parseFrame (buf) {
  if (buf.length < 2) return null
  const b0 = buf[0]
  const b1 = buf[1]
  const masked = (b1 & 0x80) !== 0
  let length = b1 & 0x7f
  let offset = 2
  let lengthBits = 7
  if (length === 126) {
    if (buf.length < 4) return null
    length = buf.readUInt16BE(2)
    offset = 4
    lengthBits = 16
  } else if (length === 127) {
    if (buf.length < 10) return null
    length = Number(buf.readBigUInt64BE(2))
    offset = 10
    lengthBits = 64
  }
  let key = null
  if (masked) {
    if (buf.length < offset + 4) return null
    key = buf.subarray(offset, offset + 4)
    offset += 4
  }
  if (buf.length < offset + length) return null
  let payload = Buffer.from(buf.subarray(offset, offset + length))
  if (key) payload = applyMask(payload, key)

  const frame = {
    fin: (b0 & 0x80) !== 0,
    rsv1: (b0 & 0x40) !== 0,
    rsv2: (b0 & 0x20) !== 0,
    rsv3: (b0 & 0x10) !== 0,
    opcode: b0 & 0x0f,
    masked,
    maskKey: key ? Buffer.from(key) : null, // the 4-byte masking key, or null
    lengthBits,
    length,
    payload
  }
  if (frame.opcode === OPCODES.close) {
    frame.code = payload.length >= 2 ? payload.readUInt16BE(0) : null
    frame.reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : ''
  }
  return { frame, consumed: offset + length }
}

module.exports = {
  OPCODES,
  DEFAULT_MASK_KEY,
  applyMask,
  frame,
  closePayload,
  text,
  binary,
  continuation,
  ping,
  pong,
  close,
  FrameParser,
  parseFrame
}
