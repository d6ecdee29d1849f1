'use strict'

// WebSocket.Client round trips against a `ws` echo server, and the client as
// a Node stream (it is a duplex Stream, as faye's is).

const { Readable, Writable } = require('stream')
const { startWsServer, echo } = require('./helpers/ws_server')
const { openClient } = require('./helpers/client_socket')
const { withGuard, deferred } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const MiB = 1024 * 1024

async function openEcho () {
  const server = await startWsServer({ setup: echo })
  const client = openClient(`${server.url}/`)
  await client.waitOpen()
  return { server, client }
}

describe('echo through a ws server', () => {
  it('text with emoji, CJK and other multi-byte UTF-8 comes back as the same string', async () => {
    const { client } = await openEcho()
    const text = 'héllo — 日本語 中文 한국어 · Ελληνικά · 🎉👍🏽👨‍👩‍👧 · \u0000 · \uffff'
    client.ws.send(text)
    expect(await client.messages.next()).toBe(text)
  })

  it('binary with all 256 byte values comes back as a Buffer', async () => {
    const { client } = await openEcho()
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    client.ws.send(bytes)
    const reply = await client.messages.next()
    expect(Buffer.isBuffer(reply)).toBe(true)
    expect(reply.equals(bytes)).toBe(true)
  })

  it('empty text and empty binary messages keep their types', async () => {
    const { client } = await openEcho()
    client.ws.send('')
    client.ws.send(Buffer.alloc(0))
    expect(await client.messages.next()).toBe('')
    const empty = await client.messages.next()
    expect(Buffer.isBuffer(empty) && empty.length).toBe(0)
  })

  it('1 MiB of text and 1 MiB of binary', async () => {
    const { client } = await openEcho()
    const text = '日本🎉ab'.repeat(Math.ceil(MiB / 12)) // 12 bytes of UTF-8 each: just over 1 MiB
    const bytes = Buffer.alloc(MiB)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff
    client.ws.send(text)
    client.ws.send(bytes)
    const replyText = await client.messages.next()
    expect(Buffer.byteLength(replyText)).toBeGreaterThan(MiB)
    expect(replyText === text).toBe(true)
    const replyBytes = await client.messages.next()
    expect(replyBytes.equals(bytes)).toBe(true)
  })

  it('many messages come back in order', async () => {
    const { client } = await openEcho()
    const sent = Array.from({ length: 200 }, (_, i) => (i % 2 ? `text ${i}` : Buffer.from(`binary ${i}`)))
    for (const message of sent) client.ws.send(message)
    const received = []
    for (let i = 0; i < sent.length; i++) received.push(await client.messages.next())
    expect(received.map(String)).toEqual(sent.map(String))
    expect(received.map(Buffer.isBuffer)).toEqual(sent.map(Buffer.isBuffer))
  })

  it('send() stringifies what is not a Buffer', async () => {
    const { client } = await openEcho()
    client.ws.send(13)
    client.ws.send(false)
    client.ws.send([13, 14, 15])
    const replies = [await client.messages.next(), await client.messages.next(), await client.messages.next()]
    expect(replies).toEqual(['13', 'false', '13,14,15'])
  })
})

describe('the client as a stream', () => {
  it('pipes a Readable into the client: each chunk becomes a message, then the client closes', async () => {
    const server = await startWsServer()
    const client = openClient(`${server.url}/`)
    await client.waitOpen()
    const connection = await server.nextConnection()
    Readable.from(['one', 'two', Buffer.from('three')]).pipe(client.ws)
    const got = [await connection.messages.next(), await connection.messages.next(), await connection.messages.next()]
    expect(got.map((m) => [m.isBinary, m.data.toString()])).toEqual([[false, 'one'], [false, 'two'], [true, 'three']])
    expect(await connection.waitClosed()).toEqual({ code: 1000, reason: '' })
    await client.waitClosed()
  })

  it("pipes the client into a Writable: each message is a chunk, and the Writable ends at 'close'", async () => {
    const server = await startWsServer({
      setup: (ws) => {
        ws.send('a')
        ws.send(Buffer.from('b'))
        ws.send('c')
        ws.close(1000)
      }
    })
    const client = openClient(`${server.url}/`)
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
    client.ws.pipe(sink)
    await withGuard(finished.promise, "the Writable's finish")
    expect(received.map((c) => (Buffer.isBuffer(c) ? `buf:${c}` : c))).toEqual(['a', 'buf:b', 'c'])
    await client.waitClosed()
  })

  it('client.pipe(client) sends back what the server sends', async () => {
    const server = await startWsServer({ setup: (ws) => ws.send('boomerang') })
    const client = openClient(`${server.url}/`)
    client.ws.pipe(client.ws)
    const connection = await server.nextConnection()
    const back = await connection.messages.next()
    expect([back.isBinary, back.text]).toEqual([false, 'boomerang'])
  })

  it('is readable and writable from construction until close', async () => {
    const server = await startWsServer({ setup: (ws) => ws.close() })
    const client = openClient(`${server.url}/`)
    const flags = { constructed: [client.ws.readable, client.ws.writable] }
    client.ws.on('close', () => { flags.atClose = [client.ws.readable, client.ws.writable] })
    await client.waitClosed()
    expect(flags).toEqual({ constructed: [true, true], atClose: [false, false] })
  })
})
