'use strict'

// The server-side WebSocket's public API, as faye-websocket 0.11.4 exposes it.

const http = require('http')
const { WebSocket, isFaye } = require('./helpers/impl')
const { startServer } = require('./helpers/server')
const { connectClient } = require('./helpers/client')
const { connectRaw } = require('./helpers/raw_peer')
const F = require('./helpers/frames')
const { withGuard, deferred } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

async function openPair (serverOptions = {}, { path = '/', protocols, clientOptions } = {}) {
  const server = await startServer(serverOptions)
  const client = connectClient(`${server.url}${path}`, protocols, clientOptions)
  const connection = await server.nextConnection()
  await Promise.all([client.opened, connection.waitOpen()])
  return { server, client, connection, ws: connection.ws }
}

describe('WebSocket.isWebSocket', () => {
  it('is true for a GET carrying Upgrade: websocket and Connection: Upgrade', async () => {
    const seen = deferred()
    const server = await startServer({
      force: true,
      setup: (_ws, request) => seen.resolve(WebSocket.isWebSocket(request))
    })
    await connectRaw(server.port, { headers: { Connection: 'keep-alive, Upgrade' } })
    expect(await withGuard(seen.promise, 'isWebSocket')).toBe(true)
  })

  it('is false for a plain HTTP request', async () => {
    const seen = deferred()
    const server = await startServer({
      onRequest: (request, response) => {
        seen.resolve(WebSocket.isWebSocket(request))
        response.end()
      }
    })
    await new Promise((resolve, reject) => {
      http.get(`http://127.0.0.1:${server.port}/`, (res) => { res.resume(); res.on('end', resolve) }).on('error', reject)
    })
    expect(await withGuard(seen.promise, 'isWebSocket')).toBe(false)
  })

  it('is false for an upgrade to another protocol and for a non-GET method', async () => {
    const results = []
    const server = await startServer({
      force: true, // construct anyway; the handshake suite checks the resulting 400
      setup: (_ws, request) => results.push(WebSocket.isWebSocket(request))
    })
    await connectRaw(server.port, { headers: { Upgrade: 'h2c' } })
    await server.nextConnection()
    await connectRaw(server.port, {
      request: 'POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n'
    })
    await server.nextConnection()
    expect(results).toEqual([false, false])
  })
})

describe('events', () => {
  it('emits open, message and close as Event objects with type, data, code and reason', async () => {
    const { client, connection, ws } = await openPair()
    const open = connection.log.find((entry) => entry.type === 'open').event
    expect(open.type).toBe('open')
    expect(open.target).toBe(ws)

    client.ws.send('ping me')
    await connection.messages.next()
    const message = connection.log.find((entry) => entry.type === 'message').event
    expect(message.type).toBe('message')
    expect(message.data).toBe('ping me')
    expect(message.target).toBe(ws)

    client.ws.close(4001, 'bye now')
    const close = await connection.waitClosed()
    expect(close.type).toBe('close')
    expect(close.code).toBe(4001)
    expect(close.reason).toBe('bye now')
    expect(connection.sequence()).toEqual(['open', 'message:ping me', 'end', 'close:4001:bye now'])
  })

  it('emits an error Event with a message before close on a protocol error', async () => {
    const server = await startServer()
    const peer = await connectRaw(server.port)
    const connection = await server.nextConnection()
    await connection.waitOpen()
    peer.write(F.frame({ opcode: 3, payload: 'x' }))
    await connection.waitClosed()
    const error = connection.log.find((entry) => entry.type === 'error').event
    expect(error.type).toBe('error')
    expect(error.message).toBe('Unrecognized frame opcode: 3')
    expect(connection.sequence()).toEqual([
      'open', 'error:Unrecognized frame opcode: 3', 'end', 'close:1002:Unrecognized frame opcode: 3'
    ])
  })

  it('runs onopen/onmessage/onerror/onclose before listeners added with on()', async () => {
    const calls = []
    const server = await startServer({
      setup: (ws) => {
        for (const type of ['open', 'message', 'error', 'close']) {
          // the listener is registered first, the property second: order must still be property first
          ws.on(type, (event) => calls.push(`listener:${type}:${event.type}`))
          ws['on' + type] = (event) => calls.push(`on${type}:${event.type}`)
        }
      }
    })
    const peer = await connectRaw(server.port)
    const connection = await server.nextConnection()
    await connection.waitOpen()
    peer.write(F.text('hi'))
    await connection.messages.next()
    peer.write(F.frame({ opcode: 3 }))
    await connection.waitClosed()
    expect(calls).toEqual([
      'onopen:open', 'listener:open:open',
      'onmessage:message', 'listener:message:message',
      'onerror:error', 'listener:error:error',
      'onclose:close', 'listener:close:close'
    ])
  })

  it('supports addEventListener and removeEventListener', async () => {
    const { client, connection, ws } = await openPair()
    const seen = []
    const listener = (event) => seen.push(event.data)
    ws.addEventListener('message', listener)
    client.ws.send('one')
    await connection.messages.next()
    ws.removeEventListener('message', listener)
    client.ws.send('two')
    await connection.messages.next()
    expect(seen).toEqual(['one'])
  })
})

