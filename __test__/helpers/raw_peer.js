'use strict'

const net = require('net')
const crypto = require('crypto')
const { EventEmitter } = require('events')
const { FrameParser, OPCODES } = require('./frames')
const { waitFor, withGuard, deferred } = require('./wait')
const { track } = require('./cleanup')

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

function acceptFor (key) {
  return crypto.createHash('sha1').update(key + GUID).digest('base64')
}

function parseHead (text) {
  const lines = text.split('\r\n')
  const statusLine = lines.shift()
  const match = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(statusLine)
  const headers = {}
  const rawHeaders = []
  for (const line of lines) {
    if (!line) continue
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    rawHeaders.push([name, value])
    const key = name.toLowerCase()
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value
  }
  return {
    statusLine,
    statusCode: match ? Number(match[1]) : null,
    statusText: match ? match[2] : null,
    headers,
    rawHeaders
  }
}

/**
 * A WebSocket client made of a bare net.Socket: it writes the upgrade
 * request by hand, reads the response head (and, for a refusal, the
 * Content-Length body), then lets the test write arbitrary bytes and
 * collects the frames the server sends.
 *
 *   path     request target (default '/')
 *   key      Sec-WebSocket-Key (default: 16 random bytes, base64)
 *   version  Sec-WebSocket-Version (default '13')
 *   headers  extra or overriding request headers
 *   omit     header names to leave out entirely
 *   request  a complete raw request (string, sent as latin1, or Buffer),
 *            bypassing all of the above
 *
 * Resolves once the response head (and any refusal body) is in.
 */
async function connectRaw (port, {
  path = '/',
  key = crypto.randomBytes(16).toString('base64'),
  version = '13',
  headers = {},
  omit = [],
  request
} = {}) {
  const socket = net.connect(port, '127.0.0.1')
  const peer = new RawPeer(socket, key)
  track(() => peer.destroy(), 0)

  await withGuard(waitFor(socket, 'connect'), 'the raw peer to connect')

  if (request === undefined) {
    const defaults = [
      ['Host', `127.0.0.1:${port}`],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', key],
      ['Sec-WebSocket-Version', version]
    ]
    const lowerOmit = omit.map((name) => name.toLowerCase())
    const extra = Object.entries(headers)
    const overridden = new Set(extra.map(([name]) => name.toLowerCase()))
    const lines = [`GET ${path} HTTP/1.1`]
    for (const [name, value] of [...defaults.filter(([n]) => !overridden.has(n.toLowerCase())), ...extra]) {
      if (lowerOmit.includes(name.toLowerCase())) continue
      if (value === undefined || value === null) continue
      lines.push(`${name}: ${value}`)
    }
    request = lines.join('\r\n') + '\r\n\r\n'
  }
  // a string request is written byte for byte (latin1) so frames can ride along
  socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request)

  await peer._responseReady
  return peer
}

class RawPeer extends EventEmitter {
  constructor (socket, key) {
    super()
    this.socket = socket
    this.key = key
    this.expectedAccept = acceptFor(key)
    this.response = null
    this.frames = [] // every frame received, in order
    this.bytesAfterHead = 0
    this._cursor = 0 // frames[0.._cursor) were handed out by readFrame()
    this._parser = new FrameParser()
    this._head = Buffer.alloc(0)
    this._ready = deferred()
    this._responseReady = this._ready.promise
    this.gotEnd = false // the server half-closed (FIN)

    const closed = deferred()
    this.closed = closed.promise // resolves when the TCP connection is fully gone

    socket.on('data', (chunk) => this._onData(chunk))
    socket.on('end', () => { this.gotEnd = true })
    socket.on('error', (error) => { this.socketError = error })
    socket.on('close', (hadError) => {
      if (this.response && this.response.statusCode !== 101) {
        // a refusal without (or with a short) Content-Length ends with the TCP close
        this.response.text = this.response.body.toString('utf8')
        this._ready.resolve()
      }
      this._ready.reject(new Error('connection closed before a complete response head arrived'))
      closed.resolve({ hadError, gotEnd: this.gotEnd })
      this.emit('tcp-close')
    })
    this._responseReady.catch(() => {})
  }

  _onData (chunk) {
    if (this.response && this.response.statusCode === 101) return this._onFrameBytes(chunk)

    if (this.response) {
      // refusal body
      this.response.body = Buffer.concat([this.response.body, chunk])
      return this._maybeBodyDone()
    }

    this._head = Buffer.concat([this._head, chunk])
    const end = this._head.indexOf('\r\n\r\n')
    if (end < 0) return
    const rest = this._head.subarray(end + 4)
    this.response = parseHead(this._head.subarray(0, end).toString('latin1'))
    this.response.rawHead = this._head.subarray(0, end + 4).toString('latin1')
    this._head = null

    if (this.response.statusCode === 101) {
      this._ready.resolve()
      if (rest.length) this._onFrameBytes(rest)
    } else {
      this.response.body = Buffer.from(rest)
      this._maybeBodyDone()
    }
  }

  _maybeBodyDone () {
    const length = Number(this.response.headers['content-length'])
    if (!Number.isNaN(length) && this.response.body.length >= length) {
      this.response.text = this.response.body.toString('utf8')
      this._ready.resolve()
    }
  }

  _onFrameBytes (chunk) {
    this.bytesAfterHead += chunk.length
    for (const frame of this._parser.push(chunk)) {
      this.frames.push(frame)
      this.emit('frame', frame)
    }
  }

  write (bytes) {
    return this.socket.write(bytes)
  }

  // Writes each chunk in its own TCP write, resolving once all are flushed.
  async writeEach (chunks) {
    for (const chunk of chunks) {
      await new Promise((resolve, reject) => this.socket.write(chunk, (e) => (e ? reject(e) : resolve())))
    }
  }

  /**
   * Resolves with the next frame (after those already returned) that
   * satisfies `filter`; frames skipped over are consumed.
   */
  async readFrame (filter = () => true, label = 'a frame from the server') {
    for (;;) {
      while (this._cursor < this.frames.length) {
        const frame = this.frames[this._cursor++]
        if (filter(frame)) return frame
      }
      await withGuard(new Promise((resolve, reject) => {
        const onFrame = () => { cleanup(); resolve() }
        const onClose = () => { cleanup(); reject(new Error(`connection closed while waiting for ${label}`)) }
        const cleanup = () => {
          this.removeListener('frame', onFrame)
          this.removeListener('tcp-close', onClose)
        }
        this.on('frame', onFrame)
        this.once('tcp-close', onClose)
        if (this.socket.destroyed) onClose()
      }), label)
    }
  }

  readClose () {
    return this.readFrame((f) => f.opcode === OPCODES.close, 'a close frame from the server')
  }

  // Waits for the server to drop the TCP connection.
  waitClosed () {
    return withGuard(this.closed, 'the server to close the TCP connection')
  }

  destroy () {
    this.socket.destroy()
  }
}

module.exports = { connectRaw, acceptFor, parseHead }
