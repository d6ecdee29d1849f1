'use strict'

// The server socket as a Node stream (faye's WebSocket is a duplex Stream).

const { Readable, Writable } = require('stream')
const { startServer, openRaw } = require('./helpers/server')
const { connectClient } = require('./helpers/client')
const F = require('./helpers/frames')
const { withGuard, deferred, quietPeriod } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

async function openPair (serverOptions = {}) {
  const server = await startServer(serverOptions)
  const client = connectClient(`${server.url}/`)
  const connection = await server.nextConnection()
  await Promise.all([client.opened, connection.waitOpen()])
  return { server, client, connection, ws: connection.ws }
}

it('is readable and writable from construction until close', async () => {
  const flags = {}
  const server = await startServer({
    setup: (ws) => {
      flags.constructed = [ws.readable, ws.writable]
      ws.on('close', () => { flags.atClose = [ws.readable, ws.writable] })
    }
  })
  const client = connectClient(`${server.url}/`)
  const connection = await server.nextConnection()
  await connection.waitOpen()
  flags.open = [connection.ws.readable, connection.ws.writable]
  client.ws.close()
  await connection.waitClosed()
  expect(flags).toEqual({ constructed: [true, true], open: [true, true], atClose: [false, false] })
})

it('echoes through ws.pipe(ws)', async () => {
  const { client } = await openPair({ setup: (ws) => ws.pipe(ws) })
  client.ws.send('round')
  client.ws.send(Buffer.from([9, 8, 7]))
  expect((await client.messages.next()).text).toBe('round')
  const binary = await client.messages.next()
  expect([binary.isBinary, [...binary.data]]).toEqual([true, [9, 8, 7]])
})

it("emits 'data' with each message's data (String for text, Buffer for binary)", async () => {
  const { client, ws } = await openPair()
  const chunks = []
  const two = deferred()
  ws.on('data', (data) => {
    chunks.push(data)
    if (chunks.length === 2) two.resolve()
  })
  client.ws.send('text data')
  client.ws.send(Buffer.from('binary data'))
  await withGuard(two.promise, "two 'data' events")
  expect(chunks[0]).toBe('text data')
  expect(Buffer.isBuffer(chunks[1])).toBe(true)
  expect(chunks[1].toString()).toBe('binary data')
})

it('write() sends like send() and returns a boolean', async () => {
  const { client, ws } = await openPair()
  expect(typeof ws.write('written')).toBe('boolean')
  ws.write(Buffer.from('bytes'))
  const first = await client.messages.next()
  const second = await client.messages.next()
  expect([first.isBinary, first.text]).toEqual([false, 'written'])
  expect([second.isBinary, second.data.toString()]).toEqual([true, 'bytes'])
})

it('end(data) sends the data, then closes with 1000', async () => {
  const { client, connection, ws } = await openPair()
  ws.end('last words')
  expect((await client.messages.next()).text).toBe('last words')
  expect(await client.waitClosed()).toEqual({ code: 1000, reason: '' })
  await connection.waitClosed()
})

it('end() with no data just closes', async () => {
  const { client, ws } = await openPair()
  ws.end()
  expect(await client.waitClosed()).toEqual({ code: 1000, reason: '' })
  expect(client.messages.all).toEqual([])
})

it('pipes a Readable into the socket: every chunk becomes a message, then the socket closes', async () => {
  const { client, ws } = await openPair()
  Readable.from(['one', 'two', Buffer.from('three')]).pipe(ws)
  const got = [await client.messages.next(), await client.messages.next(), await client.messages.next()]
  expect(got.map((m) => [m.isBinary, m.data.toString()])).toEqual([[false, 'one'], [false, 'two'], [true, 'three']])
  expect(await client.waitClosed()).toEqual({ code: 1000, reason: '' })
})

it('pipes the socket into a Writable, which ends when the socket closes', async () => {
  const { client, ws } = await openPair()
  const received = []
  const sink = new Writable({
    objectMode: true,
    write (chunk, _encoding, callback) {
      received.push(chunk)
      callback()
    }
  })
  const finished = deferred()
  sink.on('finish', () => finished.resolve())
  ws.pipe(sink)
  client.ws.send('a')
  client.ws.send(Buffer.from('b'))
  client.ws.send('c')
  client.ws.close(1000)
  await withGuard(finished.promise, "the Writable's finish")
  expect(received.map((c) => (Buffer.isBuffer(c) ? `buf:${c}` : c))).toEqual(['a', 'buf:b', 'c'])
})

describe("'end' fires just before 'close'", () => {
  const paths = [
    ['the client closes', async ({ peer }) => peer.write(F.close(1000, 'x'))],
    ['the server closes', async ({ peer, ws }) => {
      ws.close()
      await peer.readClose()
      peer.write(F.close(1000))
    }],
    ['a protocol error', async ({ peer }) => peer.write(F.frame({ opcode: 3 }))],
    ['the TCP connection drops', async ({ peer }) => peer.destroy()]
  ]

  it.each(paths)('when %s', async (_name, act) => {
    const pair = await openRaw()
    const order = []
    pair.ws.on('end', () => order.push('end'))
    pair.ws.on('close', () => order.push('close'))
    await act(pair)
    await pair.connection.waitClosed()
    expect(order).toEqual(['end', 'close'])
    const log = pair.connection.sequence()
    expect(log.slice(-2)[0]).toBe('end')
    expect(log.filter((e) => e === 'end')).toHaveLength(1)
  })
})

describe('pause() and resume()', () => {
  it('stop delivering messages while paused and deliver them, in order, on resume', async () => {
    const { peer, connection, ws } = await openRaw()
    ws.pause()
    // faye applies backpressure at the TCP level: the chunk already being
    // read when pause() takes effect may still be delivered, later ones are
    // not. So: one write that may slip through, then writes that must wait.
    peer.write(F.text('a'))
    await quietPeriod(50) // separates the TCP reads, not a wait for an event
    peer.write(F.text('b'))
    peer.write(F.text('c'))
    await quietPeriod(100) // negative window: nothing more may arrive while paused
    const whilePaused = connection.messages.all.slice()
    expect(whilePaused.length).toBeLessThanOrEqual(1)
    expect(whilePaused).toEqual(['a'].slice(0, whilePaused.length))
    ws.resume()
    while (connection.messages.all.length < 3) await connection.messages.next()
    expect(connection.messages.all).toEqual(['a', 'b', 'c'])
  })
})
