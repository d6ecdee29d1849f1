'use strict'

// permessage-deflate interop with faye-websocket 0.11.4 + permessage-deflate
// 0.1.7 (the implementation this package replaces), and between this
// package's own server and client:
//   faye client  -> our server
//   our client   -> faye server
//   our client   -> our server, with WebSocket.deflate and configured variants
// Every message is echoed and checked byte for byte on both sides.

const Native = require('..')
const Faye = require('faye-websocket')
const pmd = require('permessage-deflate')
const { startServer } = require('./helpers/server')
const { closeAll } = require('./helpers/cleanup')
const D = require('./helpers/deflate')

afterEach(closeAll)

const expectSameData = (actual, expected) => expect(D.describeData(actual)).toEqual(D.describeData(expected))

function echoServer (WebSocket, extension) {
  return startServer({
    WebSocket,
    options: { extensions: [extension] },
    setup: (ws) => ws.on('message', (event) => ws.send(event.data))
  })
}

// Opens `Client` against an echo server running `WebSocket`; returns both ends.
async function pair (WebSocket, serverExtension, Client, clientExtension) {
  const server = await echoServer(WebSocket, serverExtension)
  const client = D.openClient(Client, server.url, [], { extensions: [clientExtension] })
  const connection = await server.nextConnection()
  await client.waitOpen()
  await connection.waitOpen()
  return { server, client, connection }
}

// Client sends, server receives and echoes, client receives: both checked.
// Returns the bytes the client wrote and read for this message.
async function roundTrip ({ client, connection }, data) {
  const socket = client.ws._stream
  const before = { written: socket.bytesWritten, read: socket.bytesRead }
  const reply = client.messages.next(15000)
  client.ws.send(data)
  expectSameData(await connection.messages.next(15000), data)
  expectSameData(await reply, data)
  return { sent: socket.bytesWritten - before.written, received: socket.bytesRead - before.read }
}

function extensionHeader (client) {
  return client.ws.headers['sec-websocket-extensions']
}

const sizes = [1, D.KiB, 64 * D.KiB, D.MiB]

const pairings = [
  ['faye client + permessage-deflate -> our server', () => pair(Native, pmd, Faye.Client, pmd)],
  ['our client -> faye server + permessage-deflate', () => pair(Faye, pmd, Native.Client, pmd)],
  ['our client -> our server, WebSocket.deflate', () => pair(Native, Native.deflate, Native.Client, Native.deflate)]
]

describe.each(pairings)('%s', (_label, connect) => {
  it('negotiates permessage-deflate and compresses both ways', async () => {
    const ends = await connect()
    expect(extensionHeader(ends.client)).toBe('permessage-deflate')
    const { sent, received } = await roundTrip(ends, D.compressibleText(64 * D.KiB))
    expect(sent).toBeLessThan(4 * D.KiB)
    expect(received).toBeLessThan(4 * D.KiB)
  })

  it('empty messages between others keep the shared window intact', async () => {
    const ends = await connect()
    for (const data of ['Hello', '', Buffer.alloc(0), '', 'Hello, Hello']) await roundTrip(ends, data)
  })

  it.each(sizes)('%i bytes: text and binary, compressible and random', async (size) => {
    const ends = await connect()
    for (const { data } of D.messagesOfSize(size)) await roundTrip(ends, data)
    expect(ends.connection.sequence().filter((e) => !e.startsWith('message:'))).toEqual(['open'])
    expect(ends.client.sequence().filter((e) => !e.startsWith('message:'))).toEqual(['open'])
  })

  it('16 MiB messages, random binary and compressible text', async () => {
    const ends = await connect()
    const [random, text] = D.hugeMessages()
    const r = await roundTrip(ends, random.data)
    expect(r.received).toBeGreaterThan(16 * D.MiB)
    const t = await roundTrip(ends, text.data)
    expect(t.sent).toBeLessThan(D.MiB)
    expect(t.received).toBeLessThan(D.MiB)
  }, 30000)
})

