'use strict'

// Support for the permessage-deflate suites (__test__/deflate_*.spec.js):
// deterministic payloads, a peer-side deflate/inflate (Node's zlib, independent
// of the native codec), and the peers the other helpers do not provide yet:
// a `ws` server with perMessageDeflate, a raw TCP server that answers an
// upgrade with a chosen Sec-WebSocket-Extensions header, and a recorder for
// any WebSocket.Client-like class (ours or faye's).

const net = require('net')
const crypto = require('crypto')
const zlib = require('zlib')
const http = require('http')
const { WebSocketServer } = require('ws')
const { record } = require('./server')
const { acceptFor } = require('./raw_peer')
const { FrameParser, OPCODES } = require('./frames')
const F = require('./frames')
const { Queue } = require('./queue')
const { withGuard } = require('./wait')
const { track } = require('./cleanup')
const { trackSocket, trackSockets, listen, closer } = require('./net_server')

const KiB = 1024
const MiB = 1024 * 1024
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])

// ---------------------------------------------------------------- payloads

// xorshift32: the same seed gives the same bytes on every run, so a failure
// can be reproduced.
function prng (seed) {
  let x = (seed >>> 0) || 0x9e3779b9
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

/** `size` incompressible bytes. */
function randomBytes (size, seed = size) {
  const next = prng(seed)
  const words = new Uint32Array(Math.ceil(size / 4))
  for (let i = 0; i < words.length; i++) words[i] = next()
  return Buffer.from(words.buffer, 0, size)
}

/** `size` very compressible bytes: a 997-byte record repeated. */
function compressibleBytes (size) {
  const unit = Buffer.alloc(997)
  for (let i = 0; i < unit.length; i++) unit[i] = (i % 61 === 0) ? (i / 61) & 0xff : 0x41 + (i % 7)
  return size === 0 ? Buffer.alloc(0) : Buffer.alloc(size, unit)
}

// 4096 characters of every UTF-8 length (1 to 4 bytes), so multi-byte
// sequences straddle frame and inflate-step boundaries.
const CHAR_TABLE = (() => {
  const next = prng(7)
  const table = []
  for (let i = 0; i < 4096; i++) {
    const r = next()
    switch (r & 3) {
      case 0: table.push(String.fromCharCode(0x21 + ((r >>> 2) % 94))); break
      case 1: table.push(String.fromCharCode(0xa0 + ((r >>> 2) % 0x700))); break
      case 2: table.push(String.fromCharCode(0x4e00 + ((r >>> 2) % 0x5000))); break
      default: table.push(String.fromCodePoint(0x1f300 + ((r >>> 2) % 0x300)))
    }
  }
  return table.map((ch) => [ch, Buffer.byteLength(ch)])
})()

/** A string of exactly `size` UTF-8 bytes whose characters are random. */
function randomText (size, seed = size) {
  const next = prng(seed)
  const parts = []
  let bytes = 0
  while (bytes < size) {
    const [ch, length] = CHAR_TABLE[next() & 4095]
    if (bytes + length > size) {
      parts.push('x'.repeat(size - bytes))
      break
    }
    parts.push(ch)
    bytes += length
  }
  return parts.join('')
}

/** A string of exactly `size` UTF-8 bytes, very compressible, with multi-byte characters. */
function compressibleText (size) {
  const unit = 'permessage-deflate: héllo wörld € 中文 😀 𝄞 — the quick brown fox. '
  const text = unit.repeat(Math.floor(size / Buffer.byteLength(unit)))
  // finish with ASCII so the length is exact
  return text + 'q'.repeat(size - Buffer.byteLength(text))
}

// Payloads are immutable and reused across the tests of a file.
const cache = new Map()
function cached (key, make) {
  if (!cache.has(key)) cache.set(key, make())
  return cache.get(key)
}

/**
 * The four messages of one size used by the echo tests:
 * text and binary, compressible and random.
 */
function messagesOfSize (size) {
  return cached(`set${size}`, () => [
    { label: `${size} B compressible text`, data: compressibleText(size) },
    { label: `${size} B random text`, data: randomText(size, size + 1) },
    { label: `${size} B compressible binary`, data: compressibleBytes(size) },
    { label: `${size} B random binary`, data: randomBytes(size, size + 2) }
  ])
}

function hugeMessages () {
  return [
    { label: '16 MiB random binary', data: cached('rb16', () => randomBytes(16 * MiB, 16)) },
    { label: '16 MiB compressible text', data: cached('ct16', () => compressibleText(16 * MiB)) }
  ]
}

// Equality that prints something short on failure instead of 16 MiB of diff.
function describeData (data) {
  const isText = typeof data === 'string'
  const bytes = isText ? Buffer.from(data, 'utf8') : Buffer.from(data)
  return {
    type: isText ? 'text' : 'binary',
    length: bytes.length,
    sha1: crypto.createHash('sha1').update(bytes).digest('hex')
  }
}

// ------------------------------------------------------------ peer codec

/** One compressed message as a peer writes it: raw deflate, sync flush, trailer removed. */
function deflateMessage (data, { windowBits = 15, level = zlib.constants.Z_DEFAULT_COMPRESSION } = {}) {
  const out = zlib.deflateRawSync(Buffer.from(data), { windowBits, level, finishFlush: zlib.constants.Z_SYNC_FLUSH })
  if (!out.subarray(-4).equals(TRAILER)) throw new Error('sync flush did not end with 00 00 ff ff')
  return out.subarray(0, -4)
}

/** Inflates one message (no context), appending the trailer. */
function inflateMessage (payload, { windowBits = 15 } = {}) {
  return zlib.inflateRawSync(Buffer.concat([payload, TRAILER]), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH })
}

