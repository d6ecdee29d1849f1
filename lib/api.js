'use strict'

// Socket behaviour shared by the server-side WebSocket and WebSocket.Client: the
// WebSocket API, the stream API, timers, and the wiring between a Node socket and the
// native connection.
//
//   socket 'data' ──► native.feed(chunk) ──► [output, …events] or a lone message
//                                               │        │
//                     socket.write(output) ◄────┘        └──► open/message/error/close
//
// One native call per socket read and one per send. The native side owns the protocol;
// this file owns readyState as the WebSocket API defines it, the ping-callback map,
// the ping and close timers, and tearing down the TCP connection.

const crypto = require('crypto')
const { Stream } = require('stream')
const native = require('./native')
const Event = require('./event')
const { rsvOf } = require('./extensions')
const EventTarget = require('./event_target')
const framePool = require('./frame_pool')

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

// How long a close frame we sent may wait for the peer's reply.
const CLOSE_TIMEOUT = 30000

// websocket-driver's default maxLength, 2^26 - 1 bytes.
const DEFAULT_MAX_LENGTH = 0x3ffffff

// The close codes websocket-driver gives the error types extensions may set.
const ERROR_CODES = {
  normal_closure: 1000,
  going_away: 1001,
  protocol_error: 1002,
  unacceptable: 1003,
  encoding_error: 1007,
  policy_violation: 1008,
  too_large: 1009,
  extension_error: 1010,
  unexpected_condition: 1011
}

// Binary messages at least this large go out as a frame header followed by the
// caller's own Buffer, where the frame allows it, instead of being copied into the
// frame. (Text is not: encoding a string into a Buffer in JavaScript first measured
// slower than the native side encoding it straight into the frame.)
const HEAD_ONLY_MIN = 16 * 1024

// Messages at least this long are compressed on libuv's thread pool when
// permessage-deflate is in use, so the event loop goes on meanwhile: zlib's default
// level takes about 3 ms for 128 KiB of text and 25 ms for 1 MiB. Shorter ones are
// compressed in place, where the trip to another thread would cost more than it frees.
const COMPRESS_AWAY_MIN = 128 * 1024

// What sendTextInto/sendBinaryInto return when the frame did not fit in the pool.
const FRAME_NOT_POOLED = -2

// Event kinds in a native batch (src/binding/batch.rs).
const EVENT_OPEN = 0
const EVENT_MESSAGE = 1
const EVENT_RAW_TEXT = 2
const EVENT_RAW_BINARY = 3
const EVENT_PING = 4
const EVENT_PONG = 5
const EVENT_ERROR = 6
const EVENT_CLOSE = 7
const EVENT_ASCII_MESSAGE = 8

// napi leaves absent fields undefined; faye's events carry null.
function nullable (value) {
  return value === undefined ? null : value
}

// Whether a long string is ASCII, which the native side then copies instead of
// encoding. `Buffer.byteLength` counts a one-byte string's UTF-8 with SIMD, about
// 1 µs for 64 KiB where V8's own count (what Node-API's encoding starts with) takes
// 7, and a count of one byte per UTF-16 unit means ASCII. Short strings are left to
// the native side: the extra call would cost more than it saves.
//
// Only optimized code gets that SIMD count, though: where long messages are rare
// enough for this function to stay unoptimized, Node counts with V8 (6% of a
// 1 MiB echo). A long received message the native side found to be ASCII is known
// here while its handlers run, and a string equal to it is ASCII too, so echoing or
// relaying it skips the count (an unequal one of the same length costs a compare
// up to the first difference).
let receivedAscii = null
// The bytes of that message, when the native side shares them with its string
// (src/binding/shared_text.rs): a server sends that string on as a frame header
// followed by these bytes, encoding and copying nothing.
let receivedAsciiBytes = null

function isLongAscii (string) {
  if (string === receivedAscii) return true
  return string.length > framePool.POOLED_MAX && Buffer.byteLength(string) === string.length
}

// A message's payload size in bytes: a string's as UTF-8.
function payloadLength (data) {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length
}

