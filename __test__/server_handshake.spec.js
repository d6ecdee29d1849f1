'use strict'

// The opening handshake as seen by a raw TCP peer: the 101 response and the
// 400 refusals. Refusals where this package is stricter than faye (version 8
// advertising 13, malformed Sec-WebSocket-Key) are in server_stricter.spec.js.

const { startServer } = require('./helpers/server')
const { connectRaw } = require('./helpers/raw_peer')
const F = require('./helpers/frames')
const S = require('./helpers/scenarios')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

// Asserts a complete faye-style refusal and the server socket's events.
async function expectRefusal (handshake, message, serverOptions = {}) {
  const server = await startServer(serverOptions)
  const peer = await connectRaw(server.port, handshake)
  const connection = await server.nextConnection()
  const { response } = peer
  expect(response.statusLine).toBe('HTTP/1.1 400 Bad Request')
  expect(response.headers['content-type']).toBe('text/plain')
  expect(response.headers['content-length']).toBe(String(Buffer.byteLength(message)))
  expect(response.headers.upgrade).toBeUndefined()
  expect(response.headers['sec-websocket-accept']).toBeUndefined()
  await peer.waitClosed()
  expect(response.body.toString('utf8')).toBe(message) // nothing after the body either
  expect(peer.bytesAfterHead).toBe(0)
  await connection.waitClosed()
  expect(connection.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])
  expect(connection.ws.readyState).toBe(3)
  return { response, connection }
}

describe('101 Switching Protocols', () => {
  it('answers the RFC 6455 sample key with the sample accept value', async () => {
    const server = await startServer()
    const peer = await connectRaw(server.port, { key: 'dGhlIHNhbXBsZSBub25jZQ==' })
    const { response } = peer
    expect(response.statusLine).toBe('HTTP/1.1 101 Switching Protocols')
    expect(response.headers.upgrade.toLowerCase()).toBe('websocket')
    expect(response.headers.connection.toLowerCase()).toBe('upgrade')
    expect(response.headers['sec-websocket-accept']).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
    expect(response.headers['sec-websocket-protocol']).toBeUndefined()
    expect(response.headers['sec-websocket-extensions']).toBeUndefined()
    const connection = await server.nextConnection()
    await connection.waitOpen()
  })

  it('computes the accept value from whatever key the client sent', async () => {
    const server = await startServer()
    const peer = await connectRaw(server.port)
    expect(peer.response.headers['sec-websocket-accept']).toBe(peer.expectedAccept)
  })

  it('echoes the chosen subprotocol', async () => {
    const server = await startServer({ protocols: ['irc', 'amqp'] })
    const peer = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Protocol': 'xmpp, amqp, irc' } })
    expect(peer.response.headers['sec-websocket-protocol']).toBe('amqp')
    const connection = await server.nextConnection()
    await connection.waitOpen()
    expect(connection.ws.protocol).toBe('amqp')
  })

  it('accepts header names and the Upgrade/Connection tokens in any case', async () => {
    const server = await startServer()
    const key = 'AQIDBAUGBwgJCgsMDQ4PEA=='
    const peer = await connectRaw(server.port, {
      request: `GET /x HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nUPGRADE: WebSocket\r\n` +
        `connection: keep-alive, UPGRADE\r\nsec-websocket-key: ${key}\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n`
    })
    expect(peer.response.statusCode).toBe(101)
    const connection = await server.nextConnection()
    await connection.waitOpen()
  })

  it('parses frames that arrived in the same packet as the upgrade request (the body argument)', async () => {
    const server = await startServer()
    const key = 'AQIDBAUGBwgJCgsMDQ4PEA=='
    const head = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
    // connectRaw writes `request` as given, so the frames ride along with the head
    await connectRaw(server.port, { request: head + F.text('in the body').toString('latin1') })
    const connection = await server.nextConnection()
    expect(await connection.messages.next()).toBe('in the body')
    expect(connection.sequence()).toEqual(['open', 'message:in the body'])
  })
})

describe('400 Bad Request', () => {
  it.each(S.refusals.map((s) => [s.name, s]))('refuses %s', async (_name, scenario) => {
    await expectRefusal(scenario.handshake, scenario.expected.body)
  })

  it('refuses a request that is not a WebSocket upgrade when constructed anyway', async () => {
    await expectRefusal({ headers: { Upgrade: 'h2c' } }, 'Not a WebSocket request', { force: true })
  })

  it('never emits open for a refused request even if the peer keeps writing', async () => {
    const server = await startServer()
    const peer = await connectRaw(server.port, { omit: ['Sec-WebSocket-Key'] })
    peer.write(F.text('should be ignored'))
    const connection = await server.nextConnection()
    await connection.waitClosed()
    expect(connection.sequence().some((e) => e === 'open' || e.startsWith('message'))).toBe(false)
  })
})
