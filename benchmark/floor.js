'use strict'
// The floor: the least any WebSocket server built on Node's sockets must do to echo, with
// no library. It answers the handshake, then turns each masked client frame into an
// unmasked server frame as its bytes arrive: the header rewritten, the payload copied
// and unmasked in one pass (bufferutil's mask, C) straight into the outgoing frame, and
// the frames one read completes written with one writev (cork/uncork). No UTF-8 check,
// no events, no fragments, no ping, no permessage-deflate, no limits: nothing a real
// library could leave out, and nothing it would add, so a library's rate over the
// floor's is its own overhead, and the floor's over the Rust ceiling is Node's.
//
// Frames are trusted to be what the load generator sends (whole, masked, at most
// 2^53 bytes); a close frame is answered and the socket ended.

const crypto = require('crypto')
const { mask } = require('bufferutil')

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const CLOSE = 8

// The key as seen `offset` bytes into the payload (a payload split across reads).
function keyAt (key, offset) {
  const r = offset & 3
  return r === 0 ? key : Buffer.from([key[r], key[(r + 1) & 3], key[(r + 2) & 3], key[(r + 3) & 3]])
}

// The server frame header for a payload of `length` bytes, written at the start of out.
function serverHeader (out, first, length) {
  out[0] = first
  if (length < 126) {
    out[1] = length
    return 2
  }
  if (length < 65536) {
    out[1] = 126
    out.writeUInt16BE(length, 2)
    return 4
  }
  out[1] = 127
  out.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
  out.writeUInt32BE(length >>> 0, 6)
  return 10
}

// Reads frames from one socket; calls onFrame(out) with each complete server frame.
function frameReader (onFrame, onClose) {
  let head = Buffer.alloc(0) // an incomplete client header, at most 14 bytes
  let out = null // the server frame being filled
  let key = null
  let filled = 0 // payload bytes copied into out so far
  let start = 0 // where out's payload begins
  let length = 0

  return function read (chunk) {
    let at = 0
    while (at < chunk.length) {
      if (out === null) {
        const bytes = head.length ? Buffer.concat([head, chunk.subarray(at)]) : chunk.subarray(at)
        if (bytes.length < 2) { head = Buffer.from(bytes); return }
        const code = bytes[1] & 127
        const headerLength = 2 + (code === 126 ? 2 : code === 127 ? 8 : 0) + 4
        if (bytes.length < headerLength) { head = Buffer.from(bytes); return }
        length = code === 126 ? bytes.readUInt16BE(2) : code === 127 ? bytes.readUInt32BE(2) * 2 ** 32 + bytes.readUInt32BE(6) : code
        key = Buffer.from(bytes.subarray(headerLength - 4, headerLength))
        if ((bytes[0] & 15) === CLOSE) return onClose()
        out = Buffer.allocUnsafe(10 + length)
        start = serverHeader(out, bytes[0], length)
        out = out.subarray(0, start + length)
        filled = 0
        at += headerLength - head.length
        head = Buffer.alloc(0)
      }
      const take = Math.min(length - filled, chunk.length - at)
      if (take > 0) mask(chunk.subarray(at, at + take), keyAt(key, filled), out, start + filled, take)
      filled += take
      at += take
      if (filled === length) {
        const frame = out
        out = null
        onFrame(frame)
      }
    }
  }
}

// Serves the floor on an http(s) server's upgrades; every open socket gets each frame
// when `broadcast`, else its sender.
function attachFloor (server, { broadcast = false } = {}) {
  const open = new Set()
  server.on('upgrade', (request, socket, body) => {
    const accept = crypto.createHash('sha1').update(request.headers['sec-websocket-key'] + GUID).digest('base64')
    socket.setNoDelay(true)
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
    open.add(socket)
    const send = broadcast ? (frame) => { for (const peer of open) peer.write(frame) } : (frame) => socket.write(frame)
    const read = frameReader(send, () => { open.delete(socket); socket.end(Buffer.from([0x88, 0])) })
    const readCorked = (chunk) => {
      socket.cork()
      read(chunk)
      socket.uncork()
    }
    socket.on('data', readCorked)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => open.delete(socket))
    if (body && body.length) readCorked(body)
  })
}

module.exports = { attachFloor }