/**
 * Inflates a sequence of messages sent WITH context takeover: the messages
 * are one deflate stream cut at sync flushes, so inflating the concatenation
 * (trailers restored) gives the concatenated plaintexts.
 */
function inflateStream (payloads, { windowBits = 15 } = {}) {
  const parts = []
  for (const payload of payloads) parts.push(payload, TRAILER)
  return zlib.inflateRawSync(Buffer.concat(parts), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH })
}

/**
 * A peer-side compressor that keeps its context between messages (a zlib
 * stream flushed with Z_SYNC_FLUSH after each message), as a client that
 * negotiated context takeover does.
 */
class StreamDeflater {
  constructor (options = {}) {
    this._deflate = zlib.createDeflateRaw({ windowBits: 15, ...options })
    this._chunks = []
    this._deflate.on('data', (chunk) => this._chunks.push(chunk))
  }

  compress (data) {
    return new Promise((resolve, reject) => {
      this._deflate.write(Buffer.from(data))
      this._deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const out = Buffer.concat(this._chunks.splice(0))
        if (!out.subarray(-4).equals(TRAILER)) return reject(new Error('no sync-flush trailer'))
        resolve(out.subarray(0, -4))
      })
    })
  }

  close () {
    this._deflate.close()
  }
}

// ------------------------------------------------------------- recorders

/**
 * Constructs a client (our WebSocket.Client or faye's) and records its
 * events as server.js's record() does. Cleanup drops the TCP connection if
 * it is still up and waits for the close event.
 */
function openClient (Client, url, protocols, options, who = 'the client') {
  const ws = new Client(url, protocols, options)
  const recorded = record(ws, who)
  track(async () => {
    if (ws.readyState === 3) return
    const socket = ws._stream || (ws._driver && ws._driver.io && ws._driver.io._stream)
    if (socket && socket.destroy) socket.destroy()
    else ws.close()
    await withGuard(recorded.closed, `${who} to close during cleanup`)
  }, 0)
  return { ws, ...recorded }
}

// --------------------------------------------------------- ws deflate server

/**
 * A `ws` server with permessage-deflate, echoing every message back.
 * nextConnection() resolves with { ws, request, messages (Queue of
 * { data, isBinary }), offer (the Sec-WebSocket-Extensions it received) }.
 */
