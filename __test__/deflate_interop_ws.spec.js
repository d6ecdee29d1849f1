'use strict'

// permessage-deflate interop with the `ws` package, both ways:
//   our server  <- ws client  (ws offers, we answer and compress in Rust)
//   our client  -> ws server  (we offer, ws answers)
// Every negotiation is also run against faye-websocket + permessage-deflate
// 0.1.7, and the header strings must be identical: the offer our client sends,
// and the response our server gives.

const Native = require('..')
const Faye = require('faye-websocket')
const pmd = require('permessage-deflate')
const { startServer } = require('./helpers/server')
const { connectClient } = require('./helpers/client')
const { closeAll } = require('./helpers/cleanup')
const { withGuard } = require('./helpers/wait')
const D = require('./helpers/deflate')

afterEach(closeAll)

// A compressible 64 KiB message takes well under half its size on the wire once
// compressed (even with 9-bit windows at level 1); uncompressed it takes more.
const COMPRESSED = 32 * 1024

const expectSameData = (actual, expected) => expect(D.describeData(actual)).toEqual(D.describeData(expected))

// A server-side socket that echoes every message.
function echoServer (WebSocket, options) {
  return startServer({ WebSocket, options, setup: (ws) => ws.on('message', (event) => ws.send(event.data)) })
}

// Sends `data` from a ws client to our echo server; checks what the server got
// and what came back, and returns the bytes each side read off the wire.
async function wsClientRoundTrip (client, connection, data) {
  const socket = client.ws._socket
  const before = { written: socket.bytesWritten, read: socket.bytesRead }
  const reply = client.messages.next(15000)
  await client.send(data, { binary: Buffer.isBuffer(data) })
  expectSameData(await connection.messages.next(15000), data)
  const back = await reply
  expect(back.isBinary).toBe(Buffer.isBuffer(data))
  expectSameData(back.isBinary ? back.data : back.text, data)
  return { sent: socket.bytesWritten - before.written, received: socket.bytesRead - before.read }
}

// Sends `data` from our client to the ws echo server.
async function ourClientRoundTrip (client, connection, data) {
  const socket = client.ws._stream
  const before = { written: socket.bytesWritten, read: socket.bytesRead }
  const reply = client.messages.next(15000)
  client.ws.send(data)
  const got = await connection.messages.next(15000)
  expect(got.isBinary).toBe(Buffer.isBuffer(data))
  expectSameData(got.isBinary ? got.data : got.data.toString('utf8'), data)
  expectSameData(await reply, data)
  return { sent: socket.bytesWritten - before.written, received: socket.bytesRead - before.read }
}

// ------------------------------------------------------------------------
// our server <- ws client

