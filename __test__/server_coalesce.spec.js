'use strict'

// Replies made while one read's messages are dispatched leave together: the frames
// are written once, at the end of the read, in the order they were sent, with pongs
// and close frames in their place among them. Until then they count in
// bufferedAmount and in send()'s backpressure answer, as bytes in a socket would.
// (faye-websocket writes each frame on its own, and its bufferedAmount and 'drain'
// follow the socket only: the first and last tests fail under WS_IMPL=faye.)

const { openRaw } = require('./helpers/server')
const F = require('./helpers/frames')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const text = (payload) => F.frame({ opcode: 'text', payload })

// Counts the server socket's reads and writes from now on.
function countIo (socket) {
  const counts = { reads: 0, writes: 0 }
  socket.on('data', () => { counts.reads += 1 })
  const write = socket.write
  socket.write = function (...args) {
    counts.writes += 1
    return write.apply(this, args)
  }
  return counts
}

async function readTexts (peer, count) {
  const out = []
  for (let i = 0; i < count; i++) out.push((await peer.readFrame()).payload.toString())
  return out
}

describe('replies to the messages of one read', () => {
  test('go out in order, in one socket write per read', async () => {
    const { peer, connection, ws } = await openRaw()
    ws.on('message', (event) => ws.send('echo:' + event.data))
    const io = countIo(connection.socket)
    const messages = Array.from({ length: 20 }, (_, i) => `m${i}`)
    peer.socket.write(Buffer.concat(messages.map(text)))
    expect(await readTexts(peer, 20)).toEqual(messages.map((m) => 'echo:' + m))
    expect(io.reads).toBeGreaterThan(0)
    expect(io).toEqual({ reads: io.reads, writes: io.reads })
  })

  test('a ping in the middle is answered in its place', async () => {
    const { peer, ws } = await openRaw()
    ws.on('message', (event) => ws.send('echo:' + event.data))
    peer.socket.write(Buffer.concat([text('a'), text('b'), F.frame({ opcode: 'ping', payload: 'p' }), text('c')]))
    const frames = []
    for (let i = 0; i < 4; i++) {
      const frame = await peer.readFrame()
      frames.push(`${frame.opcode}:${frame.payload.toString()}`)
    }
    expect(frames).toEqual([`${F.OPCODES.text}:echo:a`, `${F.OPCODES.text}:echo:b`, `${F.OPCODES.pong}:p`, `${F.OPCODES.text}:echo:c`])
  })

  test('close() after sends in a handler: the sends precede the close frame', async () => {
    const { peer, ws, connection } = await openRaw()
    ws.on('message', () => {
      ws.send('one')
      ws.send('two')
      ws.close(4000, 'done')
    })
    peer.socket.write(text('go'))
    expect(await readTexts(peer, 2)).toEqual(['one', 'two'])
    const close = await peer.readFrame()
    expect(close.opcode).toBe(F.OPCODES.close)
    expect(close.payload.readUInt16BE(0)).toBe(4000)
    peer.socket.write(F.frame({ opcode: 'close', payload: F.closePayload(4000, 'done') }))
    expect((await connection.waitClosed()).code).toBe(4000)
  })

  test('a reply to a message read together with a protocol error is still written, before the close frame', async () => {
    const { peer, ws, connection } = await openRaw()
    ws.on('message', (event) => ws.send('echo:' + event.data))
    // Opcode 3 is reserved: 1002 after the message before it.
    peer.socket.write(Buffer.concat([text('last'), F.frame({ opcode: 3, payload: 'x' })]))
    expect(await readTexts(peer, 1)).toEqual(['echo:last'])
    const close = await peer.readFrame()
    expect(close.opcode).toBe(F.OPCODES.close)
    expect(close.payload.readUInt16BE(0)).toBe(1002)
    expect((await connection.waitClosed()).code).toBe(1002)
  })

  test('a large message between small ones, sent as a header and the caller\'s own bytes, keeps its place', async () => {
    const { peer, ws } = await openRaw()
    const large = Buffer.alloc(100 * 1024)
    for (let i = 0; i < large.length; i++) large[i] = (i * 31) & 0xff
    const largeText = 'é€'.repeat(20000)
    const largeAscii = 'ascii '.repeat(20000)
    ws.on('message', (event) => {
      if (event.data !== 'go') return
      ws.send('before')
      ws.send(large)
      ws.send(largeText)
      ws.send(largeAscii)
      ws.send('after')
    })
    peer.socket.write(Buffer.concat([text('go'), text('gathered with this one')]))
    const frames = []
    for (let i = 0; i < 5; i++) frames.push(await peer.readFrame())
    expect(frames.map((f) => f.opcode)).toEqual([F.OPCODES.text, F.OPCODES.binary, F.OPCODES.text, F.OPCODES.text, F.OPCODES.text])
    expect(frames[0].payload.toString()).toBe('before')
    expect(frames[1].payload.equals(large)).toBe(true)
    expect(frames[2].payload.toString()).toBe(largeText)
    expect(frames[3].payload.toString()).toBe(largeAscii)
    expect(frames[4].payload.toString()).toBe('after')
  })

  test('sends in a handler count in bufferedAmount and report backpressure past the high-water mark', async () => {
    const { peer, ws, connection } = await openRaw()
    const seen = []
    ws.on('message', (event) => {
      if (event.data !== 'go') return
      const before = ws.bufferedAmount
      const small = ws.send('hello')
      seen.push({ small, smallBytes: ws.bufferedAmount - before })
      const large = ws.send(Buffer.alloc(connection.socket.writableHighWaterMark * 4, 7))
      seen.push({ large, buffered: ws.bufferedAmount >= connection.socket.writableHighWaterMark * 4 })
    })
    const drained = new Promise((resolve) => ws.on('drain', resolve))
    // Two messages in one read: replies are gathered only where there is more than
    // one event to dispatch.
    peer.socket.write(Buffer.concat([text('go'), text('then')]))
    expect((await peer.readFrame()).payload.toString()).toBe('hello')
    expect((await peer.readFrame()).payload.length).toBe(connection.socket.writableHighWaterMark * 4)
    await drained
    // 'hello' as an unmasked frame is 2 + 5 bytes.
    expect(seen).toEqual([{ small: true, smallBytes: 7 }, { large: false, buffered: true }])
  })
})
