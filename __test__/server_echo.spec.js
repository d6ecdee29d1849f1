'use strict'

// The faye README echo server, in both of its forms, driven by the `ws`
// package as an independent client.

const { startServer } = require('./helpers/server')
const { connectClient } = require('./helpers/client')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const MiB = 1024 * 1024

const forms = [
  ['a message listener (ws.send(event.data))', (ws) => ws.on('message', (event) => ws.send(event.data))],
  ['ws.pipe(ws)', (ws) => ws.pipe(ws)]
]

describe.each(forms)('echo server using %s', (_name, echo) => {
  async function openEcho () {
    const server = await startServer({ setup: echo })
    const client = connectClient(`${server.url}/`)
    await client.opened
    return { server, client }
  }

  it('echoes ASCII text as a text message', async () => {
    const { client } = await openEcho()
    client.ws.send('Hello, world!')
    const reply = await client.messages.next()
    expect(reply.isBinary).toBe(false)
    expect(reply.text).toBe('Hello, world!')
  })

  it('echoes multi-byte UTF-8 and emoji unchanged', async () => {
    const { client } = await openEcho()
    const text = 'héllo wörld — 日本語 · Ελληνικά · 🎉👍🏽👨‍👩‍👧 · \u0000 · \uffff'
    client.ws.send(text)
    const reply = await client.messages.next()
    expect(reply.isBinary).toBe(false)
    expect(reply.text).toBe(text)
    expect(reply.data.equals(Buffer.from(text, 'utf8'))).toBe(true)
  })

  it('echoes a binary Buffer (all 256 byte values) as a binary message', async () => {
    const { client } = await openEcho()
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    client.ws.send(bytes)
    const reply = await client.messages.next()
    expect(reply.isBinary).toBe(true)
    expect(reply.data.equals(bytes)).toBe(true)
  })

  it('echoes empty text and empty binary messages with their types', async () => {
    const { client } = await openEcho()
    client.ws.send('')
    client.ws.send(Buffer.alloc(0))
    const first = await client.messages.next()
    const second = await client.messages.next()
    expect(first).toEqual({ data: Buffer.alloc(0), isBinary: false, text: '' })
    expect(second).toEqual({ data: Buffer.alloc(0), isBinary: true, text: null })
  })

  it('echoes 1 MiB text and 1 MiB binary messages intact', async () => {
    const { client } = await openEcho()
    const text = 'abcdefghijklmnop€'.repeat(Math.ceil(MiB / 19)).slice(0, MiB)
    const bytes = Buffer.alloc(MiB)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff
    client.ws.send(text)
    client.ws.send(bytes)
    const first = await client.messages.next()
    const second = await client.messages.next()
    expect(first.isBinary).toBe(false)
    expect(first.text.length).toBe(text.length)
    expect(first.text === text).toBe(true)
    expect(second.isBinary).toBe(true)
    expect(second.data.length).toBe(MiB)
    expect(second.data.equals(bytes)).toBe(true)
  })

  it('echoes 1000 interleaved text and binary messages in order', async () => {
    const { client } = await openEcho()
    const sent = []
    for (let i = 0; i < 1000; i++) {
      const message = i % 3 === 0 ? Buffer.from(`bin-${i}`) : `text-${i}`
      sent.push(message)
      client.ws.send(message)
    }
    for (let i = 0; i < sent.length; i++) {
      const reply = await client.messages.next()
      if (Buffer.isBuffer(sent[i])) {
        expect(reply.isBinary).toBe(true)
        expect(reply.data.toString()).toBe(sent[i].toString())
      } else {
        expect(reply.isBinary).toBe(false)
        expect(reply.text).toBe(sent[i])
      }
    }
  })

  it('answers a client close with the same code and reason and reports it', async () => {
    const { server, client } = await openEcho()
    const connection = await server.nextConnection()
    client.ws.close(4000, 'done here')
    const [clientClose, serverClose] = await Promise.all([client.waitClosed(), connection.waitClosed()])
    expect(clientClose).toEqual({ code: 4000, reason: 'done here' })
    expect(serverClose.code).toBe(4000)
    expect(serverClose.reason).toBe('done here')
  })
})

it('ignores a permessage-deflate offer when no extension is configured', async () => {
  const server = await startServer({ setup: (ws) => ws.pipe(ws) })
  const client = connectClient(`${server.url}/`, [], { perMessageDeflate: true })
  const response = await client.upgrade
  await client.opened
  expect(response.headers['sec-websocket-extensions']).toBeUndefined()
  expect(client.ws.extensions).toBe('')
  client.ws.send('still plain')
  expect((await client.messages.next()).text).toBe('still plain')
})
