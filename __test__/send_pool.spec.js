'use strict'

// Small frames are written as slices of a shared pool (lib/frame_pool.js): slices
// waiting in a socket's queue keep their bytes when the pool moves on, and text whose
// UTF-8 outgrows the room left in the pool still goes out whole.

const { openRaw } = require('./helpers/server')
const F = require('./helpers/frames')
const { closeAll } = require('./helpers/cleanup')
const framePool = require('../lib/frame_pool')

afterEach(closeAll)

async function readFrames (peer, count) {
  const out = []
  for (let i = 0; i < count; i++) out.push(await peer.readFrame())
  return out
}

test('messages sent past the end of many pools arrive whole and in order, while the socket queues them', async () => {
  const { peer, connection, ws } = await openRaw()
  peer.socket.pause()
  const sent = []
  for (let i = 0; i < 4000; i++) {
    // Up to 2,044 characters (4,084 bytes): all pooled, about 8 MB in all.
    const body = `${i}:` + 'é€x'.repeat(i % 681)
    sent.push(i % 3 === 0 ? Buffer.from(body) : body)
  }
  for (const message of sent) ws.send(message)
  // Hundreds of pools' worth, more than the kernel takes while the peer is not reading.
  expect(connection.socket.writableLength).toBeGreaterThan(0)
  peer.socket.resume()
  const frames = await readFrames(peer, sent.length)
  frames.forEach((frame, i) => {
    expect(frame.opcode).toBe(typeof sent[i] === 'string' ? F.OPCODES.text : F.OPCODES.binary)
    expect(frame.payload.toString()).toBe(sent[i].toString())
  })
})

// A slice in a socket's queue keeps its whole pool alive until the peer reads; a
// frame that joins a backlog is copied out instead (lib/api.js, _writePooled), so a
// slow peer holds its own bytes, not pools shared with every other connection.
test('frames that join a slow peer\'s backlog hold their own bytes, not a pool', async () => {
  const { peer, connection, ws } = await openRaw()
  peer.socket.pause()
  const socket = connection.socket
  const sent = []
  // Until the kernel's buffers are full and the socket starts queueing.
  while (socket.writableLength === 0 && sent.length < 100000) {
    sent.push(`filler ${sent.length} ` + 'x'.repeat(1000))
    ws.send(sent[sent.length - 1])
  }
  expect(socket.writableLength).toBeGreaterThan(0)
  for (let i = 0; i < 50; i++) {
    sent.push(`queued ${i}`)
    ws.send(sent[sent.length - 1])
    ws.send(sent[sent.length - 1]) // the same string again: the repeated-frame path
    sent.push(sent[sent.length - 1])
  }
  const queued = socket._writableState.getBuffer().map((request) => request.chunk)
  expect(queued.length).toBeGreaterThanOrEqual(100)
  for (const chunk of queued) expect(chunk.buffer.byteLength).toBe(chunk.length)
  peer.socket.resume()
  const frames = await readFrames(peer, sent.length)
  frames.forEach((frame, i) => expect(frame.payload.toString()).toBe(sent[i]))
})

// Sends ASCII messages until exactly `room` bytes are left in the current pool. Each
// differs from the one before (its last letter): the same string sent again would
// reuse its frame, taking no room (lib/api.js, repeatedText).
function leaveRoom (ws, room) {
  const space = () => framePool.POOL_SIZE - framePool.offset
  let last = 'b'
  const fill = (frameLength) => {
    last = last === 'b' ? 'c' : 'b'
    ws.send('a'.repeat((frameLength <= 127 ? frameLength - 2 : frameLength - 4) - 1) + last)
  }
  if (framePool.buffer === null || space() < room + 300) fill(4000)
  while (space() - room > 4100) fill(4004)
  // Frames of 128 and 129 bytes cannot be made: go through a smaller one first.
  if (space() - room === 128 || space() - room === 129) fill(100)
  fill(space() - room)
  expect(space()).toBe(room)
}

test('text whose UTF-8 does not fit in the room the pool has left is still sent whole, in order', async () => {
  const { peer, ws } = await openRaw()
  const wide = '€'.repeat(100) // 100 characters, 300 bytes
  leaveRoom(ws, 200)
  const poolBefore = framePool.buffer
  const offsetBefore = framePool.offset
  ws.send(wide)
  // It did not go into the pool...
  expect(framePool.buffer).toBe(poolBefore)
  expect(framePool.offset).toBe(offsetBefore)
  ws.send('after')
  const frames = []
  for (;;) {
    const frame = await peer.readFrame()
    if (frame.payload.length >= 100 && frame.payload.subarray(0, -1).every((b) => b === 0x61)) continue
    frames.push(frame.payload.toString())
    if (frames.length === 2) break
  }
  // ...and still went out, before the message sent after it.
  expect(frames).toEqual([wide, 'after'])
})
