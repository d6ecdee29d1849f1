'use strict'

// Long messages compressed on libuv's thread pool (lib/api.js _sendCompressedAway,
// src/binding/compression.rs): the event loop goes on while zlib works, and the
// wire shows nothing of it. Frames keep the order of the calls that sent them, a
// close waits for them as faye's does for its extensions, and a peer's close frame
// is answered after them.

const path = require('path')
const { Worker } = require('worker_threads')
const Native = require('..')
const pmd = require('permessage-deflate')
const F = require('./helpers/frames')
const D = require('./helpers/deflate')
const { startServer } = require('./helpers/server')
const { connectRaw } = require('./helpers/raw_peer')
const { closeAll } = require('./helpers/cleanup')
const { quietPeriod } = require('./helpers/wait')

afterEach(closeAll)

// Compressed away: at least 128 KiB (lib/api.js COMPRESS_AWAY_MIN).
const LONG = 300 * D.KiB

const isData = (frame) => frame.opcode === F.OPCODES.text || frame.opcode === F.OPCODES.binary
const expectBytes = (actual, expected) => expect(D.describeData(actual)).toEqual(D.describeData(expected))

async function openRaw (offer = 'permessage-deflate') {
  const server = await startServer({ WebSocket: Native, options: { extensions: [pmd] } })
  const peer = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': offer } })
  const connection = await server.nextConnection()
  await connection.waitOpen()
  return { server, peer, connection }
}

