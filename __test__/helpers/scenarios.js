'use strict'

// Raw-peer scenarios shared by the protocol-error suite and the parity suite.
// Each scenario drives one connection from a hand-written client and records
// what the server socket emitted and what arrived on the wire. `expected` is
// faye-websocket 0.11.4's measured behaviour, which this package must match
// (cases where it is intentionally stricter live in server_stricter.spec.js).

const { startServer } = require('./server')
const { connectRaw } = require('./raw_peer')
const F = require('./frames')

const NAMES = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' }

// One comparable string per frame received from the server.
function summarize (frame) {
  const flags = [frame.fin ? '' : 'nofin ', frame.masked ? 'MASKED ' : '',
    frame.rsv1 || frame.rsv2 || frame.rsv3 ? 'RSV ' : ''].join('')
  const name = NAMES[frame.opcode] || `op${frame.opcode}`
  if (frame.opcode === F.OPCODES.close) return `${flags}close:${frame.code}:${frame.reason}`
  if (frame.opcode === F.OPCODES.binary) return `${flags}binary:${frame.payload.toString('hex')}`
  return `${flags}${name}:${frame.payload.toString('utf8')}`
}

/**
 * Runs `scenario` against the WebSocket constructor given, returning
 * { status, body, server: [...events], wire: [...frames] }.
 *
 * Unless the scenario provides `act(peer, connection)`, the peer writes
 * `frames` (concatenated, one TCP write) once the server socket is open.
 * The run ends when the server socket has emitted 'close' AND the server has
 * dropped the TCP connection.
 */
async function runScenario (WebSocket, scenario) {
  const server = await startServer({ WebSocket, options: scenario.options, protocols: scenario.protocols, setup: scenario.setup })
  try {
    const peer = await connectRaw(server.port, scenario.handshake || {})
    const connection = await server.nextConnection()
    if (peer.response.statusCode === 101) {
      await connection.waitOpen()
      if (scenario.act) await scenario.act(peer, connection)
      else peer.write(Buffer.concat(scenario.frames))
    }
    await connection.waitClosed()
    await peer.waitClosed()
    return {
      status: peer.response.statusLine,
      body: peer.response.statusCode === 101 ? null : peer.response.text,
      server: connection.sequence(),
      wire: peer.frames.map(summarize)
    }
  } finally {
    await server.close()
  }
}

// A protocol error: the server sends a close frame whose reason is the
// error message, emits error then close with that code and reason, and
// drops the TCP connection without waiting for a reply.
// `delivered` lists messages the server legitimately emits before the error.
function failure (name, frames, code, reason, options, delivered = []) {
  return {
    name,
    frames,
    options,
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', ...delivered.map((m) => `message:${m}`), `error:${reason}`, 'end', `close:${code}:${reason}`],
      wire: [`close:${code}:${reason}`]
    }
  }
}

const RSV1 = 'One or more reserved bits are on: reserved1 = 1, reserved2 = 0, reserved3 = 0'
const TOO_LARGE = 'WebSocket frame length too large'
const BAD_UTF8 = 'Could not decode a text frame as UTF-8'
const payload126 = Buffer.alloc(126, 0x61)

const protocolErrors = [
  failure('reserved bit 1 on a text frame', [F.text('hi', { rsv1: true })], 1002, RSV1),
  failure('reserved bits 2 and 3 on a binary frame', [F.binary([1], { rsv2: true, rsv3: true })], 1002,
    'One or more reserved bits are on: reserved1 = 0, reserved2 = 1, reserved3 = 1'),
  failure('reserved bit 1 on a ping', [F.ping('p', { rsv1: true })], 1002, RSV1),
  failure('unknown data opcode 3', [F.frame({ opcode: 3, payload: 'x' })], 1002, 'Unrecognized frame opcode: 3'),
  failure('unknown control opcode 11', [F.frame({ opcode: 11 })], 1002, 'Unrecognized frame opcode: 11'),
  failure('a ping with a 126-byte payload', [F.ping(payload126)], 1002, 'Received control frame having too long payload: 126'),
  failure('a close frame with a 126-byte payload', [F.frame({ opcode: 'close', payload: payload126 })], 1002,
    'Received control frame having too long payload: 126'),
  failure('a fragmented ping', [F.ping('a', { fin: false })], 1002, 'Received fragmented control frame: opcode = 9'),
  failure('a fragmented pong', [F.pong('a', { fin: false })], 1002, 'Received fragmented control frame: opcode = 10'),
  failure('a continuation frame with no message started', [F.continuation('x')], 1002, 'Received unexpected continuation frame'),
  failure('a continuation frame after a finished message', [F.text('done'), F.continuation('x')], 1002,
    'Received unexpected continuation frame', undefined, ['done']),
  failure('a new text frame while a fragmented message is unfinished', [F.text('a', { fin: false }), F.text('b')], 1002,
    'Received new data frame but previous continuous frame is unfinished'),
  failure('a new binary frame while a fragmented text message is unfinished', [F.text('a', { fin: false }), F.binary([1])], 1002,
    'Received new data frame but previous continuous frame is unfinished'),
  failure('a frame header declaring more than maxLength (no payload sent)', [F.frame({ opcode: 'binary', length: 17 })],
    1009, TOO_LARGE, { maxLength: 16 }),
  failure('a 64-bit length of 2^32 under the default maxLength (no payload sent)',
    [F.frame({ opcode: 'binary', length: 2 ** 32, lengthBits: 64 })], 1009, TOO_LARGE),
  failure('fragments whose running total exceeds maxLength', [F.text('0123456789', { fin: false }), F.continuation('0123456789')],
    1009, TOO_LARGE, { maxLength: 16 }),
  failure('invalid UTF-8 (0xFF) in a text frame', [F.text([0x61, 0xff, 0x62])], 1007, BAD_UTF8),
  failure('an overlong encoding (C0 80)', [F.text([0xc0, 0x80])], 1007, BAD_UTF8),
  failure('a UTF-16 surrogate (ED A0 80)', [F.text([0xed, 0xa0, 0x80])], 1007, BAD_UTF8),
  failure('a code point above U+10FFFF (F4 90 80 80)', [F.text([0xf4, 0x90, 0x80, 0x80])], 1007, BAD_UTF8),
  failure('a message ending inside a multi-byte sequence (E2 82)', [F.text([0x61, 0xe2, 0x82])], 1007, BAD_UTF8),
  failure('invalid UTF-8 in the final continuation frame', [F.text('ab', { fin: false }), F.continuation([0xff], { fin: true })],
    1007, BAD_UTF8)
]

