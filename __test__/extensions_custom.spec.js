'use strict'

// Extensions written for the websocket-extensions framework, other than
// permessage-deflate: negotiated and applied in JavaScript, in registration
// order, as faye-websocket applies them. The extension under test is written
// here: `x-reverse` claims RSV2 and reverses every payload byte for byte, so a
// message only reads right if both ends ran it exactly once, in the right
// order relative to permessage-deflate.
//
// Server-side tests use helpers/impl, so `WS_IMPL=faye npx jest` runs them
// against faye-websocket as the reference; interop tests pair this package
// with faye-websocket explicitly.

const impl = require('./helpers/impl')
const Native = require('..')
const Faye = require('faye-websocket')
const pmd = require('permessage-deflate')
const zlib = require('zlib')
const { startServer, openRaw } = require('./helpers/server')
const { closeAll } = require('./helpers/cleanup')
const { frame, OPCODES } = require('./helpers/frames')
const D = require('./helpers/deflate')

afterEach(closeAll)

// Behaviour that faye-websocket 0.11.4 + permessage-deflate 0.1.7 does not
// have (it is why this package exists); skipped only in the reference run.
const itStricter = impl.isFaye ? it.skip : it

function reverse (buffer) {
  return Buffer.from(buffer).reverse()
}

// `events` collects what the sessions were asked to do, for assertions.
function reverseExtension ({ events = [], delay = null, failIncoming = null } = {}) {
  const session = () => ({
    generateResponse: () => ({ mode: 'bytes' }),
    processIncomingMessage (message, callback) {
      events.push('in')
      if (failIncoming) return callback(failIncoming())
      if (message.rsv2) {
        message.data = reverse(message.data)
        message.rsv2 = false
      }
      if (delay) setTimeout(() => callback(null, message), delay())
      else callback(null, message)
    },
    processOutgoingMessage (message, callback) {
      events.push('out')
      message.data = reverse(message.data)
      message.rsv2 = true
      callback(null, message)
    },
    close () {
      events.push('close')
    }
  })
  return {
    name: 'x-reverse',
    type: 'permessage',
    rsv1: false,
    rsv2: true,
    rsv3: false,
    createServerSession: (offers) => offers[0].mode === 'bytes' ? session() : null,
    createClientSession: () => Object.assign(session(), {
      generateOffer: () => ({ mode: 'bytes' }),
      activate: (params) => params.mode === 'bytes'
    })
  }
}

function echoServer (WebSocket, extensions, options = {}) {
  return startServer({
    WebSocket,
    options: { extensions, ...options },
    setup: (ws) => ws.on('message', (event) => ws.send(event.data))
  })
}

async function pair (ServerWebSocket, serverExtensions, Client, clientExtensions) {
  const server = await echoServer(ServerWebSocket, serverExtensions)
  const client = D.openClient(Client, server.url, [], { extensions: clientExtensions })
  const connection = await server.nextConnection()
  await client.waitOpen()
  await connection.waitOpen()
  return { server, client, connection }
}

async function roundTrip ({ client, connection }, data) {
  const reply = client.messages.next(15000)
  client.ws.send(data)
  expect(D.describeData(await connection.messages.next(15000))).toEqual(D.describeData(data))
  expect(D.describeData(await reply)).toEqual(D.describeData(data))
}

const messages = [
  'héllo, wörld ✓ — reversed bytes are not UTF-8 until reversed back',
  Buffer.from([0, 1, 2, 3, 254, 255]),
  '',
  D.compressibleText(20000)
]

describe.each([
  ['faye client -> our server', () => Native, () => Faye.Client],
  ['our client -> faye server', () => Faye, () => Native.Client],
  ['our client -> our server', () => Native, () => Native.Client]
])('%s', (_label, serverImpl, clientImpl) => {
  it('negotiates x-reverse and runs it on both ends', async () => {
    const serverEvents = []
    const clientEvents = []
    const ends = await pair(serverImpl(), [reverseExtension({ events: serverEvents })],
      clientImpl(), [reverseExtension({ events: clientEvents })])
    expect(ends.client.ws.headers['sec-websocket-extensions']).toBe('x-reverse; mode=bytes')
    for (const data of messages) await roundTrip(ends, data)
    expect(serverEvents.filter((e) => e === 'in')).toHaveLength(messages.length)
    expect(clientEvents.filter((e) => e === 'out')).toHaveLength(messages.length)
    ends.client.ws.close()
    await ends.client.waitClosed()
    await ends.connection.waitClosed()
    expect(serverEvents).toContain('close')
    expect(clientEvents).toContain('close')
  })

  it.each([
    ['x-reverse then permessage-deflate', () => [reverseExtension(), pmd], () => [reverseExtension(), pmd]],
    ['permessage-deflate then x-reverse', () => [pmd, reverseExtension()], () => [pmd, reverseExtension()]]
  ])('%s, in that order on both ends', async (_order, serverExtensions, clientExtensions) => {
    const ends = await pair(serverImpl(), serverExtensions(), clientImpl(), clientExtensions())
    const header = ends.client.ws.headers['sec-websocket-extensions']
    expect(header.split(', ').map((e) => e.split(';')[0]).sort()).toEqual(['permessage-deflate', 'x-reverse'])
    for (const data of messages) await roundTrip(ends, data)
  })
})