async function startWsDeflateServer (perMessageDeflate = true, { echo = true } = {}) {
  const server = http.createServer((req, res) => { res.writeHead(404); res.end() })
  const sockets = trackSockets(server)
  const wss = new WebSocketServer({ server, perMessageDeflate })
  const connections = new Queue('a connection on the ws deflate server')
  const all = []
  wss.on('connection', (ws, request) => {
    const messages = new Queue('a message on the ws deflate server')
    ws.on('message', (data, isBinary) => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.concat([].concat(data))
      messages.push({ data: buffer, isBinary })
      if (echo) ws.send(buffer, { binary: isBinary })
    })
    ws.on('error', () => {})
    const connection = { ws, request, messages, offer: request.headers['sec-websocket-extensions'] }
    all.push(connection)
    connections.push(connection)
  })
  const port = await listen(server)
  const close = closer([wss, server], sockets, {
    before: () => { for (const { ws } of all) ws.terminate() },
    order: 10
  })
  return { port, url: `ws://127.0.0.1:${port}`, wss, server, nextConnection: (ms) => connections.next(ms), close }
}

// ------------------------------------------------------------ raw server

/**
 * A bare TCP server for testing clients: it reads the upgrade request,
 * answers 101 with `extensions` as Sec-WebSocket-Extensions (null: no such
 * header), then collects the (masked) frames the client sends. It answers a
 * close frame with a close frame and ends the connection.
 *
 * nextConnection() resolves with { socket, requestHead, headers (lower-cased),
 * frames (every frame received), nextFrame() (the next one, in order), write(bytes) }.
 */
async function startRawDeflateServer ({ extensions = null } = {}) {
  const sockets = new Set()
  const connections = new Queue('a connection on the raw server')
  const server = net.createServer((socket) => {
    trackSocket(sockets, socket)
    socket.on('error', () => {})
    const parser = new FrameParser()
    const frameQueue = new Queue('a frame from the client')
    const connection = { socket, frames: [], headers: null, requestHead: null }
    connection.nextFrame = (ms) => frameQueue.next(ms)
    connection.write = (bytes) => socket.write(bytes)
    let head = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      if (connection.headers) return onFrames(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      const text = head.subarray(0, end).toString('latin1')
      const rest = head.subarray(end + 4)
      connection.requestHead = text
      connection.headers = {}
      for (const line of text.split('\r\n').slice(1)) {
        const colon = line.indexOf(':')
        connection.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const lines = [
        'HTTP/1.1 101 Switching Protocols',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${acceptFor(connection.headers['sec-websocket-key'])}`
      ]
      if (extensions !== null) lines.push(`Sec-WebSocket-Extensions: ${extensions}`)
      socket.write(lines.join('\r\n') + '\r\n\r\n')
      connections.push(connection)
      if (rest.length) onFrames(rest)
    })
    function onFrames (chunk) {
      for (const frame of parser.push(chunk)) {
        connection.frames.push(frame)
        frameQueue.push(frame)
        if (frame.opcode === OPCODES.close && !connection.closeSent) {
          connection.closeSent = true
          socket.end(F.frame({ opcode: 'close', payload: frame.payload, mask: false }))
        }
      }
    }
  })
  const port = await listen(server)
  const close = closer(server, sockets, { order: 10 })
  return { port, url: `ws://127.0.0.1:${port}/`, server, nextConnection: (ms) => connections.next(ms), close }
}

// A raw upgrade request with any number of Sec-WebSocket-Extensions lines.
function upgradeRequest (host, extensionLines, key = 'dGhlIHNhbXBsZSBub25jZQ==') {
  const lines = [
    'GET / HTTP/1.1',
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...extensionLines.map((value) => `Sec-WebSocket-Extensions: ${value}`)
  ]
  return lines.join('\r\n') + '\r\n\r\n'
}

module.exports = {
  KiB,
  MiB,
  TRAILER,
  randomBytes,
  compressibleBytes,
  randomText,
  compressibleText,
  messagesOfSize,
  hugeMessages,
  describeData,
  deflateMessage,
  inflateMessage,
  inflateStream,
  StreamDeflater,
  openClient,
  startWsDeflateServer,
  startRawDeflateServer,
  upgradeRequest
}