// The frame of the last small text message a connection with plain frames (see
// Hybi::plain_frames) sent, and that text: sending the same string on another such
// connection, as a broadcast does, writes that frame again instead of framing the
// message once more. Pool slices are never overwritten, and strings never change.
let repeatedText = null
let repeatedFrame = null

// Whether `frame` (Buffer) is exactly one unfragmented text frame, unmasked: what a
// pooled send returns unless output was pending before it.
function isLoneTextFrame (frame) {
  if (frame.length < 2 || frame[0] !== 0x81 || frame[1] > 127) return false
  const short = frame[1]
  if (short < 126) return frame.length === 2 + short
  return short === 126 && frame.length >= 4 && frame.length === 4 + frame.readUInt16BE(2)
}

// A close frame with status 1011 and reason "Internal error", masked when `masked`
// (clients mask every frame, RFC 6455 section 5.3).
function internalErrorFrame (masked) {
  const payload = Buffer.concat([Buffer.from([0x03, 0xf3]), Buffer.from('Internal error')])
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload])
  const key = crypto.randomBytes(4)
  for (let i = 0; i < payload.length; i++) payload[i] ^= key[i % 4]
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), key, payload])
}

// A socket's listeners are shared by every connection and find theirs on the socket:
// five closures per connection cost more memory than the rest of an idle one's state.
const kWebSocket = Symbol('websocket')

function socketOnData (chunk) {
  this[kWebSocket]._feed(chunk)
}

function socketOnDrain () {
  this[kWebSocket].emit('drain')
}

function socketOnEnd () {
  this[kWebSocket]._finalizeClose()
}

function socketOnError (error) {
  const ws = this[kWebSocket]
  ws._emitError('Network error: ' + ws.url + ': ' + error.message)
  ws._finalizeClose()
}

// Protocol errors are informational: never let one crash the process.
function ignoreError () {}

class API extends Stream {
  // Called by subclasses once `this._stream` (the socket), `this._native` and
  // `this.url` are set.
  _setup (options) {
    this.readable = this.writable = true
    this.readyState = CONNECTING
    this.protocol = ''
    this.version = this._native.version
    this._maxLength = options.maxLength || DEFAULT_MAX_LENGTH
    // Sends made before open, when extensions run in JavaScript (their sessions
    // exist only once the handshake is done). Like the ping callbacks below, made on
    // first use: most connections never need either, and idle connections add up.
    this._sendQueue = null
    // Bytes of the messages sent before open, and whether a caller was told to wait
    // for 'drain' because of them.
    this._heldBytes = 0
    this._drainOwed = false
    // While one read's events are dispatched, sends leave their frames in the native
    // output (`_pendingOutput` bytes so far) and go out in one write at the end.
    this._coalescing = false
    this._pendingOutput = 0
    // Whether this connection's frames are plain (set on open): see _sendPooled.
    this._plainFrames = false

    this._ping = options.ping
    this._pingId = 0
    this._pingCallbacks = null

    this.on('error', ignoreError)

    if (this._ping) {
      this._pingTimer = setInterval(() => {
        this._pingId += 1
        this.ping(this._pingId.toString())
      }, this._ping * 1000)
    }
  }

  _configureStream () {
    const socket = this._stream
    socket.setTimeout(0)
    socket.setNoDelay(true)

    socket[kWebSocket] = this
    socket.on('data', socketOnData)
    socket.on('drain', socketOnDrain)
    socket.on('end', socketOnEnd)
    socket.on('close', socketOnEnd)
    socket.on('error', socketOnError)
  }

  // What the socket has not sent yet, plus messages held until the handshake is done
  // or until the read being dispatched is over.
  get bufferedAmount () {
    const socket = this._stream
    return this._heldBytes + this._pendingOutput + this._waitingBytes + (socket && !socket.destroyed ? socket.writableLength : 0)
  }

  write (data) {
    return this.send(data)
  }

  end (data) {
    if (data !== undefined) this.send(data)
    this.close()
  }