describe('on the wire', () => {
  async function openReverse (offer, options = {}) {
    return openRaw({
      options: { extensions: [reverseExtension(options)] },
      setup: (ws) => ws.on('message', (event) => ws.send(event.data)),
      peer: { headers: { 'Sec-WebSocket-Extensions': offer } }
    })
  }

  it('answers the offer and sends frames with RSV2 set and the payload reversed', async () => {
    const { peer } = await openReverse('x-unknown, x-reverse; mode=bytes')
    expect(peer.response.headers['sec-websocket-extensions']).toBe('x-reverse; mode=bytes')
    peer.write(frame({ payload: reverse(Buffer.from('abc✓')), rsv2: true }))
    const echoed = await peer.readFrame()
    expect(echoed).toMatchObject({ opcode: OPCODES.text, rsv1: false, rsv2: true, rsv3: false })
    expect(echoed.payload).toEqual(reverse(Buffer.from('abc✓')))
  })

  it('delivers a message without RSV2 unchanged', async () => {
    const { peer, connection } = await openReverse('x-reverse; mode=bytes')
    peer.write(frame({ payload: 'plain' }))
    expect(await connection.messages.next()).toBe('plain')
  })

  it('fails a reserved bit no negotiated extension claims with 1002', async () => {
    const { peer, connection } = await openReverse('x-reverse; mode=bytes')
    peer.write(frame({ payload: 'x', rsv3: true }))
    const reason = 'One or more reserved bits are on: reserved1 = 0, reserved2 = 0, reserved3 = 1'
    expect(await peer.readClose()).toMatchObject({ code: 1002, reason })
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(['open', `error:${reason}`, 'end', `close:1002:${reason}`])
  })

  it('fails RSV2 on a continuation frame with 1002', async () => {
    const { peer } = await openReverse('x-reverse; mode=bytes')
    peer.write(Buffer.concat([frame({ payload: 'a', fin: false, rsv2: true }), frame({ opcode: 'continuation', payload: 'b', rsv2: true })]))
    expect(await peer.readClose()).toMatchObject({ code: 1002 })
  })

  it('fails RSV2 when the client did not offer x-reverse', async () => {
    const { peer } = await openReverse('x-other')
    expect(peer.response.headers['sec-websocket-extensions']).toBeUndefined()
    peer.write(frame({ payload: 'x', rsv2: true }))
    expect(await peer.readClose()).toMatchObject({ code: 1002, reason: 'One or more reserved bits are on: reserved1 = 0, reserved2 = 1, reserved3 = 0' })
  })

  it('fails with 1010 and the extension-prefixed message when a session reports an error', async () => {
    const { peer, connection } = await openReverse('x-reverse; mode=bytes', { failIncoming: () => new Error('cannot reverse that') })
    peer.write(frame({ payload: 'x', rsv2: true }))
    expect(await peer.readClose()).toMatchObject({ code: 1010, reason: 'x-reverse: cannot reverse that' })
    await connection.waitClosed()
    expect(connection.sequence()).toContain('error:x-reverse: cannot reverse that')
  })

  it('uses the close code of an error type, as websocket-driver maps them', async () => {
    const tooLarge = () => Object.assign(new Error('too big for me'), { type: 'too_large' })
    const { peer } = await openReverse('x-reverse; mode=bytes', { failIncoming: tooLarge })
    peer.write(frame({ payload: 'x', rsv2: true }))
    expect(await peer.readClose()).toMatchObject({ code: 1009, reason: 'x-reverse: too big for me' })
  })

  it('fails text that is not UTF-8 once the extensions have run with 1007', async () => {
    const { peer } = await openReverse('x-reverse; mode=bytes')
    // Valid UTF-8 as sent, invalid once reversed: only the post-extension check sees it.
    peer.write(frame({ payload: Buffer.from('✓'), rsv2: true }))
    expect(await peer.readClose()).toMatchObject({ code: 1007, reason: 'Could not decode a text frame as UTF-8' })
  })

  it('keeps message order when a session answers asynchronously', async () => {
    const { peer, connection } = await openReverse('x-reverse; mode=bytes', { delay: () => Math.floor(Math.random() * 20) })
    const sent = Array.from({ length: 20 }, (_, i) => `message ${i}`)
    peer.write(Buffer.concat(sent.map((text) => frame({ payload: reverse(Buffer.from(text)), rsv2: true }))))
    const received = []
    for (let i = 0; i < sent.length; i++) received.push(await connection.messages.next())
    expect(received).toEqual(sent)
  })

  it('refuses a malformed Sec-WebSocket-Extensions header with 400', async () => {
    const server = await echoServer(impl.WebSocket, [reverseExtension()])
    const { connectRaw } = require('./helpers/raw_peer')
    const peer = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': 'x-reverse; mode="unterminated' } })
    expect(peer.response.statusCode).toBe(400)
    expect(peer.response.text).toBe('Invalid Sec-WebSocket-Extensions header: x-reverse; mode="unterminated')
  })

  it('answers in registration order, permessage-deflate included', async () => {
    const { peer } = await openRaw({
      options: { extensions: [pmd, reverseExtension()] },
      peer: { headers: { 'Sec-WebSocket-Extensions': 'x-reverse; mode=bytes, permessage-deflate' } }
    })
    expect(peer.response.headers['sec-websocket-extensions']).toBe('permessage-deflate, x-reverse; mode=bytes')
  })

  itStricter('applies maxLength while inflating when permessage-deflate runs beside another extension', async () => {
    const { peer, connection } = await openRaw({
      options: { extensions: [pmd, reverseExtension()], maxLength: 4096 },
      peer: { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate, x-reverse; mode=bytes' } }
    })
    const bomb = zlib.deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4)
    peer.write(frame({ payload: bomb, rsv1: true, opcode: 'binary' }))
    const close = await peer.readClose()
    expect(close.code).toBe(1009)
    await connection.waitClosed()
    expect(connection.sequence().filter((e) => e.startsWith('message'))).toEqual([])
  })
})

