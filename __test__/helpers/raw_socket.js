'use strict'

// The part raw_peer.js (a hand-made client) and raw_server.js (a hand-made
// server) share: a net.Socket whose incoming bytes, once past the HTTP head,
// are parsed into frames that the test reads in order.

const { EventEmitter } = require('events')
const { FrameParser, OPCODES } = require('./frames')
const { withGuard } = require('./wait')

class RawSocket extends EventEmitter {
  /** `other` names the far end in wait labels: 'server' or 'client'. */
  constructor (socket, other) {
    super()
    this.socket = socket
    this._other = other
    this.frames = [] // every frame received, in order
    this._cursor = 0 // frames[0.._cursor) were handed out by readFrame()
    this._parser = new FrameParser()
  }

  // Parses `chunk` as frame bytes, recording and emitting ('frame') each frame.
  _onFrameBytes (chunk) {
    for (const frame of this._parser.push(chunk)) {
      this.frames.push(frame)
      this.emit('frame', frame)
    }
  }

  write (bytes) {
    return this.socket.write(bytes)
  }

  /**
   * Resolves with the next frame (after those already returned) that
   * satisfies `filter`; frames skipped over are consumed. Rejects once the
   * subclass emits 'tcp-close' first.
   */
  async readFrame (filter = () => true, label = `a frame from the ${this._other}`) {
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
    return this.readFrame((f) => f.opcode === OPCODES.close, `a close frame from the ${this._other}`)
  }

  /** Waits for the far end to drop the TCP connection (`this.closed`). */
  waitClosed () {
    return withGuard(this.closed, `the ${this._other} to close the TCP connection`)
  }

  destroy () {
    this.socket.destroy()
  }
}

module.exports = { RawSocket }
