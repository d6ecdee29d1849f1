'use strict'

// No panic crosses into Node: every native export catches unwinding, so a panic
// becomes a JavaScript exception, and the socket layer turns an exception from
// the native side into `error` + close 1011 on that connection alone.

const native = require('../lib/native')
const WebSocket = require('..')
const { startServer } = require('./helpers/server')
const { closeAll } = require('./helpers/cleanup')
const D = require('./helpers/deflate')

afterEach(closeAll)

it('a panic in the addon is thrown as an exception, not an abort', () => {
  expect(() => native.internalFailureProbe()).toThrow(/internal failure probe/)
})

it('an internal failure while reading fails that connection with 1011 and leaves the others working', async () => {
  const server = await startServer({ WebSocket, setup: (ws) => ws.on('message', (event) => ws.send(event.data)) })
  const victim = D.openClient(WebSocket.Client, server.url, [], {}, 'the victim client')
  const bystander = D.openClient(WebSocket.Client, server.url, [], {}, 'the bystander client')
  const victimConnection = await server.nextConnection()
  await server.nextConnection()
  await victim.waitOpen()
  await bystander.waitOpen()

  // The next socket read on the victim's server side runs into a panic.
  victimConnection.ws._native.feed = () => native.internalFailureProbe()
  victim.ws.send('trigger')

  const closed = await victim.waitClosed()
  expect(closed.code).toBe(1011)
  expect(closed.reason).toBe('Internal error')
  await victimConnection.waitClosed()
  const sequence = victimConnection.sequence()
  expect(sequence[0]).toBe('open')
  expect(sequence[1]).toMatch(/^error:Internal error: .*internal failure probe/)
  expect(sequence[sequence.length - 1]).toBe('close:1011:Internal error')

  const reply = bystander.messages.next()
  bystander.ws.send('still here')
  expect(await reply).toBe('still here')
})

it('an internal failure on the client side sends a masked 1011 close frame', async () => {
  const server = await startServer({ WebSocket })
  const client = D.openClient(WebSocket.Client, server.url, [], {})
  const connection = await server.nextConnection()
  await client.waitOpen()
  // Small messages are framed into a shared pool, larger ones into a Buffer of their own.
  client.ws._native.sendTextInto = () => native.internalFailureProbe()
  client.ws._native.sendText = () => native.internalFailureProbe()
  client.ws.send('boom')
  const closed = await connection.waitClosed()
  expect(closed.code).toBe(1011)
  expect(closed.reason).toBe('Internal error')
  expect((await client.waitClosed()).code).toBe(1011)
})

it('the binding refuses anything but a connection handle where one is expected, with an error', () => {
  const notHandles = [{}, null, undefined, 1, 'connection', Buffer.alloc(8), () => {}]
  for (const value of notHandles) {
    expect(() => native.connectionFeed(value, Buffer.from([0x81, 0x00]))).toThrow(/Expected a connection/)
    expect(() => native.connectionReadyState(value)).toThrow(/Expected a connection/)
  }
  // And anything but a Buffer where bytes are expected.
  const handle = native.connectionServer('GET', ['Host', 'example.com'], 'ws://example.com/', [], [], undefined, undefined)
  expect(native.connectionReadyState(handle)).toBe(0)
  for (const value of [{}, 'bytes', [1, 2], new Uint16Array(2), null]) {
    expect(() => native.connectionFeed(handle, value)).toThrow(/Expected a Buffer/)
  }
})