describe('send', () => {
  it('sends a String as text and a Buffer as binary, returning true', async () => {
    const { client, ws } = await openPair()
    expect(ws.send('text')).toBe(true)
    expect(ws.send(Buffer.from([0, 1, 255]))).toBe(true)
    expect(await client.messages.next()).toEqual({ data: Buffer.from('text'), isBinary: false, text: 'text' })
    expect(await client.messages.next()).toEqual({ data: Buffer.from([0, 1, 255]), isBinary: true, text: null })
  })

  it('stringifies numbers, booleans and arrays and sends them as text', async () => {
    const { client, ws } = await openPair()
    ws.send(13)
    ws.send(false)
    ws.send([13, 14, 15])
    const replies = [await client.messages.next(), await client.messages.next(), await client.messages.next()]
    expect(replies.map((r) => [r.isBinary, r.text])).toEqual([[false, '13'], [false, 'false'], [false, '13,14,15']])
  })

  it('delivers messages sent before the handshake completes, after it, in order', async () => {
    const server = await startServer({
      setup: (ws) => {
        ws.send('early 1')
        ws.send(Buffer.from('early 2'))
      }
    })
    const client = connectClient(`${server.url}/`)
    const first = await client.messages.next()
    const second = await client.messages.next()
    expect([first.text, second.isBinary, second.data.toString()]).toEqual(['early 1', true, 'early 2'])
  })

  it('returns false and sends nothing once the socket is closed', async () => {
    const { client, connection, ws } = await openPair()
    client.ws.close(1000)
    await connection.waitClosed()
    expect(ws.send('too late')).toBe(false)
    await client.waitClosed()
    expect(client.messages.all).toEqual([])
  })
})

describe('ping', () => {
  it('returns true, sends the payload and calls back when the client answers', async () => {
    const { client, ws } = await openPair()
    const answered = deferred()
    expect(ws.ping('x', () => answered.resolve('pong'))).toBe(true)
    expect(await client.pings.next()).toBe('x')
    expect(await withGuard(answered.promise, 'the ping callback')).toBe('pong')
  })

  it('calls back only for the matching pong payload', async () => {
    const server = await startServer()
    const peer = await connectRaw(server.port)
    const connection = await server.nextConnection()
    await connection.waitOpen()
    const calls = []
    connection.ws.ping('alpha', () => calls.push('alpha'))
    connection.ws.ping('beta', () => calls.push('beta'))
    await peer.readFrame((f) => f.opcode === F.OPCODES.ping && f.payload.toString() === 'beta')
    peer.write(F.pong('beta'))
    peer.write(F.text('marker'))
    await connection.messages.next() // the pong was processed before this message
    expect(calls).toEqual(['beta'])
  })

  it('returns false after the socket is closed', async () => {
    const { client, connection, ws } = await openPair()
    client.ws.close()
    await connection.waitClosed()
    expect(ws.ping('late')).toBe(false)
  })
})

describe('close', () => {
  it('sends the given code and reason to the client', async () => {
    const { client, connection, ws } = await openPair()
    ws.close(3001, 'server says bye')
    expect(ws.readyState).toBe(2)
    expect(await client.waitClosed()).toEqual({ code: 3001, reason: 'server says bye' })
    const event = await connection.waitClosed()
    // faye reports the peer's reply; ws echoes code and reason
    expect([event.code, event.reason]).toEqual([3001, 'server says bye'])
  })

  it('defaults to code 1000 with an empty reason', async () => {
    const { client, ws } = await openPair()
    ws.close()
    expect(await client.waitClosed()).toEqual({ code: 1000, reason: '' })
  })

  it.each([1001, 2999, 999, 1005, 5000])('throws faye\'s message for code %i and keeps the socket open', async (code) => {
    const { client, ws } = await openPair()
    expect(() => ws.close(code, 'nope')).toThrow(new Error(
      `Failed to execute 'close' on WebSocket: The code must be either 1000, or between 3000 and 4999. ${code} is neither.`
    ))
    expect(ws.readyState).toBe(1)
    ws.send('still open')
    expect((await client.messages.next()).text).toBe('still open')
  })
})

