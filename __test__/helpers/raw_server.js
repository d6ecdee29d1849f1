'use strict'

const net = require('net')
const { acceptFor, parseHeaderLines } = require('./raw_peer')
const { RawSocket } = require('./raw_socket')
const { Queue } = require('./queue')
const { deferred } = require('./wait')
const { trackSocket, listen, closer } = require('./net_server')

/**
 * A WebSocket server made of a bare net.Server: the counterpart of
 * raw_peer.js for testing WebSocket.Client. It reads the client's upgrade
 * request, lets the test answer with any bytes (a correct 101, a broken one,
 * a 404, a 101 with frames in the same write), then collects the frames the
 * client sends and lets the test write arbitrary frames back.
 *
 *   respond  (connection) => void, run as soon as a request head is in (the
 *            test can also answer itself after `await nextConnection()`)
 *
 * Returns { port, url, server, nextConnection(), connections, close() }.
 */
async function startRawServer ({ respond } = {}) {
  const sockets = new Set()
  const connections = new Queue('a connection on the raw server')
  const all = []

  const server = net.createServer((socket) => {
    trackSocket(sockets, socket)
    const connection = new RawServerConnection(socket)
    all.push(connection)
    connection.request.then(() => {
      if (respond) respond(connection)
      connections.push(connection)
    }, () => {})
  })

  const port = await listen(server)
  const close = closer(server, sockets, { order: 10 }) // after clients

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    server,
    connections: all,
    nextConnection: (ms) => connections.next(ms),
    close
  }
}

// Parses a request head: the request line, then the headers (see parseHeaderLines).
function parseRequestHead (text) {
  const lines = text.split('\r\n')
  const requestLine = lines.shift()
  const [method, path, httpVersion] = requestLine.split(' ')
  const { headers, rawHeaders } = parseHeaderLines(lines)
  return { requestLine, method, path, httpVersion, headers, rawHeaders, raw: text }
}

class RawServerConnection extends RawSocket {
  constructor (socket) {
    super(socket, 'client') // frames: every frame the client sent after the head
    this.upgraded = false // a 101 was written: incoming bytes are frames
    this._head = Buffer.alloc(0)
    this._pending = [] // bytes after the request head, before a 101 was written
    this.gotEnd = false

    const request = deferred()
    this._request = request
    /** Resolves with the parsed request head. */
    this.request = request.promise
    this.request.catch(() => {})

    const closed = deferred()
    this.closed = closed.promise

    socket.on('data', (chunk) => this._onData(chunk))
    socket.on('end', () => { this.gotEnd = true })
    socket.on('error', (error) => { this.socketError = error })
    socket.on('close', () => {
      request.reject(new Error('connection closed before a complete request head arrived'))
      closed.resolve({ gotEnd: this.gotEnd })
      this.emit('tcp-close')
    })
  }

  _onData (chunk) {
    if (this._head === null) {
      if (this.upgraded) return this._onFrameBytes(chunk)
      this._pending.push(chunk)
      return
    }
    this._head = Buffer.concat([this._head, chunk])
    const end = this._head.indexOf('\r\n\r\n')
    if (end < 0) return
    const rest = this._head.subarray(end + 4)
    this.head = parseRequestHead(this._head.subarray(0, end).toString('latin1'))
    this._head = null
    if (rest.length) this._pending.push(Buffer.from(rest))
    this._request.resolve(this.head)
  }

  /** Sec-WebSocket-Accept for the request's key. */
  get accept () {
    return acceptFor(this.head.headers['sec-websocket-key'])
  }

  /**
   * The bytes of a 101 response: the correct headers, with `headers`
   * overriding or adding (a null value leaves that header out).
   */
  handshake (headers = {}) {
    const fields = {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Accept': this.accept,
      ...headers
    }
    const lines = ['HTTP/1.1 101 Switching Protocols']
    for (const [name, value] of Object.entries(fields)) {
      if (value !== null && value !== undefined) lines.push(`${name}: ${value}`)
    }
    return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
  }

  /**
   * Writes a 101 (see handshake()) and, in the same TCP write, `after`
   * (frames); from now on incoming bytes are parsed as frames.
   */
  accept101 (headers = {}, after = Buffer.alloc(0)) {
    this.respond(Buffer.concat([this.handshake(headers), after]), { upgrade: true })
  }

  /** Writes raw response bytes; `upgrade` switches incoming bytes to frames. */
  respond (bytes, { upgrade = false } = {}) {
    if (upgrade) {
      this.upgraded = true
      const pending = this._pending.splice(0)
      for (const chunk of pending) this._onFrameBytes(chunk)
    }
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  }

  /** Like respond(), but one byte per TCP write, each flushed before the next. */
  async trickle (bytes, { upgrade = false } = {}) {
    if (upgrade) this.respond(Buffer.alloc(0), { upgrade })
    for (const byte of bytes) {
      await new Promise((resolve, reject) => this.socket.write(Buffer.from([byte]), (e) => (e ? reject(e) : resolve())))
    }
  }

  end () {
    this.socket.end()
  }
}

module.exports = { startRawServer, parseRequestHead }