// Close frames carrying something invalid: faye answers 1002 but, unlike a
// frame-level error, emits no 'error' event and echoes the peer's reason
// (empty here, as these frames carry none).
// An invalid close frame. faye answers 1002 silently, echoing the peer's (empty)
// reason; this package treats it as the protocol error it is (RFC 6455 section 7.4):
// `error`, then a close frame and `close` carrying the error message. Both shapes are
// kept so the faye reference run still checks faye.
function badClose (name, frame, message) {
  return {
    name,
    frames: [frame],
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', 'end', 'close:1002:'],
      wire: ['close:1002:']
    },
    expectedNative: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', `error:${message}`, 'end', `close:1002:${message}`],
      wire: [`close:1002:${message}`]
    }
  }
}

const invalidCloseFrames = [
  ...[999, 1004, 1005, 1006, 1015, 2000, 2999, 5000].map((code) =>
    badClose(`a close frame with code ${code}`, F.close(code), `Received close frame with invalid status code: ${code}`)),
  badClose('a close frame with a 1-byte payload', F.frame({ opcode: 'close', payload: [0x03] }),
    'Received close frame with a 1-byte payload'),
  badClose('a close frame whose reason is invalid UTF-8', F.frame({ opcode: 'close', payload: [0x03, 0xe8, 0xff, 0xfe] }),
    'Received close frame whose reason is not valid UTF-8')
]

// Well-formed close frames are echoed with the same code and reason.
const validCloseCodes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999]
const closeEchoes = validCloseCodes.map((code) => ({
  name: `a close frame with code ${code} is echoed`,
  frames: [F.close(code, 'why')],
  expected: {
    status: 'HTTP/1.1 101 Switching Protocols',
    body: null,
    server: ['open', 'end', `close:${code}:why`],
    wire: [`close:${code}:why`]
  }
}))

const conversations = [
  {
    name: 'echo of text, binary and a fragmented message, then peer close in the same read',
    setup: (ws) => ws.on('message', (event) => ws.send(event.data)),
    frames: [
      F.text('hello'),
      F.binary([1, 2, 3]),
      F.text('frag', { fin: false }), F.continuation('men', { fin: false }), F.continuation('ted'),
      F.close(1000, 'bye')
    ],
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', 'message:hello', 'message:<binary 010203>', 'message:fragmented', 'end', 'close:1000:bye'],
      // replies made by message handlers precede the close echo
      wire: ['text:hello', 'binary:010203', 'text:fragmented', 'close:1000:bye']
    }
  },
  {
    name: 'a pong keeps its place among the replies to messages in the same read',
    setup: (ws) => ws.on('message', (event) => ws.send(event.data)),
    frames: [F.text('one'), F.ping('p'), F.text('two'), F.close(1000, 'bye')],
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', 'message:one', 'message:two', 'end', 'close:1000:bye'],
      wire: ['text:one', 'pong:p', 'text:two', 'close:1000:bye']
    }
  },
  {
    name: 'a ping between fragments is answered and the message still assembles',
    frames: [F.text('frag', { fin: false }), F.ping('mid'), F.continuation('mented'), F.close(1000, 'bye')],
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', 'message:fragmented', 'end', 'close:1000:bye'],
      wire: ['pong:mid', 'close:1000:bye']
    }
  },
  {
    name: 'server close(), answered by the peer, reports the peer\'s reply',
    act: async (peer, connection) => {
      connection.ws.close(4002, 'server done')
      await peer.readClose()
      peer.write(F.close(1000, 'ok'))
    },
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', 'end', 'close:1000:ok'],
      wire: ['close:4002:server done']
    }
  },
  {
    name: 'bytes after the peer\'s close frame are ignored',
    frames: [F.close(1000, 'bye'), F.text('ignored'), F.frame({ opcode: 3 })],
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', 'end', 'close:1000:bye'],
      wire: ['close:1000:bye']
    }
  },
  {
    name: 'the peer drops the TCP connection',
    act: async (peer) => peer.destroy(),
    expected: {
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', 'end', 'close:1006:'],
      wire: []
    }
  }
]

// 400 refusals that faye and this package produce identically.
function refusal (name, handshake, message) {
  return {
    name,
    handshake,
    expected: {
      status: 'HTTP/1.1 400 Bad Request',
      body: message,
      server: [`error:${message}`, 'end', `close:1002:${message}`],
      wire: []
    }
  }
}

const refusals = [
  refusal('a request without Sec-WebSocket-Key', { omit: ['Sec-WebSocket-Key'] },
    'Missing handshake request header: Sec-WebSocket-Key'),
  refusal('a request without Sec-WebSocket-Version', { omit: ['Sec-WebSocket-Version'] },
    'Unsupported WebSocket version: undefined')
]

module.exports = {
  runScenario,
  summarize,
  protocolErrors,
  invalidCloseFrames,
  closeEchoes,
  conversations,
  refusals
}