  pause () {
    if (this._stream) this._stream.pause()
  }

  resume () {
    if (this._stream) this._stream.resume()
  }

  send (data) {
    if (this.readyState > OPEN) return false
    if (!(data instanceof Buffer)) data = String(data)
    if (this._extensions) return this._sendThroughExtensions(data)
    if (this._waiting !== null) return this._waitForCompression(data)
    if (this._compressAway && data.length >= COMPRESS_AWAY_MIN && this.readyState === OPEN) {
      const sent = this._sendCompressedAway(data)
      if (sent !== null) return sent
    }
    if (this._headOnly && data.length >= HEAD_ONLY_MIN) {
      const text = typeof data === 'string'
      const payload = text ? (data === receivedAscii ? receivedAsciiBytes : null) : data
      if (payload !== null) {
        const written = this._sendHeadFirst(payload, text)
        if (written !== null) return written
      }
    }
    if (this._coalescing) return this._queue(data)
    if (data.length <= framePool.POOLED_MAX) return this._sendPooled(data)
    const output = this._call(() =>
      typeof data === 'string' ? this._native.sendText(data, isLongAscii(data)) : this._native.sendBinary(data))
    if (output === null || output === undefined) return false
    // An empty result means the message waits for the handshake.
    return output.length === 0 ? this._hold(data) : this._write(output)
  }

  // Sends a small message, its frame copied into the shared pool (lib/frame_pool.js).
  _sendPooled (data) {
    // Open, the native side takes every send (a failure's close frame waits for the
    // events before it), so a send it would frame the same way needs no asking.
    const plain = this._plainFrames
    if (plain && data === repeatedText) return this._writePooled(repeatedFrame)
    framePool.reserve(data.length)
    const pool = framePool.buffer
    const offset = framePool.offset
    const result = this._call(() => typeof data === 'string'
      ? this._native.sendTextInto(data, pool, offset)
      : this._native.sendBinaryInto(data, pool, offset))
    if (result > 0) {
      const frame = framePool.take(result)
      if (plain && typeof data === 'string' && isLoneTextFrame(frame)) {
        repeatedText = data
        repeatedFrame = frame
      }
      return this._writePooled(frame)
    }
    if (result === 0) return this._hold(data)
    if (result === FRAME_NOT_POOLED) return this._flushPending()
    // Refused (closing or closed), or the call failed.
    return false
  }

  // Writes a large message as its frame header, then its bytes as they are: a
  // binary message, or the bytes of a received ASCII text sent on. Returns null when
  // the native side says the frame needs the whole message (compression was
  // negotiated, say), and stops trying from then on.
  _sendHeadFirst (payload, text) {
    const head = this._call(() => this._native.sendHead(text, payload.length))
    if (!head) {
      if (this.readyState > OPEN) return false
      if (this.readyState === OPEN) this._headOnly = false
      return null
    }
    const socket = this._stream
    if (!socket || socket.destroyed) return false
    // Corked, the header and the payload leave in one writev. A corked write reports
    // false for any payload over the high-water mark, even one the kernel then takes
    // at once, so the answer is what is still unsent once uncorked, as for one write.
    socket.cork()
    this._write(head)
    this._write(payload)
    socket.uncork()
    return !socket.destroyed && socket.writableLength < socket.writableHighWaterMark
  }

  // Hands a long message to the thread pool to compress; its frame is written when it
  // comes back (_compressed), and everything sent meanwhile waits for it. Returns null
  // when the message must be sent in place (no permessage-deflate), and stops trying
  // from then on.
  _sendCompressedAway (data) {
    const text = typeof data === 'string'
    // A long ASCII string has a byte per character: its bytes are counted once, here.
    const ascii = text && isLongAscii(data)
    const job = this._call(() => text ? this._native.compressText(data, ascii) : this._native.compressBinary(data))
    if (!job) {
      if (this.readyState > OPEN) return false
      this._compressAway = false
      return null
    }
    this._waiting = []
    this._waitingBytes = text && !ascii ? Buffer.byteLength(data) : data.length
    job.then((done) => this._compressed(done), (error) => this._compressionFailed(error))
    return this._underHighWaterMark()
  }

