'use strict'

// The hixie-75 and hixie-76 draft protocols from the client side: hand-written
// upgrade requests, a raw TCP peer that reads the 101 head and the draft frames
// (00 <utf-8> FF text, FF 00 closing), and faye-websocket with drafts enabled.

const { EventEmitter } = require('events')
const { deferred, withGuard, untilBytes } = require('./wait')
const { connectPeer } = require('./net_server')

// draft-hixie-thewebsocketprotocol-76, section 1.3 (and 5.2): the keys, the
// 8-byte body, and the 16-byte digest the server must answer.
const KEY1 = '4 @1  46546xW%0l 1 5'
const KEY2 = '12998 5 Y3 1  .P00'
const BODY = Buffer.from('^n:ds[4U', 'latin1')
const DIGEST = Buffer.from("8jKS'y:G*Co,Wxa-", 'latin1')
const CLOSING = Buffer.from([0xff, 0x00])

// Builds a draft upgrade request. `headers` are appended (or, with a null
// value, remove a default); header values are written as latin1 bytes.
function draftRequest (draft, { path = '/demo', host = 'example.com', origin = 'http://example.com', key1 = KEY1, key2 = KEY2, headers = {} } = {}) {
  const fields = [
    ['Host', host],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'WebSocket'],
    ['Origin', origin]
  ]
  if (draft === 76) fields.push(['Sec-WebSocket-Key1', key1], ['Sec-WebSocket-Key2', key2])
  for (const [name, value] of Object.entries(headers)) {
    const index = fields.findIndex(([n]) => n.toLowerCase() === name.toLowerCase())
    if (index >= 0) fields.splice(index, 1)
    if (value !== null && value !== undefined) fields.push([name, value])
  }
  const lines = [`GET ${path} HTTP/1.1`]
  for (const [name, value] of fields) {
    if (value !== null && value !== undefined) lines.push(`${name}: ${value}`)
  }
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
}

/**
 * Connects, writes `request` (plus `body`, in the same write, when given) and
 * resolves once the response head is in. `peer.head` is the raw head text,
 * `peer.after` every byte after it.
 */
async function connectDraft (port, request, { body } = {}) {
  const peer = await connectPeer(port, (socket) => new DraftPeer(socket), 'the draft peer to connect')
  peer.socket.write(body ? Buffer.concat([request, body]) : request)
  await withGuard(peer._headReady, 'the response head')
  return peer
}

class DraftPeer extends EventEmitter {
  constructor (socket) {
    super()
    this.socket = socket
    this.raw = Buffer.alloc(0) // everything received, head included
    this.head = null
    this.statusCode = null
    this.gotEnd = false
    const head = deferred()
    this._headReady = head.promise
    this._headReady.catch(() => {})
    const closed = deferred()
    this.closed = closed.promise

    socket.on('data', (chunk) => {
      this.raw = Buffer.concat([this.raw, chunk])
      if (this.head === null) {
        const end = this.raw.indexOf('\r\n\r\n')
        if (end >= 0) {
          this.head = this.raw.subarray(0, end + 4).toString('latin1')
          this.statusCode = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1])
          head.resolve()
        }
      }
      this.emit('bytes')
    })
    socket.on('end', () => { this.gotEnd = true })
    socket.on('error', (error) => { this.socketError = error })
    socket.on('close', () => {
      head.reject(new Error('connection closed before the response head'))
      closed.resolve()
      this.emit('bytes')
    })
  }

  get after () {
    return this.head === null ? Buffer.alloc(0) : this.raw.subarray(Buffer.byteLength(this.head, 'latin1'))
  }

  // Resolves once at least `count` bytes followed the head.
  waitAfter (count, label = `${count} bytes after the head`) {
    return untilBytes(this, () => (this.after.length >= count ? this.after : undefined), label)
  }

  // Resolves with the first `count` draft frames after `skip` bytes (the digest).
  async readFrames (count, skip = 0) {
    return untilBytes(this, () => {
      const frames = parseDraftFrames(this.after.subarray(skip))
      return frames.length >= count ? frames.slice(0, count) : undefined
    }, `${count} draft frames`)
  }

  write (bytes) {
    return this.socket.write(bytes)
  }

  waitClosed () {
    return withGuard(this.closed, 'the server to close the TCP connection')
  }

  destroy () {
    this.socket.destroy()
  }
}

// What a server may send after the handshake: text frames and the closing frame.
function parseDraftFrames (bytes) {
  const frames = []
  let at = 0
  while (at < bytes.length) {
    if (bytes[at] === 0x00) {
      const end = bytes.indexOf(0xff, at + 1)
      if (end < 0) break
      frames.push({ type: 'text', data: bytes.subarray(at + 1, end).toString('utf8') })
      at = end + 1
    } else if (bytes[at] === 0xff && bytes[at + 1] === 0x00) {
      frames.push({ type: 'closing' })
      at += 2
    } else if (bytes[at] === 0xff && at + 1 === bytes.length) {
      break
    } else {
      frames.push({ type: 'unexpected', byte: bytes[at] })
      at += 1
    }
  }
  return frames
}

// A text frame as a client writes it.
function textFrame (text) {
  return Buffer.concat([Buffer.from([0x00]), Buffer.from(text, 'utf8'), Buffer.from([0xff])])
}

/**
 * faye-websocket 0.11.4 never passes `allowDrafts` to websocket-driver, so it
 * answers draft requests as RFC 6455 ones. This constructor is faye's server
 * WebSocket with `allowDrafts: true` injected, to measure faye's draft
 * behaviour (its whole API: events, readyState, send/ping/close return values).
 */
function fayeWithDrafts () {
  const FayeWebSocket = require('faye-websocket')
  const driver = require('websocket-driver')
  function FayeDraftWebSocket (request, socket, body, protocols, options) {
    const http = driver.http
    driver.http = (req, opts) => http.call(driver, req, Object.assign({}, opts, { allowDrafts: true }))
    try {
      return new FayeWebSocket(request, socket, body, protocols, options)
    } finally {
      driver.http = http
    }
  }
  FayeDraftWebSocket.isWebSocket = FayeWebSocket.isWebSocket
  return FayeDraftWebSocket
}

module.exports = {
  KEY1,
  KEY2,
  BODY,
  DIGEST,
  CLOSING,
  draftRequest,
  connectDraft,
  parseDraftFrames,
  textFrame,
  fayeWithDrafts
}
