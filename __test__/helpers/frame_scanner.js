'use strict'

// A streaming frame reader for floods. frames.js's FrameParser keeps every
// frame and re-concatenates its buffer on each push; for tens of megabytes of
// pongs or messages that would cost the test process more than the process
// under test. This one only counts the frames of the opcodes it is told to
// skip (their payloads are never copied) and keeps the others whole.

const { EventEmitter } = require('events')
const { applyMask, OPCODES } = require('./frames')
const { withGuard } = require('./wait')

class FrameScanner extends EventEmitter {
  /** `skip`: opcodes counted but not kept (default: pong, binary). */
  constructor ({ skip = [OPCODES.pong, OPCODES.binary] } = {}) {
    super()
    this.skip = new Set(skip)
    this.counts = {} // opcode -> frames seen
    this.payloadBytes = {} // opcode -> payload bytes seen
    this.bytes = 0 // every byte pushed
    this.kept = [] // frames of the other opcodes, in order
    this._head = Buffer.alloc(0)
    this._frame = null // the frame whose payload is being read
  }

  push (chunk) {
    this.bytes += chunk.length
    let at = 0
    while (at < chunk.length) {
      if (!this._frame) {
        const needed = this._headerLength()
        const take = Math.min(chunk.length - at, Math.max(needed, 2) - this._head.length)
        this._head = Buffer.concat([this._head, chunk.subarray(at, at + take)])
        at += take
        if (this._head.length >= 2 && this._head.length >= this._headerLength()) this._startFrame()
        continue
      }
      const frame = this._frame
      const take = Math.min(chunk.length - at, frame.length - frame.received)
      if (frame.parts) frame.parts.push(chunk.subarray(at, at + take))
      frame.received += take
      at += take
      if (frame.received === frame.length) this._endFrame()
    }
  }

  // The header length once the first two bytes are known (2 until then).
  _headerLength () {
    if (this._head.length < 2) return 2
    const b1 = this._head[1]
    const len = b1 & 0x7f
    return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0)
  }

  _startFrame () {
    const head = this._head
    this._head = Buffer.alloc(0)
    let length = head[1] & 0x7f
    let offset = 2
    if (length === 126) {
      length = head.readUInt16BE(2)
      offset = 4
    } else if (length === 127) {
      length = Number(head.readBigUInt64BE(2))
      offset = 10
    }
    const masked = (head[1] & 0x80) !== 0
    const opcode = head[0] & 0x0f
    this._frame = {
      fin: (head[0] & 0x80) !== 0,
      rsv1: (head[0] & 0x40) !== 0,
      opcode,
      masked,
      maskKey: masked ? head.subarray(offset, offset + 4) : null,
      length,
      received: 0,
      parts: this.skip.has(opcode) ? null : []
    }
    if (length === 0) this._endFrame()
  }

  _endFrame () {
    const frame = this._frame
    this._frame = null
    this.counts[frame.opcode] = (this.counts[frame.opcode] || 0) + 1
    this.payloadBytes[frame.opcode] = (this.payloadBytes[frame.opcode] || 0) + frame.length
    if (frame.parts) {
      let payload = Buffer.concat(frame.parts)
      if (frame.maskKey) payload = applyMask(payload, frame.maskKey)
      const kept = { fin: frame.fin, rsv1: frame.rsv1, opcode: frame.opcode, masked: frame.masked, length: frame.length, payload }
      if (frame.opcode === OPCODES.close) {
        kept.code = payload.length >= 2 ? payload.readUInt16BE(0) : null
        kept.reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : ''
      }
      this.kept.push(kept)
      this.emit('frame', kept)
    }
    this.emit('counted', frame.opcode)
  }

  count (opcode) {
    return this.counts[opcode] || 0
  }

  /** Resolves with the first kept frame (seen or to come) that satisfies `filter`. */
  waitFrame (filter, label, ms) {
    const found = this.kept.find(filter)
    if (found) return Promise.resolve(found)
    let listener
    const promise = new Promise((resolve) => {
      listener = (frame) => { if (filter(frame)) resolve(frame) }
      this.on('frame', listener)
    })
    return withGuard(promise, label, ms).finally(() => this.removeListener('frame', listener))
  }

  /** Resolves once `count(opcode)` reaches `n`. */
  waitCount (opcode, n, label, ms) {
    if (this.count(opcode) >= n) return Promise.resolve()
    let listener
    const promise = new Promise((resolve) => {
      listener = () => { if (this.count(opcode) >= n) resolve() }
      this.on('counted', listener)
    })
    return withGuard(promise, label, ms).finally(() => this.removeListener('counted', listener))
  }
}

/**
 * Takes a raw_peer.js peer (after its handshake) off its own frame parser and
 * feeds its socket to a FrameScanner instead. The socket is left paused: call
 * socket.resume() to start reading.
 */
function scanPeer (peer, options) {
  const scanner = new FrameScanner(options)
  peer.socket.pause()
  peer.socket.removeAllListeners('data')
  peer.socket.on('data', (chunk) => scanner.push(chunk))
  return scanner
}

module.exports = { FrameScanner, scanPeer }
