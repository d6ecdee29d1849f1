'use strict'

const crypto = require('crypto')
const { deferred } = require('./wait')
const { RawSocket } = require('./raw_socket')
const { connectPeer } = require('./net_server')

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

function acceptFor (key) {
  return crypto.createHash('sha1').update(key + GUID).digest('base64')
}

// The header lines of a head: headers (names lower-cased, repeats joined
// with ', ', as Node does for most) and the raw [name, value] pairs in order.
function parseHeaderLines (lines) {
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
  return { headers, rawHeaders }
}

function parseHead (text) {
  const lines = text.split('\r\n')
  const statusLine = lines.shift()
  const match = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(statusLine)
  const { headers, rawHeaders } = parseHeaderLines(lines)
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
  const peer = await connectPeer(port, (socket) => new RawPeer(socket, key), 'the raw peer to connect')

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
  peer.socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request)

  await peer._responseReady
  return peer
}

class RawPeer extends RawSocket {
  constructor (socket, key) {
    super(socket, 'server')
    this.key = key
    this.expectedAccept = acceptFor(key)
    this.response = null
    this.bytesAfterHead = 0
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
    super._onFrameBytes(chunk)
  }

  // Writes each chunk in its own TCP write, resolving once all are flushed.
  async writeEach (chunks) {
    for (const chunk of chunks) {
      await new Promise((resolve, reject) => this.socket.write(chunk, (e) => (e ? reject(e) : resolve())))
    }
  }
}

module.exports = { connectRaw, acceptFor, parseHead, parseHeaderLines }
