'use strict'

// The `proxy` option: { origin, headers, tls }. The client opens a tunnel
// with CONNECT (RFC 7231 section 4.3.6) through a real HTTP or HTTPS proxy
// (helpers/proxy.js), then runs the WebSocket handshake, and for a wss: URL
// TLS to the origin, inside it.

const { startProxy } = require('./helpers/proxy')
const { startWsServer, echo } = require('./helpers/ws_server')
const { startRawServer } = require('./helpers/raw_server')
const { openClient } = require('./helpers/client_socket')
const { ca } = require('./helpers/tls')
const { waitFor } = require('./helpers/wait')
const { closedPort } = require('./helpers/client_scenarios')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const basic = (credentials) => 'Basic ' + Buffer.from(credentials, 'utf8').toString('base64')

// Opens, echoes one message and closes: the tunnel really carries the connection.
async function roundTrip (client, text = 'through the tunnel') {
  await client.waitOpen()
  client.ws.send(text)
  expect(await client.messages.next()).toBe(text)
  client.ws.close()
  await client.waitClosed()
  expect(client.sequence()).toEqual(['open', `message:${text}`, 'end', 'close:1000:'])
}

describe('an HTTP proxy', () => {
  it('tunnels a ws: connection with CONNECT host:port and the Host header', async () => {
    const server = await startWsServer({ setup: echo })
    const proxy = await startProxy()
    const client = openClient(`${server.url}/chat`, [], { proxy: { origin: proxy.origin } })
    await roundTrip(client)

    expect(proxy.requests).toHaveLength(1)
    const [connect] = proxy.requests
    expect([connect.method, connect.url, connect.httpVersion]).toEqual(['CONNECT', `127.0.0.1:${server.port}`, '1.1'])
    expect(connect.headers).toMatchObject({ host: `127.0.0.1:${server.port}` })
    expect(connect.headers['proxy-authorization']).toBeUndefined()

    // The WebSocket request went through the tunnel to the server, untouched.
    const { request } = await server.nextConnection()
    expect(request.url).toBe('/chat')
    expect(request.headers.host).toBe(`127.0.0.1:${server.port}`)
  })

  it('sends user:password from the proxy origin as Proxy-Authorization: Basic, only to the proxy', async () => {
    const server = await startWsServer({ setup: echo })
    const proxy = await startProxy({ auth: 'proxyuser:proxypass' })
    const origin = proxy.origin.replace('//', '//proxyuser:proxypass@')
    const client = openClient(`${server.url}/`, [], { proxy: { origin } })
    await client.waitOpen()
    expect(proxy.requests[0].headers['proxy-authorization']).toBe(basic('proxyuser:proxypass'))
    const { request } = await server.nextConnection()
    expect(request.headers['proxy-authorization']).toBeUndefined()
    expect(request.headers.authorization).toBeUndefined()
  })

  it('sends the proxy headers option on the CONNECT request only, and the headers option on the upgrade only', async () => {
    const server = await startWsServer({ setup: echo })
    const proxy = await startProxy()
    const client = openClient(`${server.url}/`, [], {
      headers: { 'X-For-Origin': 'origin' },
      proxy: { origin: proxy.origin, headers: { 'User-Agent': 'client-suite', 'X-For-Proxy': 'proxy' } }
    })
    await roundTrip(client)
    const connect = proxy.requests[0].headers
    expect(connect).toMatchObject({ 'user-agent': 'client-suite', 'x-for-proxy': 'proxy' })
    expect(connect['x-for-origin']).toBeUndefined()
    const { request } = await server.nextConnection()
    expect(request.headers['x-for-origin']).toBe('origin')
    expect(request.headers['x-for-proxy']).toBeUndefined()
  })

  it('names the origin with its default port in CONNECT, and leaves the port out of Host', async () => {
    const target = await startRawServer({ respond: (connection) => connection.accept101() })
    // Any host name, any port: the proxy reaches the raw server whatever was asked.
    const proxy = await startProxy({ route: () => ({ host: '127.0.0.1', port: target.port }) })
    const plain = openClient('ws://example.com/path?x=1', [], { proxy: { origin: proxy.origin } })
    const explicit = openClient('ws://example.com:8080/', [], { proxy: { origin: proxy.origin } })
    await Promise.all([plain.waitOpen(), explicit.waitOpen()])

    const byUrl = Object.fromEntries(proxy.requests.map((r) => [r.url, r.headers.host]))
    expect(byUrl).toEqual({ 'example.com:80': 'example.com', 'example.com:8080': 'example.com:8080' })
    const heads = target.connections.map((c) => [c.head.requestLine, c.head.headers.host]).sort()
    expect(heads).toEqual([['GET / HTTP/1.1', 'example.com:8080'], ['GET /path?x=1 HTTP/1.1', 'example.com']])
  })

  it('tunnels a wss: connection and runs TLS to the origin inside the tunnel, with the tls option', async () => {
    const server = await startWsServer({ secure: true, setup: echo })
    const proxy = await startProxy()
    const client = openClient(`${server.url}/`, [], { tls: { ca }, proxy: { origin: proxy.origin } })
    await roundTrip(client)
    expect(proxy.requests[0].url).toBe(`localhost:${server.port}`)
    expect(server.servernames).toEqual(['localhost'])
  })

  it('uses the legacy ca option for a wss: origin inside the tunnel', async () => {
    const server = await startWsServer({ secure: true, setup: echo })
    const proxy = await startProxy()
    await roundTrip(openClient(`${server.url}/`, [], { ca, proxy: { origin: proxy.origin } }))
  })

  it('names a wss: origin with port 443 in CONNECT and checks its certificate', async () => {
    const server = await startWsServer({ secure: true, setup: echo })
    const proxy = await startProxy({ route: () => ({ host: '127.0.0.1', port: server.port }) })
    const client = openClient('wss://localhost/', [], { tls: { ca }, proxy: { origin: proxy.origin } })
    await roundTrip(client)
    expect(proxy.requests[0].url).toBe('localhost:443')
    expect((await server.nextConnection()).request.headers.host).toBe('localhost')
  })

  it('a wss: origin whose certificate fails verification is a network error', async () => {
    const server = await startWsServer({ secure: true, certificate: 'self-signed' })
    const proxy = await startProxy()
    const url = `${server.url}/`
    const client = openClient(url, [], { proxy: { origin: proxy.origin } })
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:Network error: ${url}: self-signed certificate`, 'end', 'close:1006:'])
  })
})

describe('a proxy that does not open the tunnel', () => {
  const refusals = [
    ['403 Forbidden', { refuse: 403 }, {}],
    ['407 without credentials', { auth: 'user:pass' }, {}],
    ['407 with wrong credentials', { auth: 'user:pass' }, { credentials: 'user:wrong' }]
  ]

  it.each(refusals)("%s: error 'Can't establish a connection to the server at <url>', end, close 1006", async (_name, proxyOptions, { credentials }) => {
    const server = await startWsServer()
    const proxy = await startProxy(proxyOptions)
    const origin = credentials ? proxy.origin.replace('//', `//${credentials}@`) : proxy.origin
    const url = `${server.url}/`
    const client = openClient(url, [], { proxy: { origin } })
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:Can't establish a connection to the server at ${url}`, 'end', 'close:1006:'])
    expect(client.ws.readyState).toBe(3)
    expect(proxy.requests).toHaveLength(1)
    expect(server.connections).toEqual([]) // nothing reached the origin
  })

  it('a proxy that cannot reach the origin (502) is refused the same way', async () => {
    const port = await closedPort()
    const proxy = await startProxy()
    const url = `ws://127.0.0.1:${port}/`
    const client = openClient(url, [], { proxy: { origin: proxy.origin } })
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:Can't establish a connection to the server at ${url}`, 'end', 'close:1006:'])
  })

  it('close() while the CONNECT is unanswered: end and close 1000 at once, and the client ends its connection to the proxy', async () => {
    const proxy = await startProxy({ hold: true })
    const client = openClient('ws://example.com/', [], { proxy: { origin: proxy.origin } })
    const connect = await proxy.nextRequest()
    client.ws.close()
    expect([client.sequence(), client.ws.readyState]).toEqual([['end', 'close:1000:'], 3])
    await waitFor(connect.socket, 'end', { label: "the client's FIN at the proxy" })
  })

  it('an unreachable proxy is a network error naming the WebSocket URL', async () => {
    const proxy = await startProxy()
    await proxy.close()
    const url = 'ws://example.com/'
    const client = openClient(url, [], { proxy: { origin: proxy.origin } })
    await client.waitClosed()
    expect(client.sequence()).toEqual([
      `error:Network error: ${url}: connect ECONNREFUSED 127.0.0.1:${proxy.port}`, 'end', 'close:1006:'
    ])
  })
})

