'use strict'

// WebSocket.Client's opening handshake (RFC 6455 sections 4.1 and 4.2.2)
// against a hand-driven server: the request it writes, and the checks it
// makes on the response, with websocket-driver's messages.

const { isFaye } = require('./helpers/impl')
const { startRawServer } = require('./helpers/raw_server')
const { openClient } = require('./helpers/client_socket')
const F = require('./helpers/frames')
const { withGuard } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const PREFIX = 'Error during WebSocket handshake: '

// A client connected to a raw server, with the server's view of the request.
async function connect (path = '/', protocols, options) {
  const server = await startRawServer()
  const client = openClient(`${server.url}${path}`, protocols, options)
  const connection = await server.nextConnection()
  return { server, client, connection, request: connection.head }
}

describe('the upgrade request', () => {
  it('is a GET of the path and query with Host, Upgrade, Connection, Sec-WebSocket-Key and -Version 13', async () => {
    const { server, request } = await connect('/chat?room=1&x=%20y')
    expect(request.requestLine).toBe('GET /chat?room=1&x=%20y HTTP/1.1')
    expect(request.headers).toMatchObject({
      host: `127.0.0.1:${server.port}`,
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-version': '13'
    })
    // No subprotocol offered, no credentials, no extension offer.
    expect(request.headers['sec-websocket-protocol']).toBeUndefined()
    expect(request.headers.authorization).toBeUndefined()
    expect(request.headers['sec-websocket-extensions']).toBeUndefined()
  })

  it('requests / when the URL has no path', async () => {
    const server = await startRawServer()
    openClient(server.url) // no trailing slash
    const { head } = await server.nextConnection()
    expect(head.requestLine).toBe('GET / HTTP/1.1')
  })

  it('sends a Sec-WebSocket-Key of 16 random bytes in base64, fresh for each connection', async () => {
    const server = await startRawServer()
    openClient(`${server.url}/`)
    openClient(`${server.url}/`)
    const keys = [(await server.nextConnection()).head, (await server.nextConnection()).head]
      .map((head) => head.headers['sec-websocket-key'])
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/)
      const nonce = Buffer.from(key, 'base64')
      expect(nonce).toHaveLength(16)
      expect(nonce.toString('base64')).toBe(key)
    }
    expect(keys[0]).not.toBe(keys[1])
  })

  it('offers the subprotocols in order, from an array or a comma-separated string', async () => {
    const server = await startRawServer()
    openClient(`${server.url}/`, ['chat', 'superchat'])
    openClient(`${server.url}/`, 'xmpp, mqtt')
    expect((await server.nextConnection()).head.headers['sec-websocket-protocol']).toBe('chat, superchat')
    expect((await server.nextConnection()).head.headers['sec-websocket-protocol']).toBe('xmpp, mqtt')
  })

  it('adds the headers option after its own headers, which it cannot replace', async () => {
    const { request } = await connect('/', [], {
      headers: { Origin: 'http://example.com', 'X-Custom': 'a value', Upgrade: 'h2c' }
    })
    expect(request.headers.origin).toBe('http://example.com')
    expect(request.headers['x-custom']).toBe('a value')
    expect(request.headers.upgrade).toBe('websocket')
    const names = request.rawHeaders.map(([name]) => name)
    expect(names.indexOf('Origin')).toBeGreaterThan(names.indexOf('Sec-WebSocket-Version'))
  })

  it('turns user:password in the URL into Authorization: Basic', async () => {
    const server = await startRawServer()
    openClient(`ws://alice:s3cret@127.0.0.1:${server.port}/`)
    const { head } = await server.nextConnection()
    expect(head.headers.authorization).toBe('Basic ' + Buffer.from('alice:s3cret').toString('base64'))
    // The credentials never reach the Host header or the request line.
    expect(head.headers.host).toBe(`127.0.0.1:${server.port}`)
    expect(head.requestLine).toBe('GET / HTTP/1.1')
  })
})