  _waitForCompression (data) {
    this._waiting.push(data)
    this._waitingBytes += payloadLength(data)
    return this._underHighWaterMark()
  }

  // A message compressed on the thread pool is back: its frame goes out, then the
  // messages that waited for it, in order (another long one may go away again), then
  // a close() that waited for them.
  _compressed (done) {
    const waiting = this._waiting
    this._waiting = null
    this._waitingBytes = 0
    const output = this._call(() => this._native.finishCompression(done))
    if (output) this._write(output)
    for (const data of waiting) this.send(data)
    if (this._waiting !== null) return
    if (this._closeWhenSent) this._closeWhenSent()
    this._emitOwedDrain()
  }

  // Nothing waits for a message that will not come back: the connection fails.
  _compressionFailed (error) {
    this._waiting = null
    this._waitingBytes = 0
    this._closeWhenSent = null
    this._internalError(error)
  }

  // Like a socket write, reports false once what waits reaches the socket's
  // high-water mark, and 'drain' follows once it has gone out.
  _underHighWaterMark () {
    const socket = this._stream
    const limit = (socket && socket.writableHighWaterMark) || 16384
    if (this.bufferedAmount < limit) return true
    this._drainOwed = true
    return false
  }

  _emitOwedDrain () {
    if (!this._drainOwed) return
    this._drainOwed = false
    // A socket over its high-water mark emits 'drain' itself (forwarded).
    const socket = this._stream
    if (!socket || !socket.writableNeedDrain) process.nextTick(() => this.emit('drain'))
  }

  // A send made while a read's events are dispatched: the frame joins the others in
  // the native output. Reports backpressure as the socket would once they are written.
  _queue (data) {
    const pending = this._call(() =>
      typeof data === 'string' ? this._native.queueText(data, isLongAscii(data)) : this._native.queueBinary(data))
    if (pending === null || pending === undefined || pending < 0) return false
    if (pending === 0) return this._hold(data)
    this._pendingOutput = pending
    const socket = this._stream
    if (!socket || socket.destroyed || !socket.writable) return false
    return socket.writableLength + pending < socket.writableHighWaterMark
  }

  // Writes what the native output holds: the frames queued by `_queue`, or a frame
  // that did not fit in the pool. Returns what the write returned, false if nothing.
  _flushPending () {
    this._pendingOutput = 0
    const output = this._call(() => this._native.takeOutput())
    return output ? this._write(output) : false
  }

  // Counts a message held until open. Like a socket write, it reports false once the
  // held bytes reach the socket's high-water mark, so a pipe into a connection whose
  // handshake never completes stops reading its source; 'drain' follows the open.
  _hold (data) {
    this._heldBytes += payloadLength(data)
    return this._underHighWaterMark()
  }

  // The message passes the extensions' sessions in order, then goes out as one frame
  // with the reserved bits they set.
  _sendThroughExtensions (data) {
    if (this.readyState === CONNECTING) {
      if (!this._sendQueue) this._sendQueue = []
      this._sendQueue.push(data)
      return this._hold(data)
    }
    const text = typeof data === 'string'
    const message = {
      opcode: text ? 1 : 2,
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      data: text ? Buffer.from(data, 'utf8') : data
    }
    let written = true
    this._extensions.processOutgoingMessage(message, (error, result) => {
      if (error) return this._failExtension(error)
      const output = this._call(() =>
        this._native.sendFrame(result.opcode === 1, rsvOf(result), result.data))
      if (output) written = this._write(output)
      if (this._closeWhenSent && this._extensions.outgoingPending === 0) this._closeWhenSent()
    })
    return written
  }

  ping (message, callback) {
    if (this.readyState > OPEN) return false
    message = message || ''
    const payload = message instanceof Buffer ? message : Buffer.from(String(message), 'utf8')
    const output = this._call(() => this._native.ping(payload))
    if (output === null || output === undefined) return false
    if (callback) {
      if (!this._pingCallbacks) this._pingCallbacks = new Map()
      this._pingCallbacks.set(payload.toString('utf8'), callback)
    }
    if (output.length > 0) this._write(output)
    return true
  }