describe('an HTTPS proxy', () => {
  it('is reached over TLS with proxy.tls, then tunnels a ws: connection', async () => {
    const server = await startWsServer({ setup: echo })
    const proxy = await startProxy({ secure: true })
    const client = openClient(`${server.url}/`, [], { proxy: { origin: proxy.origin, tls: { ca } } })
    await roundTrip(client)
    expect(proxy.requests.map((r) => [r.method, r.url])).toEqual([['CONNECT', `127.0.0.1:${server.port}`]])
  })

  it('tunnels a wss: connection: TLS to the origin inside TLS to the proxy', async () => {
    const server = await startWsServer({ secure: true, setup: echo })
    const proxy = await startProxy({ secure: true, auth: 'u:p' })
    const client = openClient(`${server.url}/`, [], {
      tls: { ca },
      proxy: { origin: proxy.origin.replace('//', '//u:p@'), tls: { ca } }
    })
    await roundTrip(client)
    expect(proxy.requests[0].headers['proxy-authorization']).toBe(basic('u:p'))
    expect(server.servernames).toEqual(['localhost'])
  })

  it('uses proxy.tls, not the tls option, for the proxy: without proxy.tls.ca it fails verification', async () => {
    const server = await startWsServer({ setup: echo })
    const proxy = await startProxy({ secure: true })
    const url = `${server.url}/`
    const client = openClient(url, [], { tls: { ca }, proxy: { origin: proxy.origin } })
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:Network error: ${url}: unable to verify the first certificate`, 'end', 'close:1006:'])
    expect(proxy.requests).toEqual([])
  })
})
