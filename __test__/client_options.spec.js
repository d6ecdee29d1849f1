'use strict'

// WebSocket.Client's options (tls, ca and proxy have their own suites):
// headers, extensions, maxLength, ping and net, against a `ws` server.

const zlib = require('zlib')
const deflate = require('permessage-deflate')
const { isFaye } = require('./helpers/impl')
const { startWsServer, echo } = require('./helpers/ws_server')
const { startRawServer } = require('./helpers/raw_server')
const { openClient } = require('./helpers/client_socket')
const F = require('./helpers/frames')
const { waitFor } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const TOO_LARGE = 'WebSocket frame length too large'

describe('headers', () => {
  it('are sent on the upgrade request and seen by the server', async () => {
    const server = await startWsServer()
    const client = openClient(`${server.url}/`, [], {
      headers: { Origin: 'http://app.example', 'X-Api-Key': 'k-123', Cookie: 'a=1; b=2' }
    })
    await client.waitOpen()
    const { request } = await server.nextConnection()
    expect(request.headers).toMatchObject({ origin: 'http://app.example', 'x-api-key': 'k-123', cookie: 'a=1; b=2' })
  })

  // faye writes a value containing CR LF as is, letting it add headers of
  // its own; this package refuses it when the client is constructed.
  const injected = { 'X-Note': 'a\r\nX-Injected: yes' }
  if (isFaye) {
    it('with CR LF in a value: faye writes them, injecting a header', async () => {
      const server = await startRawServer()
      openClient(`${server.url}/`, [], { headers: injected })
      const { head } = await server.nextConnection()
      expect(head.headers['x-injected']).toBe('yes')
    })
  } else {
    it('with CR LF in a value: the constructor throws and nothing is sent', async () => {
      const server = await startRawServer()
      expect(() => openClient(`${server.url}/`, [], { headers: injected }))
        .toThrow('Invalid HTTP header "X-Note": names must be tokens and values must not contain CR, LF or NUL')
      expect(server.connections).toEqual([])
    })
  }
})

describe('extensions', () => {
  it('[permessage-deflate] is offered, and a server that supports it agrees and compresses both ways', async () => {
    const server = await startWsServer({ setup: echo, wsOptions: { perMessageDeflate: { threshold: 0 } } })
    const client = openClient(`${server.url}/`, [], { extensions: [deflate] })
    await client.waitOpen()
    const { request } = await server.nextConnection()
    expect(request.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate\b/)
    expect(client.ws.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate\b/)
    const text = 'compressible '.repeat(100)
    client.ws.send(text)
    expect(await client.messages.next()).toBe(text)
  })

  it('[permessage-deflate]: once agreed, the client sends compressed frames (RSV1, raw DEFLATE)', async () => {
    const server = await startRawServer({
      respond: (connection) => connection.accept101({ 'Sec-WebSocket-Extensions': 'permessage-deflate' })
    })
    const client = openClient(`${server.url}/`, [], { extensions: [deflate] })
    await client.waitOpen()
    const connection = await server.nextConnection()
    const text = 'squeeze me '.repeat(50)
    client.ws.send(text)
    const frame = await connection.readFrame()
    expect([frame.opcode, frame.rsv1, frame.masked]).toEqual([F.OPCODES.text, true, true])
    expect(frame.length).toBeLessThan(Buffer.byteLength(text))
    // RFC 7692 section 7.2.2: append 00 00 ff ff, then inflate (a sync-flushed stream).
    const inflated = zlib.inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0x00, 0x00, 0xff, 0xff])]),
      { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    expect(inflated.toString('utf8')).toBe(text)
  })
})

describe('maxLength', () => {
  it(`fails the connection with 1009 '${TOO_LARGE}' when the server sends more`, async () => {
    const server = await startWsServer({ setup: (ws) => ws.send('0123456789A') })
    const client = openClient(`${server.url}/`, [], { maxLength: 10 })
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', `error:${TOO_LARGE}`, 'end', `close:1009:${TOO_LARGE}`])
    const connection = await server.nextConnection()
    expect(await connection.waitClosed()).toEqual({ code: 1009, reason: TOO_LARGE })
  })

  it('accepts a message of exactly maxLength bytes', async () => {
    const server = await startWsServer({ setup: (ws) => ws.send(Buffer.alloc(10, 1)) })
    const client = openClient(`${server.url}/`, [], { maxLength: 10 })
    const message = await client.messages.next()
    expect([...message]).toEqual(Array(10).fill(1))
  })
})

describe('ping', () => {
  it("pings the server every `ping` seconds with payloads '1', '2', …", async () => {
    const server = await startWsServer()
    const client = openClient(`${server.url}/`, [], { ping: 0.02 })
    const connection = await server.nextConnection()
    expect(await connection.pings.next()).toBe('1')
    expect(await connection.pings.next()).toBe('2')
    expect(await connection.pings.next()).toBe('3')
    client.ws.close()
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', 'end', 'close:1000:'])
  })
})

describe('net', () => {
  if (isFaye) {
    // faye documents `net` but its option check rejects it, after it has
    // already opened the TCP connection.
    it("throws 'Unrecognized option: net' (faye)", async () => {
      const server = await startWsServer()
      const accepted = waitFor(server.server, 'connection', { label: "faye's orphaned connection" })
      expect(() => openClient(`${server.url}/`, [], { net: { localAddress: '127.0.0.2' } })).toThrow('Unrecognized option: net')
      await accepted // let the server own it, so closing the server closes it
    })
  } else {
    it('is passed to net.connect(): localAddress 127.0.0.2 is the address the server sees', async () => {
      const server = await startWsServer({ setup: echo })
      const client = openClient(`${server.url}/`, [], { net: { localAddress: '127.0.0.2' } })
      await client.waitOpen()
      const { request } = await server.nextConnection()
      expect(request.socket.remoteAddress).toBe('127.0.0.2')
      client.ws.send('from 127.0.0.2')
      expect(await client.messages.next()).toBe('from 127.0.0.2')
    })
  }
})