// URL credentials are sent as websocket-driver sends them: the userinfo as the URL
// spells it (still percent-encoded), and only when both user and password are present.
describe('credentials in the URL', () => {
  async function authorizationFor (userinfo) {
    const server = await startRawServer()
    openClient(`ws://${userinfo}@127.0.0.1:${server.port}/`)
    const { head } = await server.nextConnection()
    return head.headers.authorization
  }

  it('sends percent-encoded user:password as spelled in the URL', async () => {
    expect(await authorizationFor('us%40er:p%20ss')).toBe('Basic ' + Buffer.from('us%40er:p%20ss').toString('base64'))
  })

  it('sends no Authorization for a user without a password', async () => {
    expect(await authorizationFor('alice')).toBeUndefined()
  })
})

describe('a valid 101 response', () => {
  it('opens the socket and exposes statusCode and the response headers', async () => {
    const { client, connection } = await connect()
    connection.accept101({ 'X-Server': 'raw' })
    await client.waitOpen()
    expect(client.ws.readyState).toBe(1)
    expect(client.ws.statusCode).toBe(101)
    expect(client.ws.headers).toMatchObject({
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-accept': connection.accept,
      'x-server': 'raw'
    })
    expect(client.ws.protocol).toBe('')
  })

  it('accepts Upgrade and Connection values in any case', async () => {
    const { client, connection } = await connect()
    connection.accept101({ Upgrade: 'WebSocket', Connection: 'upgrade' })
    await client.waitOpen()
  })

  it('sets protocol to the offered subprotocol the server chose', async () => {
    const { client, connection } = await connect('/', ['chat', 'superchat'])
    connection.accept101({ 'Sec-WebSocket-Protocol': 'superchat' })
    await client.waitOpen()
    expect(client.ws.protocol).toBe('superchat')
  })

  it('processes frames that arrive in the same TCP write as the 101 response', async () => {
    const { client, connection } = await connect()
    connection.accept101({}, Buffer.concat([
      F.text('riding along', { mask: false }),
      F.binary([7, 8], { mask: false }),
      F.close(4000, 'and done', { mask: false })
    ]))
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', 'message:riding along', 'message:<binary 0708>', 'end', 'close:4000:and done'])
    const echo = await connection.readClose()
    expect([echo.masked, echo.code, echo.reason]).toEqual([true, 4000, 'and done'])
  })

  // websocket-extensions reads an empty header as no extension (and RFC 7230
  // section 7 has recipients ignore empty list elements).
  it('an empty Sec-WebSocket-Extensions header means no extension', async () => {
    const { client, connection } = await connect()
    connection.accept101({ 'Sec-WebSocket-Extensions': '' })
    await withGuard(Promise.race([client.opened, client.closed]), 'open or close')
    expect(client.sequence()).toEqual(['open'])
  })

  it('reads a response head and frames that arrive one byte per write', async () => {
    const { client, connection } = await connect()
    const bytes = Buffer.concat([
      connection.handshake({ 'X-Slow': 'yes' }),
      F.text('trickled', { mask: false }),
      F.close(1000, 'bye', { mask: false })
    ])
    await connection.trickle(bytes, { upgrade: true })
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', 'message:trickled', 'end', 'close:1000:bye'])
    expect(client.ws.headers['x-slow']).toBe('yes')
  })

  const connectionHeader = 'Connection: keep-alive, Upgrade (a token list, RFC 7230 section 6.1)'
  if (isFaye) {
    it(`${connectionHeader}: faye wrongly refuses it`, async () => {
      const { client, connection } = await connect()
      connection.accept101({ Connection: 'keep-alive, Upgrade' })
      await client.waitClosed()
      const message = `${PREFIX}'Connection' header value is not 'Upgrade'`
      expect(client.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])
    })
  } else {
    it(`${connectionHeader}: is accepted`, async () => {
      const { client, connection } = await connect()
      connection.accept101({ Connection: 'keep-alive, Upgrade' })
      await client.waitOpen()
      client.ws.send('still works')
      const frame = await connection.readFrame()
      expect(frame.payload.toString()).toBe('still works')
    })
  }
})