describe('properties', () => {
  it("has version 'hybi-13' and a url made of the Host header and request path", async () => {
    const { server, ws } = await openPair({}, { path: '/chat/room?id=7' })
    expect(ws.version).toBe('hybi-13')
    expect(ws.url).toBe(`ws://127.0.0.1:${server.port}/chat/room?id=7`)
  })

  it("uses wss: in url when the request says it was forwarded over TLS", async () => {
    const server = await startServer()
    await connectRaw(server.port, { path: '/secure', headers: { 'X-Forwarded-Proto': 'https' } })
    const { ws } = await server.nextConnection()
    expect(ws.url).toBe(`wss://127.0.0.1:${server.port}/secure`)
  })

  it('moves readyState 0 → 1 → 2 → 3 and keeps bufferedAmount a number', async () => {
    const states = {}
    const server = await startServer({
      setup: (ws) => {
        states.constructed = ws.readyState
        states.bufferedAmount = typeof ws.bufferedAmount
        ws.on('open', () => { states.open = ws.readyState })
        ws.on('close', () => { states.close = ws.readyState })
      }
    })
    const client = connectClient(`${server.url}/`)
    const connection = await server.nextConnection()
    await connection.waitOpen()
    expect(typeof connection.ws.bufferedAmount).toBe('number')
    connection.ws.close()
    states.closing = connection.ws.readyState
    await Promise.all([connection.waitClosed(), client.waitClosed()])
    expect(states).toEqual({ constructed: 0, bufferedAmount: 'number', open: 1, closing: 2, close: 3 })
    expect(connection.ws.readyState).toBe(3)
  })

  it.each([
    [['irc', 'amqp'], ['amqp', 'irc'], 'amqp'],
    [['irc', 'amqp'], ['xmpp', 'irc'], 'irc'],
    [['irc', 'amqp'], undefined, '']
  ])('with server protocols %j and client offer %j chooses %j', async (supported, offered, chosen) => {
    const { client, ws } = await openPair({ protocols: supported }, { protocols: offered })
    expect(ws.protocol).toBe(chosen)
    expect(client.ws.protocol).toBe(chosen)
    const response = await client.upgrade
    expect(response.headers['sec-websocket-protocol']).toBe(chosen || undefined)
  })

  it('leaves protocol empty and sends no Sec-WebSocket-Protocol when nothing matches', async () => {
    const server = await startServer({ protocols: ['irc'] })
    const peer = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Protocol': 'xmpp, mqtt' } })
    const connection = await server.nextConnection()
    await connection.waitOpen()
    expect(peer.response.statusCode).toBe(101)
    expect(peer.response.headers['sec-websocket-protocol']).toBeUndefined()
    expect(connection.ws.protocol).toBe('')
  })
})

describe('options', () => {
  it("throws 'Unrecognized option: foo' for an unknown option", async () => {
    const server = await startServer({ options: { foo: 1 } })
    connectRaw(server.port).catch(() => {})
    await expect(server.nextConnection()).rejects.toThrow(/^Unrecognized option: foo$/)
  })

  it('adds the headers option to the 101 response', async () => {
    const server = await startServer({ options: { headers: { 'X-Powered-By': 'jest', 'Set-Cookie': 'a=b' } } })
    const peer = await connectRaw(server.port)
    expect(peer.response.statusCode).toBe(101)
    expect(peer.response.headers['x-powered-by']).toBe('jest')
    expect(peer.response.headers['set-cookie']).toBe('a=b')
    expect(peer.response.headers.upgrade).toMatch(/^websocket$/i)
  })

  it('enforces maxLength: a message of exactly maxLength passes, one byte more closes 1009', async () => {
    const { client, connection } = await openPair({ options: { maxLength: 8 } })
    client.ws.send('12345678')
    expect(await connection.messages.next()).toBe('12345678')
    client.ws.send('123456789')
    expect(await client.waitClosed()).toEqual({ code: 1009, reason: 'WebSocket frame length too large' })
    await connection.waitClosed()
    expect(connection.sequence()).toEqual([
      'open', 'message:12345678',
      'error:WebSocket frame length too large', 'end', 'close:1009:WebSocket frame length too large'
    ])
  })

  it("sends pings '1', '2', '3' … every `ping` seconds", async () => {
    const { client } = await openPair({ options: { ping: 0.05 } })
    const payloads = [await client.pings.next(), await client.pings.next(), await client.pings.next()]
    expect(payloads).toEqual(['1', '2', '3'])
  })

  it('negotiates permessage-deflate through the extensions option', async () => {
    const deflate = require('permessage-deflate')
    const { client, connection, ws } = await openPair(
      { options: { extensions: [deflate] }, setup: (socket) => socket.pipe(socket) },
      { clientOptions: { perMessageDeflate: true } }
    )
    const response = await client.upgrade
    expect(response.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate/)
    const text = 'compress me '.repeat(200)
    client.ws.send(text)
    expect((await client.messages.next()).text).toBe(text)
    expect(await connection.messages.next()).toBe(text)
    expect(ws.readyState).toBe(1)
  })
})

describe('faye API shape', () => {
  it('exposes the constructor, isWebSocket, Client and EventSource', () => {
    expect(typeof WebSocket).toBe('function')
    expect(typeof WebSocket.isWebSocket).toBe('function')
    expect(typeof WebSocket.Client).toBe('function')
  })
})