  close (code, reason) {
    // A server socket that was not writable at construction was never set up.
    if (!this._native) return
    if (code === undefined) code = 1000
    if (reason === undefined) reason = ''

    // Messages still passing through asynchronous extensions, or being compressed on
    // the thread pool, go out before the close frame, as with faye (its extensions'
    // close() waits for them).
    const pending = this._waiting !== null || (this._extensions && this._extensions.outgoingPending > 0)
    if (pending && this.readyState === OPEN) {
      native.checkClose(Number(code), String(reason))
      // A close already waiting wins: ours, or the answer to the peer's (_closed).
      if (this._closeWhenSent) return
      this._closeWhenSent = () => {
        this._closeWhenSent = null
        this.close(code, reason)
      }
      return
    }

    // Throws for a code or reason that may not be sent, before anything changes.
    const batch = this._native.close(Number(code), String(reason))

    if (this._native.closeExpected && !this._closeTimer) {
      this._closeTimer = setTimeout(() => {
        // The peer never answered our close frame: stop waiting for it.
        if (this._stream) this._stream.destroy()
        this._beginClose('', 1006)
      }, CLOSE_TIMEOUT)
    }
    if (this.readyState !== CLOSED) this.readyState = CLOSING
    this._apply(batch)
  }

  _feed (chunk) {
    const batch = this._call(() => this._native.feed(chunk))
    if (batch === null || batch === undefined) return
    // A read whose only result is one message returns that message alone.
    if (!Array.isArray(batch)) return this._receiveMessage(batch)
    const socket = this._stream
    // A read with one event (one message, most often) has nothing to gather: its
    // reply is written as it is sent.
    if (batch.length <= 5 || !socket || socket.destroyed) return this._apply(batch)
    // One read often carries many messages, and handlers answer each: their replies
    // are framed into one native buffer and written once, and anything else written
    // meanwhile (pongs) joins them in one writev while the socket is corked.
    socket.cork()
    this._coalescing = true
    try {
      this._apply(batch)
    } finally {
      this._coalescing = false
      if (this._pendingOutput > 0) this._flushPending()
      socket.uncork()
    }
  }

  // Runs a native call. A throw here is a bug, not bad input (the native layer turns
  // bad input into events), so the connection fails with 1011 instead of crashing.
  _call (fn) {
    try {
      return fn()
    } catch (error) {
      return this._internalError(error)
    }
  }

  _internalError (error) {
    const open = this.readyState === OPEN
    this._emitError('Internal error: ' + error.message)
    // The native state may be inconsistent now: the close frame is built here.
    if (open && this.version === 'hybi-13') this._write(internalErrorFrame(this._masksFrames))
    this._beginClose('Internal error', 1011)
    return null
  }

  // A batch is [output, handshake, kind, a, b, kind, a, b, …]: see
  // src/binding/batch.rs for the kinds and their slots.
  _apply (batch) {
    if (batch[0]) this._write(batch[0])
    if (batch[1]) this._handshakeResponse(batch[1])
    for (let i = 2; i < batch.length; i += 3) {
      switch (batch[i]) {
        case EVENT_OPEN: this._open(); break
        case EVENT_MESSAGE: this._receiveMessage(batch[i + 1]); break
        case EVENT_ASCII_MESSAGE: this._receiveAscii(batch[i + 1], batch[i + 2]); break
        case EVENT_RAW_TEXT: this._receiveThroughExtensions(1, batch[i + 1], batch[i + 2]); break
        case EVENT_RAW_BINARY: this._receiveThroughExtensions(2, batch[i + 1], batch[i + 2]); break
        case EVENT_PING: this._sendPong(batch[i + 2]); break
        case EVENT_PONG: this._receivePong(batch[i + 1]); break
        case EVENT_ERROR: this._emitError(batch[i + 2]); break
        // The hixie drafts have no status: faye reports null code and reason.
        case EVENT_CLOSE: this._closed(nullable(batch[i + 2]), nullable(batch[i + 1])); break
      }
    }
  }