// [label, ws perMessageDeflate options, response permessage-deflate 0.1.7 gives with default options]
const wsOffers = [
  ['perMessageDeflate: true', true, 'permessage-deflate'],
  ...[8, 9, 10, 11, 12, 13, 14, 15].map((bits) => [
    `serverMaxWindowBits ${bits}`,
    { serverMaxWindowBits: bits },
    bits < 15 ? `permessage-deflate; server_max_window_bits=${bits}` : 'permessage-deflate'
  ]),
  ['clientMaxWindowBits 8', { clientMaxWindowBits: 8 }, 'permessage-deflate; client_max_window_bits=8'],
  ['clientMaxWindowBits 9', { clientMaxWindowBits: 9 }, 'permessage-deflate; client_max_window_bits=9'],
  ['clientMaxWindowBits 12', { clientMaxWindowBits: 12 }, 'permessage-deflate; client_max_window_bits=12'],
  ['clientMaxWindowBits false', { clientMaxWindowBits: false }, 'permessage-deflate'],
  ['serverNoContextTakeover', { serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover'],
  ['clientNoContextTakeover', { clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover'],
  [
    'all four parameters',
    { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9'
  ]
]

// [label, our server's extension, faye's equivalent]
const serverConfigs = [
  ['default', () => pmd, () => pmd],
  ['maxWindowBits 10, requestMaxWindowBits 11',
    () => pmd.configure({ maxWindowBits: 10, requestMaxWindowBits: 11 }),
    () => pmd.configure({ maxWindowBits: 10, requestMaxWindowBits: 11 })],
  ['noContextTakeover, requestNoContextTakeover, level 9',
    () => pmd.configure({ noContextTakeover: true, requestNoContextTakeover: true, level: 9 }),
    () => pmd.configure({ noContextTakeover: true, requestNoContextTakeover: true, level: 9 })],
  ['WebSocket.deflate maxWindowBits 9, requestMaxWindowBits 8',
    () => Native.deflate.configure({ maxWindowBits: 9, requestMaxWindowBits: 8 }),
    () => pmd.configure({ maxWindowBits: 9, requestMaxWindowBits: 8 })]
]

describe('our server <- ws client: negotiation matches permessage-deflate 0.1.7, data round-trips', () => {
  describe.each(serverConfigs)('server extension: %s', (serverLabel, ours, theirs) => {
    it.each(wsOffers)('ws %s', async (_label, wsDeflate, defaultResponse) => {
      const perMessageDeflate = wsDeflate === true ? { threshold: 0 } : { ...wsDeflate, threshold: 0 }

      const reference = await echoServer(Faye, { extensions: [theirs()] })
      const fayeClient = connectClient(reference.url, [], { perMessageDeflate })
      const fayeHeader = (await fayeClient.upgrade).headers['sec-websocket-extensions']

      const server = await echoServer(Native, { extensions: [ours()] })
      const client = connectClient(server.url, [], { perMessageDeflate })
      const header = (await client.upgrade).headers['sec-websocket-extensions']
      await client.opened
      const connection = await server.nextConnection()

      expect(header).toBe(fayeHeader)
      if (serverLabel === 'default') expect(header).toBe(defaultResponse)
      expect(client.ws.extensions).toBe('permessage-deflate')

      const text = await wsClientRoundTrip(client, connection, D.compressibleText(64 * D.KiB))
      // both directions were compressed
      expect(text.sent).toBeLessThan(COMPRESSED)
      expect(text.received).toBeLessThan(COMPRESSED)
      const binary = await wsClientRoundTrip(client, connection, D.randomBytes(64 * D.KiB))
      expect(binary.received).toBeGreaterThan(64 * D.KiB)
      expect(client.errors).toEqual([])
    })
  })
})

describe('our server <- ws client: byte-exact echo of every size', () => {
  const sizes = [1, D.KiB, 64 * D.KiB, D.MiB]
  const clientOptions = [
    ['perMessageDeflate true (ws threshold: small messages go uncompressed)', true],
    ['threshold 0, serverMaxWindowBits 9, clientMaxWindowBits 9', { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9 }],
    ['threshold 0, no context takeover both ways', { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true }]
  ]
  describe.each(clientOptions)('ws %s', (_label, perMessageDeflate) => {
    it.each(sizes)('%i bytes: text and binary, compressible and random', async (size) => {
      const server = await echoServer(Native, { extensions: [pmd] })
      const client = connectClient(server.url, [], { perMessageDeflate })
      await client.opened
      const connection = await server.nextConnection()
      for (const { data } of D.messagesOfSize(size)) await wsClientRoundTrip(client, connection, data)
      expect(connection.sequence().filter((e) => !e.startsWith('message:'))).toEqual(['open'])
    })
  })

  it('16 MiB messages, random binary and compressible text', async () => {
    const server = await echoServer(Native, { extensions: [pmd] })
    const client = connectClient(server.url, [], { perMessageDeflate: { threshold: 0 } })
    await client.opened
    const connection = await server.nextConnection()
    const [random, text] = D.hugeMessages()
    const r = await wsClientRoundTrip(client, connection, random.data)
    expect(r.received).toBeGreaterThan(16 * D.MiB)
    const t = await wsClientRoundTrip(client, connection, text.data)
    expect(t.sent).toBeLessThan(D.MiB)
    expect(t.received).toBeLessThan(D.MiB)
  }, 30000)
})

// ------------------------------------------------------------------------
// our client -> ws server

// Resolves true once the client opens, false if it closes first.
function settled (client) {
  return withGuard(Promise.race([client.opened.then(() => true), client.closed.then(() => false)]), 'the client to open or close')
}

// [label, our extension, faye's equivalent, the offer permessage-deflate 0.1.7 sends]
const clientConfigs = [
  ['permessage-deflate', () => pmd, () => pmd, 'permessage-deflate; client_max_window_bits'],
  ['WebSocket.deflate', () => Native.deflate, () => pmd, 'permessage-deflate; client_max_window_bits'],
  ['maxWindowBits 10', () => Native.deflate.configure({ maxWindowBits: 10 }), () => pmd.configure({ maxWindowBits: 10 }),
    'permessage-deflate; client_max_window_bits=10'],
  ['maxWindowBits 8 (pmd configured)', () => pmd.configure({ maxWindowBits: 8 }), () => pmd.configure({ maxWindowBits: 8 }),
    'permessage-deflate; client_max_window_bits=8'],
  ['requestMaxWindowBits 11', () => Native.deflate.configure({ requestMaxWindowBits: 11 }), () => pmd.configure({ requestMaxWindowBits: 11 }),
    'permessage-deflate; client_max_window_bits; server_max_window_bits=11'],
  ['noContextTakeover, requestNoContextTakeover',
    () => Native.deflate.configure({ noContextTakeover: true, requestNoContextTakeover: true }),
    () => pmd.configure({ noContextTakeover: true, requestNoContextTakeover: true }),
    'permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover'],
  ['level 1, memLevel 9, strategy 1', () => pmd.configure({ level: 1, memLevel: 9, strategy: 1 }),
    () => pmd.configure({ level: 1, memLevel: 9, strategy: 1 }), 'permessage-deflate; client_max_window_bits']
]

const wsServerConfigs = [
  ['threshold 0', { threshold: 0 }],
  ['serverMaxWindowBits 9', { threshold: 0, serverMaxWindowBits: 9 }],
  ['serverMaxWindowBits 12', { threshold: 0, serverMaxWindowBits: 12 }],
  ['clientMaxWindowBits 9', { threshold: 0, clientMaxWindowBits: 9 }],
  ['server and client max window bits 8', { threshold: 0, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
  ['server and client no context takeover', { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true }]
]

describe('our client -> ws server: the offer matches permessage-deflate 0.1.7, data round-trips', () => {
  describe.each(clientConfigs)('client extension: %s', (_label, ours, theirs, expectedOffer) => {
    it.each(wsServerConfigs)('ws server %s', async (_serverLabel, perMessageDeflate) => {
      const server = await D.startWsDeflateServer(perMessageDeflate)
      const offers = []
      server.server.prependListener('upgrade', (request) => offers.push(request.headers['sec-websocket-extensions']))

      const faye = D.openClient(Faye.Client, server.url, [], { extensions: [theirs()] }, 'the faye client')
      const fayeOpened = await settled(faye)
      const client = D.openClient(Native.Client, server.url, [], { extensions: [ours()] }, 'our client')
      const opened = await settled(client)

      // the offer reaches ws even when ws then refuses the handshake
      expect(offers).toHaveLength(2)
      expect(offers[1]).toBe(offers[0])
      expect(offers[1]).toBe(expectedOffer)
      expect(opened).toBe(fayeOpened)
      if (!opened) {
        // ws answers 400 to an offer it cannot accept (e.g. a window below its configured one)
        expect(client.sequence()).toEqual(faye.sequence())
        expect(client.sequence()[0]).toBe('error:Error during WebSocket handshake: Unexpected response code: 400')
        return
      }
      await server.nextConnection() // faye's
      const connection = await server.nextConnection()
      const response = client.ws.headers['sec-websocket-extensions']
      expect(response).toBe(faye.ws.headers['sec-websocket-extensions'])
      expect(response).toMatch(/^permessage-deflate/)
      expect(connection.ws._extensions['permessage-deflate']).toBeDefined()

      const text = await ourClientRoundTrip(client, connection, D.compressibleText(64 * D.KiB))
      const binary = await ourClientRoundTrip(client, connection, D.randomBytes(64 * D.KiB))
      expect(text.sent).toBeLessThan(COMPRESSED)
      expect(text.received).toBeLessThan(COMPRESSED)
      expect(binary.sent).toBeGreaterThan(64 * D.KiB)
      expect(client.sequence().filter((e) => !e.startsWith('message:'))).toEqual(['open'])
    })
  })
})

describe('our client -> ws server: byte-exact echo of every size', () => {
  const sizes = [1, D.KiB, 64 * D.KiB, D.MiB]
  const configs = [
    ['ws defaults (threshold: small messages go uncompressed)', true, () => pmd],
    ['threshold 0, WebSocket.deflate', { threshold: 0 }, () => Native.deflate],
    ['threshold 0, 9-bit windows, no context takeover', { threshold: 0, serverMaxWindowBits: 9, clientNoContextTakeover: true },
      () => Native.deflate.configure({ maxWindowBits: 9, requestNoContextTakeover: true })]
  ]
  describe.each(configs)('%s', (_label, perMessageDeflate, extension) => {
    it.each(sizes)('%i bytes: text and binary, compressible and random', async (size) => {
      const server = await D.startWsDeflateServer(perMessageDeflate)
      const client = D.openClient(Native.Client, server.url, [], { extensions: [extension()] }, 'our client')
      const connection = await server.nextConnection()
      await client.waitOpen()
      expect(client.ws.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate/)
      for (const { data } of D.messagesOfSize(size)) await ourClientRoundTrip(client, connection, data)
    })
  })

  it('16 MiB messages, random binary and compressible text', async () => {
    const server = await D.startWsDeflateServer({ threshold: 0 })
    const client = D.openClient(Native.Client, server.url, [], { extensions: [Native.deflate] }, 'our client')
    const connection = await server.nextConnection()
    await client.waitOpen()
    const [random, text] = D.hugeMessages()
    const r = await ourClientRoundTrip(client, connection, random.data)
    expect(r.sent).toBeGreaterThan(16 * D.MiB)
    const t = await ourClientRoundTrip(client, connection, text.data)
    expect(t.sent).toBeLessThan(D.MiB)
    expect(t.received).toBeLessThan(D.MiB)
  }, 30000)
})