describe('client activation', () => {
  it('fails the handshake when the server answers with an extension that was not offered', async () => {
    const server = await D.startRawDeflateServer({ extensions: 'x-unknown' })
    const client = D.openClient(impl.WebSocket.Client, `ws://127.0.0.1:${server.port}/`, [], { extensions: [reverseExtension()] })
    await client.waitClosed()
    const message = 'Error during WebSocket handshake: Server sent an extension response for unknown extension "x-unknown"'
    expect(client.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])
  })

  it('fails the handshake when the session refuses the parameters', async () => {
    const server = await D.startRawDeflateServer({ extensions: 'x-reverse; mode=words' })
    const client = D.openClient(impl.WebSocket.Client, `ws://127.0.0.1:${server.port}/`, [], { extensions: [reverseExtension()] })
    await client.waitClosed()
    const message = 'Error during WebSocket handshake: Server sent unacceptable extension parameters: x-reverse; mode=words'
    expect(client.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])
  })

  it('offers every registered extension in order', async () => {
    const server = await D.startRawDeflateServer({ extensions: 'x-reverse; mode=bytes' })
    const client = D.openClient(impl.WebSocket.Client, `ws://127.0.0.1:${server.port}/`, [], { extensions: [reverseExtension(), pmd] })
    const connection = await server.nextConnection()
    expect(connection.headers['sec-websocket-extensions']).toBe('x-reverse; mode=bytes, permessage-deflate; client_max_window_bits')
    await client.waitOpen()
    client.ws.send('abc')
    const sent = await connection.nextFrame()
    expect(sent).toMatchObject({ rsv1: false, rsv2: true })
    expect(sent.payload.toString()).toBe('cba')
  })

  it('with nothing to offer, sends no extensions header, opens, and leaves messages alone', async () => {
    const server = await D.startRawDeflateServer({})
    const silent = Object.assign(reverseExtension(), { createClientSession: () => null })
    const client = D.openClient(impl.WebSocket.Client, `ws://127.0.0.1:${server.port}/`, [], { extensions: [silent] })
    const connection = await server.nextConnection()
    expect(connection.headers['sec-websocket-extensions']).toBeUndefined()
    await client.waitOpen()
    client.ws.send('abc')
    const sent = await connection.nextFrame()
    expect(sent).toMatchObject({ rsv1: false, rsv2: false })
    expect(sent.payload.toString()).toBe('abc')
  })
})
