'use strict'

// Small outgoing frames are copied by the native side into slices of a shared pool,
// as Node's Buffer.allocUnsafe does for small Buffers, instead of each becoming a
// Buffer of its own through Node-API, which cost more than the rest of the send.
//
// Slices are never reused: the pool only moves forward, and a full pool is replaced,
// so a slice still waiting in a socket's write queue keeps its bytes (and its pool
// alive) until written. A slice bound for a socket that already has a backlog is
// detached first (lib/api.js, _writePooled), so slow peers do not hold pools.

const POOL_SIZE = 32 * 1024

// Messages up to this length (UTF-16 units of a string, or bytes) are pooled.
const POOLED_MAX = 4 * 1024

// The most a frame header adds: 10 bytes of length and a 4-byte mask.
const HEADER_MAX = 14

let buffer = null
let offset = 0

module.exports = {
  POOL_SIZE,
  POOLED_MAX,

  get buffer () {
    return buffer
  },

  get offset () {
    return offset
  },

  // Makes room for the frame of a message of `length`: enough for an ASCII text or a
  // binary one. Other text may not fit, and the native side then says so.
  reserve (length) {
    if (buffer === null || POOL_SIZE - offset < length + HEADER_MAX) {
      buffer = Buffer.allocUnsafeSlow(POOL_SIZE)
      offset = 0
    }
  },

  // A copy of `slice` in memory of its own, which keeps no pool alive.
  detach (slice) {
    const own = Buffer.allocUnsafeSlow(slice.length)
    slice.copy(own)
    return own
  },

  // The `length` bytes the native side just framed at `offset`.
  take (length) {
    const slice = buffer.subarray(offset, offset + length)
    offset += length
    return slice
  }
}