describe('long messages with permessage-deflate', () => {
  it('leave send() before they are compressed: bufferedAmount counts them until their frame is written', async () => {
    const { peer, connection } = await openRaw()
    const text = D.compressibleText(LONG)
    expect(connection.ws.send(text)).toBe(false) // over the socket's high-water mark, as a write would be
    expect(connection.ws.bufferedAmount).toBeGreaterThanOrEqual(LONG)
    const drained = new Promise((resolve) => connection.ws.once('drain', resolve))
    const frame = await peer.readFrame(isData)
    expect(frame).toMatchObject({ fin: true, rsv1: true, opcode: F.OPCODES.text, masked: false })
    expect(frame.payload.length).toBeLessThan(LONG / 5)
    expect(D.inflateMessage(frame.payload).toString('utf8')).toBe(text)
    await drained
    expect(connection.ws.bufferedAmount).toBeLessThan(LONG)
  })

  it('keep the order of the calls: short and long, text and binary, then close() after them all', async () => {
    const { peer, connection } = await openRaw()
    const sent = [
      D.compressibleText(LONG),
      'short after a long one',
      D.compressibleBytes(LONG + 1),
      D.randomBytes(200 * D.KiB, 7),
      'last'
    ]
    for (const message of sent) connection.ws.send(message)
    connection.ws.close(4001, 'done')
    const frames = []
    for (let i = 0; i < sent.length; i++) frames.push(await peer.readFrame(isData))
    const close = await peer.readFrame((frame) => frame.opcode === F.OPCODES.close)
    expect(close.payload).toEqual(F.closePayload(4001, 'done'))
    expect(frames.map((frame) => frame.opcode)).toEqual([1, 1, 2, 2, 1].map((op) => op === 1 ? F.OPCODES.text : F.OPCODES.binary))
    // One compression context across them all: each inflates only after the ones before.
    const inflated = D.inflateStream(frames.map((frame) => frame.payload))
    expectBytes(inflated, Buffer.concat(sent.map((message) => Buffer.from(message))))
  })

  it('are compressed on their own with server_no_context_takeover', async () => {
    const { peer, connection } = await openRaw('permessage-deflate; server_no_context_takeover')
    const sent = [D.compressibleText(LONG), D.compressibleText(LONG), 'short']
    for (const message of sent) connection.ws.send(message)
    for (const message of sent) {
      const frame = await peer.readFrame(isData)
      expect(D.inflateMessage(frame.payload).toString('utf8')).toBe(message)
    }
  })

  it('go out before the answer to a close frame the peer sent meanwhile, and "close" follows them', async () => {
    const { peer, connection } = await openRaw()
    // Random letters: zlib takes tens of milliseconds over a MiB of them, and the
    // peer's close frame arrives in the next read, while the reply is away.
    const text = D.randomText(D.MiB, 5)
    connection.ws.on('message', (event) => {
      if (event.data !== 'go') return
      connection.ws.send(text)
      peer.socket.write(F.close(1000, 'bye'))
    })
    peer.socket.write(F.text('go'))
    const frame = await peer.readFrame(isData)
    const close = await peer.readFrame((f) => f.opcode === F.OPCODES.close)
    expect(D.inflateMessage(frame.payload).toString('utf8')).toBe(text)
    expect(close.payload).toEqual(F.closePayload(1000, 'bye'))
    const event = await connection.waitClosed()
    expect(event.code).toBe(1000)
    expect(connection.sequence()).toEqual(['open', 'message:go', 'end', 'close:1000:bye'])
  })

  it('go out before the answer to the peer\'s close, whichever close() of ours waits with it', async () => {
    const { peer, connection } = await openRaw()
    const text = D.randomText(2 * D.MiB, 6)
    connection.ws.on('message', (event) => {
      if (event.data !== 'go') return
      connection.ws.send(text)
      connection.ws.close(4000, 'ours, before the peer\'s close arrives')
      peer.socket.write(F.close(1000, 'bye'))
      // After the peer's close was read, while the message is still being compressed.
      setTimeout(() => connection.ws.close(4001, 'ours, after it arrived'), 15)
    })
    peer.socket.write(F.text('go'))
    const frame = await peer.readFrame(isData)
    const close = await peer.readFrame((f) => f.opcode === F.OPCODES.close)
    expect(D.inflateMessage(frame.payload).toString('utf8')).toBe(text)
    expect(close.payload).toEqual(F.closePayload(1000, 'bye'))
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(['open', 'message:go', 'end', 'close:1000:bye'])
    await quietPeriod(50)
    expect(peer.frames.filter((f) => f.opcode === F.OPCODES.close)).toHaveLength(1)
  })

  it('are dropped, like any send, when the TCP connection is gone before they are compressed', async () => {
    const { peer, connection } = await openRaw()
    connection.ws.send(D.compressibleText(LONG))
    connection.ws.send('after')
    peer.socket.destroy()
    await connection.waitClosed()
    expect(connection.ws.send('later')).toBe(false)
    await quietPeriod(50)
    // Whether the frame's write or the end of the connection is seen first is up to
    // the kernel: a write first fails with a network error, as any write would.
    const sequence = connection.sequence()
    const errors = sequence.filter((entry) => entry.startsWith('error:'))
    for (const error of errors) expect(error).toMatch(/^error:Network error: .*(EPIPE|ECONNRESET)/)
    expect(sequence.filter((entry) => !entry.startsWith('error:'))).toEqual(['open', 'end', 'close:1006:'])
  })

  it('are compressed away by a client too, masked, and a ws server inflates them', async () => {
    const server = await D.startWsDeflateServer(true)
    const client = D.openClient(Native.Client, server.url, [], { extensions: [pmd] })
    await client.waitOpen()
    const text = D.compressibleText(LONG)
    client.ws.send(text)
    client.ws.send(Buffer.from('binary after'))
    const connection = await server.nextConnection()
    const first = await connection.messages.next()
    const second = await connection.messages.next()
    expect(first.isBinary).toBe(false)
    expect(first.data.toString('utf8')).toBe(text)
    expect(second).toEqual({ data: Buffer.from('binary after'), isBinary: true })
    expect(await client.messages.next()).toBe(text)
  })

  it('being compressed when their worker thread is terminated take nothing else down', async () => {
    const server = await D.startWsDeflateServer(true)
    const packageDir = path.join(__dirname, '..')
    for (let round = 0; round < 6; round++) {
      const worker = new Worker(`
        const WebSocket = require(${JSON.stringify(packageDir)})
        const { parentPort } = require('worker_threads')
        const client = new WebSocket.Client(${JSON.stringify(server.url)}, [], { extensions: [WebSocket.deflate] })
        client.on('open', () => {
          for (let i = 0; i < 4; i++) client.send('abcdefghij'.repeat(30000 + i))
          parentPort.postMessage('sent')
        })
      `, { eval: true })
      await new Promise((resolve) => worker.once('message', resolve))
      await worker.terminate()
    }
    // This thread's connections still compress long messages away and back.
    const client = D.openClient(Native.Client, server.url, [], { extensions: [pmd] })
    await client.waitOpen()
    const text = D.compressibleText(LONG)
    client.ws.send(text)
    expect(await client.messages.next()).toBe(text)
  })
})