describe('an invalid response fails the handshake: error, end, close 1002 with the message; never open', () => {
  const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found'

  const cases = [
    ['a 404', (c) => c.respond(NOT_FOUND), 'Unexpected response code: 404'],
    ['a 200 with no upgrade', (c) => c.respond('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 'Unexpected response code: 200'],
    ['no Upgrade header', (c) => c.accept101({ Upgrade: null }), "'Upgrade' header is missing"],
    ['Upgrade: h2c', (c) => c.accept101({ Upgrade: 'h2c' }), "'Upgrade' header value is not 'WebSocket'"],
    ['no Connection header', (c) => c.accept101({ Connection: null }), "'Connection' header is missing"],
    ['Connection: keep-alive', (c) => c.accept101({ Connection: 'keep-alive' }), "'Connection' header value is not 'Upgrade'"],
    ['no Sec-WebSocket-Accept', (c) => c.accept101({ 'Sec-WebSocket-Accept': null }), 'Sec-WebSocket-Accept mismatch'],
    ['a wrong Sec-WebSocket-Accept', (c) => c.accept101({ 'Sec-WebSocket-Accept': 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' }),
      'Sec-WebSocket-Accept mismatch'],
    ['Sec-WebSocket-Accept in another case', (c) => c.accept101({ 'Sec-WebSocket-Accept': c.accept.toLowerCase() }),
      'Sec-WebSocket-Accept mismatch'],
    ['a subprotocol that was not offered', (c) => c.accept101({ 'Sec-WebSocket-Protocol': 'xmpp' }),
      'Sec-WebSocket-Protocol mismatch', ['chat']],
    ['a subprotocol when none was offered', (c) => c.accept101({ 'Sec-WebSocket-Protocol': 'chat' }),
      'Sec-WebSocket-Protocol mismatch'],
    ['an extension that was not offered', (c) => c.accept101({ 'Sec-WebSocket-Extensions': 'permessage-deflate' }),
      'Server sent an extension response for unknown extension "permessage-deflate"']
  ]

  // Rows as objects: a test function taking a 4th argument would get Jest's done callback.
  const rows = cases.map(([name, respond, message, protocols]) => ({ name, respond, message, protocols }))

  it.each(rows)('$name', async ({ respond, message, protocols }) => {
    const { client, connection } = await connect('/', protocols)
    respond(connection)
    await client.waitClosed()
    const reason = PREFIX + message
    expect(client.sequence()).toEqual([`error:${reason}`, 'end', `close:1002:${reason}`])
    expect(client.ws.readyState).toBe(3)
    // The client drops the TCP connection and writes no frame.
    await connection.waitClosed()
    expect(connection.frames).toEqual([])
  })

  it('sets statusCode and headers from the refusal', async () => {
    const { client, connection } = await connect()
    connection.respond(NOT_FOUND)
    await client.waitClosed()
    expect(client.ws.statusCode).toBe(404)
    expect(client.ws.headers).toMatchObject({ 'content-type': 'text/plain', 'content-length': '9' })
  })

  it('ignores frames that follow a failed handshake in the same write', async () => {
    const { client, connection } = await connect()
    connection.accept101({ 'Sec-WebSocket-Accept': 'wrong' }, F.text('never delivered', { mask: false }))
    await client.waitClosed()
    const reason = `${PREFIX}Sec-WebSocket-Accept mismatch`
    expect(client.sequence()).toEqual([`error:${reason}`, 'end', `close:1002:${reason}`])
  })

  it('send() before the failed handshake returns true and the message is never written', async () => {
    const { client, connection } = await connect()
    expect(client.ws.send('queued')).toBe(true)
    connection.respond(NOT_FOUND)
    await client.waitClosed()
    await connection.waitClosed()
    expect(connection.frames).toEqual([])
  })
})

describe('the server drops the connection during the handshake', () => {
  it('before answering: close 1006 with no error', async () => {
    const { client, connection } = await connect()
    connection.destroy()
    await client.waitClosed()
    expect(client.sequence()).toEqual(['end', 'close:1006:'])
  })

  it('in the middle of the response head: close 1006 with no error', async () => {
    const { client, connection } = await connect()
    connection.respond('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n')
    connection.end()
    await client.waitClosed()
    expect(client.sequence()).toEqual(['end', 'close:1006:'])
  })
})