  // The protocol is over (the peer's close, or a protocol error): the close frame it
  // owes goes out, then 'close'. A message being compressed on the thread pool, and
  // those waiting for it, go out first, as faye's extensions finish theirs before its
  // close frame.
  _closed (reason, code) {
    if (this._waiting !== null) {
      // Replaces a close() of ours that was waiting too: the peer's close came first.
      this._closeWhenSent = () => {
        this._closeWhenSent = null
        this._closed(reason, code)
      }
      return
    }
    this._flushClose()
    this._beginClose(reason, code)
  }

  // A peer that sends pings but does not read would have its pongs pile up in the
  // socket's buffer. While the socket is over its high-water mark only the latest
  // ping is answered, once it drains (RFC 6455 section 5.5.3 allows exactly that).
  _sendPong (frame) {
    if (!frame) return
    const socket = this._stream
    if (!socket || !socket.writableNeedDrain) return this._write(frame)
    if (!this._pendingPong) {
      socket.once('drain', () => {
        const pong = this._pendingPong
        this._pendingPong = null
        if (pong && this.readyState === OPEN) this._write(pong)
      })
    }
    this._pendingPong = frame
  }

  // The client records the server's response; the server has none.
  _handshakeResponse (response) {}

  // The close frame the protocol owes the peer goes out only now, after the events
  // before it were dispatched, so replies sent by their handlers precede it.
  _flushClose () {
    const output = this._call(() => this._native.flushClose())
    if (output) this._write(output)
  }

  // Writes a slice of the frame pool. A socket with a backlog would keep the slice
  // in its queue, and with it the whole pool, until the peer reads: slow peers would
  // hold pools that every other connection has long finished with. A frame that joins
  // a backlog goes as a copy of its own.
  _writePooled (frame) {
    const socket = this._stream
    return this._write(socket && socket.writableLength > 0 ? framePool.detach(frame) : frame)
  }

  _write (bytes) {
    // Frames queued earlier in this read go first. Output drained from the native
    // side already starts with them.
    if (this._pendingOutput > 0) this._flushPending()
    const socket = this._stream
    if (!socket || socket.destroyed || !socket.writable) return false
    return socket.write(bytes)
  }

  _open () {
    if (this.readyState !== CONNECTING) return
    this.readyState = OPEN
    this._plainFrames = !this._extensions && this._native.plainFrames
    this.protocol = this._native.protocol || ''
    // The native side has already written the messages it held; these were held here.
    this._heldBytes = 0
    const queued = this._sendQueue
    this._sendQueue = null
    if (queued) for (const data of queued) this.send(data)
    this._emitOwedDrain()
    this._dispatch('open', {})
  }

  _receiveMessage (data) {
    if (this.readyState > OPEN) return
    if (this.readable) this.emit('data', data)
    const event = new Event.MessageEvent(data, this)
    if (this.onmessage) this.onmessage(event)
    this.emit('message', event)
  }

  // A long ASCII text message, and its bytes if shared: see receivedAscii.
  _receiveAscii (text, bytes) {
    const outer = receivedAscii
    const outerBytes = receivedAsciiBytes
    receivedAscii = text
    receivedAsciiBytes = bytes || null
    try {
      this._receiveMessage(text)
    } finally {
      receivedAscii = outer
      receivedAsciiBytes = outerBytes
    }
  }

  // A message for the application's extensions; the checks the core could not make
  // on the raw payload (maxLength after inflating, UTF-8) follow them, as in faye.
  _receiveThroughExtensions (opcode, data, rsv) {
    const message = {
      opcode,
      fin: true,
      rsv1: (rsv & 0x40) !== 0,
      rsv2: (rsv & 0x20) !== 0,
      rsv3: (rsv & 0x10) !== 0,
      data
    }
    this._extensions.processIncomingMessage(message, (error, result) => {
      if (error) return this._failExtension(error)
      let data = result.data
      if (data.length > this._maxLength) return this._fail(1009, 'WebSocket frame length too large')
      if (result.opcode === 1) {
        data = native.decodeText(data)
        if (data === null || data === undefined) return this._fail(1007, 'Could not decode a text frame as UTF-8')
      }
      this._receiveMessage(data)
    })
  }