// Our server and client with configured extensions. The response our client
// gets from our server must be the one faye's client gets from faye's server
// with permessage-deflate configured the same way.
const configured = [
  // [label, server options, client options, expected response, compresses]
  ['defaults', {}, {}, 'permessage-deflate', true],
  ['window bits on both sides', { maxWindowBits: 9, requestMaxWindowBits: 8 }, { maxWindowBits: 10, requestMaxWindowBits: 9 },
    'permessage-deflate; server_max_window_bits=9; client_max_window_bits=8', true],
  ['server drops context and asks the client to', { noContextTakeover: true, requestNoContextTakeover: true }, {},
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover', true],
  ['client drops context and asks the server to', {}, { noContextTakeover: true, requestNoContextTakeover: true },
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover', true],
  ['everything at once', { noContextTakeover: true, maxWindowBits: 12, requestMaxWindowBits: 11, level: 9 },
    { noContextTakeover: true, requestNoContextTakeover: true, maxWindowBits: 13, requestMaxWindowBits: 10, level: 1 },
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11', true],
  ['level 0 (stored blocks) on both sides', { level: 0 }, { level: 0 }, 'permessage-deflate', false],
  ['memLevel and strategy (Z_FILTERED) on both sides', { memLevel: 1, strategy: 1 }, { memLevel: 9, strategy: 1 }, 'permessage-deflate', true]
]

describe('our client -> our server with configured extensions', () => {
  const variants = [
    ['WebSocket.deflate.configure', (options) => Native.deflate.configure({ ...options })],
    ['permessage-deflate configure', (options) => pmd.configure({ ...options })]
  ]
  describe.each(variants)('%s', (_variant, configure) => {
    it.each(configured)('%s', async (_label, serverOptions, clientOptions, expectedResponse, compresses) => {
      const reference = await pair(Faye, pmd.configure({ ...serverOptions }), Faye.Client, pmd.configure({ ...clientOptions }))
      const ends = await pair(Native, configure(serverOptions), Native.Client, configure(clientOptions))

      expect(extensionHeader(ends.client)).toBe(extensionHeader(reference.client))
      expect(extensionHeader(ends.client)).toBe(expectedResponse)

      for (const { data } of D.messagesOfSize(64 * D.KiB)) await roundTrip(ends, data)
      const { sent, received } = await roundTrip(ends, D.compressibleText(64 * D.KiB))
      if (compresses) {
        expect(sent).toBeLessThan(32 * D.KiB)
        expect(received).toBeLessThan(32 * D.KiB)
      } else {
        // stored blocks: the payload plus block headers
        expect(sent).toBeGreaterThan(64 * D.KiB)
        expect(received).toBeGreaterThan(64 * D.KiB)
      }
    })
  })

  it('strategy reaches zlib: Huffman-only and RLE find fewer matches than the default', async () => {
    const sent = {}
    for (const [label, options] of [['default', {}], ['huffman', { strategy: 2 }], ['rle', { strategy: 3 }]]) {
      const ends = await pair(Native, Native.deflate, Native.Client, Native.deflate.configure(options))
      sent[label] = (await roundTrip(ends, D.compressibleText(64 * D.KiB))).sent
    }
    expect(sent.huffman).toBeGreaterThan(sent.default * 4)
    expect(sent.rle).toBeGreaterThan(sent.default * 4)
    expect(sent.huffman).toBeLessThan(64 * D.KiB)
  })

  it('the client may use permessage-deflate while the server uses WebSocket.deflate, and the other way round', async () => {
    for (const [serverExtension, clientExtension] of [[Native.deflate, pmd], [pmd, Native.deflate]]) {
      const ends = await pair(Native, serverExtension, Native.Client, clientExtension)
      expect(extensionHeader(ends.client)).toBe('permessage-deflate')
      const { sent } = await roundTrip(ends, D.compressibleText(64 * D.KiB))
      expect(sent).toBeLessThan(4 * D.KiB)
    }
  })
})