  _failExtension (error) {
    const message = error && error.message !== undefined ? error.message : String(error)
    this._fail((error && ERROR_CODES[error.type]) || ERROR_CODES.extension_error, message)
  }

  // Fails the connection as a protocol error would: error, close frame, close.
  _fail (code, reason) {
    if (this.readyState > OPEN) return
    const batch = this._call(() => this._native.fail(code, reason))
    if (batch) this._apply(batch)
  }

  _receivePong (data) {
    if (!this._pingCallbacks) return
    const key = data.toString('utf8')
    const callback = this._pingCallbacks.get(key)
    if (!callback) return
    this._pingCallbacks.delete(key)
    callback()
  }

  _emitError (message) {
    if (this.readyState >= CLOSING) return
    this._dispatch('error', { message })
  }

  // The connection is over (closing handshake done, protocol error, timeout): report
  // it now, as faye does, and let the socket flush what was written before it closes.
  _beginClose (reason, code) {
    if (this.readyState === CLOSED) return
    this.readyState = CLOSING
    this._closeParams = [reason, code]
    this._finalizeClose()
  }

  _finalizeClose () {
    if (this.readyState === CLOSED) return
    if (!this._closeParams) {
      // The TCP connection ended without a closing handshake.
      const batch = this._call(() => this._native.feedEof())
      let params = ['', 1006]
      for (let i = 2; batch && i < batch.length; i += 3) {
        if (batch[i] === EVENT_CLOSE) {
          params = [batch[i + 2], batch[i + 1]]
          break
        }
      }
      this._closeParams = params
    }
    this.readyState = CLOSED

    // Replies queued in this read leave before the socket is ended.
    if (this._pendingOutput > 0) this._flushPending()
    clearTimeout(this._closeTimer)
    clearInterval(this._pingTimer)
    if (this._extensions) this._extensions.close()
    this._shutdownSocket()

    if (this.readable) this.emit('end')
    this.readable = this.writable = false

    const [reason, code] = this._closeParams
    this._dispatch('close', { code, reason })
  }

  // end() rather than destroy(): destroy() would drop a close frame still queued in the
  // socket. The socket is destroyed once its writes finish, so its file descriptor is
  // released even if the peer never closes its side; a socket still connecting has
  // nothing to flush.
  _shutdownSocket () {
    const socket = this._stream
    if (!socket || socket.destroyed || this._shuttingDown) return
    this._shuttingDown = true
    if (socket.connecting) return socket.destroy()
    socket.end()
    if (socket.writableFinished) return socket.destroy()
    socket.once('finish', () => socket.destroy())
    // A peer that stops reading keeps 'finish' from firing: give up after the timeout.
    setTimeout(() => socket.destroy(), CLOSE_TIMEOUT).unref()
  }

  _dispatch (type, fields) {
    const event = new Event(type, fields)
    event.initEvent(type, false, false)
    this.dispatchEvent(event)
  }
}

Object.assign(API.prototype, EventTarget)

API.CONNECTING = CONNECTING
API.OPEN = OPEN
API.CLOSING = CLOSING
API.CLOSED = CLOSED
API.CLOSE_TIMEOUT = CLOSE_TIMEOUT
API.DEFAULT_MAX_LENGTH = DEFAULT_MAX_LENGTH

// While a long message is compressed on another thread (_sendCompressedAway), the
// messages sent after it wait in `_waiting`, in order, with their byte count; null
// when no message is away. Defaults on the prototype: a connection gets fields of
// its own only once it sends a long message, and idle ones stay as small as before.
API.prototype._compressAway = true
API.prototype._waiting = null
API.prototype._waitingBytes = 0

module.exports = API
