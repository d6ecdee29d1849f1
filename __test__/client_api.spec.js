'use strict'

// WebSocket.Client's public API, as faye-websocket 0.11.4 exposes it: the
// constructor's checks, the server socket's interface (events, onX
// properties, send/ping/close, readyState, url, version, protocol), the
// handshake response (statusCode, headers), and network failures.

const { WebSocket, isFaye } = require('./helpers/impl')
const { startWsServer, echo } = require('./helpers/ws_server')
const { openClient } = require('./helpers/client_socket')
const { closedPort } = require('./helpers/client_scenarios')
const { waitFor, withGuard, deferred } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

async function openEcho (protocols, options) {
  const server = await startWsServer({ setup: echo, wsOptions: { handleProtocols: (offered) => [...offered].pop() || false } })
  const client = openClient(`${server.url}/`, protocols, options)
  await client.waitOpen()
  return { server, client }
}

describe('the constructor', () => {
  it.each([
    ['http://example.com/'],
    ['https://example.com/'],
    ['ftp://example.com/'],
    ['not a url'],
    ['//example.com/']
  ])("throws '%s is not a valid WebSocket URL'", (url) => {
    expect(() => new WebSocket.Client(url)).toThrow(new Error(`${url} is not a valid WebSocket URL`))
  })

  it("throws 'Unrecognized option: foo' for an unknown option", async () => {
    const server = await startWsServer()
    // faye checks its options only after it has opened the TCP connection.
    const accepted = isFaye && waitFor(server.server, 'connection', { label: "faye's orphaned connection" })
    expect(() => new WebSocket.Client(`${server.url}/`, [], { foo: 1 })).toThrow(new Error('Unrecognized option: foo'))
    if (accepted) await accepted // the server owns it now, and closing the server closes it
  })

  it('accepts every documented option', async () => {
    const server = await startWsServer()
    const options = { headers: {}, extensions: [], maxLength: 100, ping: 60, proxy: {}, tls: {}, ca: undefined }
    const client = openClient(`${server.url}/`, [], options)
    await client.waitOpen()
  })
})

describe('properties', () => {
  it('url, version, protocol and readyState through the life of the connection', async () => {
    const server = await startWsServer({ setup: echo, wsOptions: { handleProtocols: () => 'superchat' } })
    const url = `${server.url}/path?q=1`
    const client = openClient(url, ['chat', 'superchat'])
    const { ws } = client
    expect([ws.url, ws.version, ws.protocol, ws.readyState]).toEqual([url, 'hybi-13', '', 0])
    const states = {}
    ws.on('open', () => { states.open = [ws.readyState, ws.protocol] })
    ws.on('close', () => { states.close = ws.readyState })
    await client.waitOpen()
    ws.close()
    states.closing = ws.readyState
    await client.waitClosed()
    expect(states).toEqual({ open: [1, 'superchat'], closing: 2, close: 3 })
  })

  it('statusCode and headers hold the 101 response', async () => {
    const server = await startWsServer()
    server.wss.on('headers', (headers) => headers.push('X-Powered-By: ws'))
    const client = openClient(`${server.url}/`)
    await client.waitOpen()
    expect(client.ws.statusCode).toBe(101)
    expect(client.ws.headers).toMatchObject({ upgrade: 'websocket', connection: 'Upgrade', 'x-powered-by': 'ws' })
    expect(client.ws.headers['sec-websocket-accept']).toMatch(/^[A-Za-z0-9+/]{27}=$/)
  })

  it('statusCode and headers are set when the handshake fails', async () => {
    const server = await startWsServer({ refuse: 404 })
    const client = openClient(`${server.url}/`)
    await client.waitClosed()
    expect(client.ws.statusCode).toBe(404)
    expect(client.ws.headers).toMatchObject({ connection: 'close', 'content-type': 'text/html' })
    expect(client.log.some((entry) => entry.type === 'open')).toBe(false)
  })
})

describe('events', () => {
  it('open, message and close are Event objects with type, target, data, code and reason', async () => {
    const { client } = await openEcho()
    const { ws } = client
    client.ws.send('hi')
    await client.messages.next()
    ws.close(4000, 'bye')
    await client.waitClosed()
    const [open, message, close] = client.log.filter((entry) => entry.event).map((entry) => entry.event)
    expect([open.type, open.target === ws]).toEqual(['open', true])
    expect([message.type, message.target === ws, message.data]).toEqual(['message', true, 'hi'])
    // The local close event reports the server's reply (ws echoes the code and reason).
    expect([close.type, close.target === ws, close.code, close.reason]).toEqual(['close', true, 4000, 'bye'])
  })

  it('onopen, onmessage, onerror and onclose run before listeners added with on()', async () => {
    const server = await startWsServer({ setup: (ws) => { ws.send('x'); ws.close(4001, 'done') } })
    const client = openClient(`${server.url}/`)
    const { ws } = client
    const order = []
    for (const type of ['open', 'message', 'close']) {
      ws.on(type, () => order.push(`on:${type}`))
      ws['on' + type] = (event) => order.push(`on${type}:${event.type}`)
    }
    await client.waitClosed()
    expect(order).toEqual(['onopen:open', 'on:open', 'onmessage:message', 'on:message', 'onclose:close', 'on:close'])
  })

  it('onerror receives the error event, with its message, before the close event', async () => {
    const server = await startWsServer({ refuse: 403 })
    const client = openClient(`${server.url}/`)
    const order = []
    client.ws.onerror = (event) => order.push(`onerror:${event.type}:${event.message}`)
    client.ws.addEventListener('close', (event) => order.push(`close:${event.code}`))
    await client.waitClosed()
    const message = 'Error during WebSocket handshake: Unexpected response code: 403'
    expect(order).toEqual([`onerror:error:${message}`, 'close:1002'])
  })

  it('removeEventListener removes a listener added with addEventListener', async () => {
    const { client } = await openEcho()
    const seen = []
    const listener = (event) => seen.push(event.data)
    client.ws.addEventListener('message', listener)
    client.ws.send('first')
    await client.messages.next()
    client.ws.removeEventListener('message', listener)
    client.ws.send('second')
    await client.messages.next()
    expect(seen).toEqual(['first'])
  })
})

describe('send, ping and close', () => {
  it('send() and ping() before open are held until the handshake completes', async () => {
    const server = await startWsServer({ setup: echo })
    const client = openClient(`${server.url}/`)
    const ponged = deferred()
    expect(client.ws.send('early')).toBe(true)
    expect(client.ws.ping('early ping', () => ponged.resolve())).toBe(true)
    expect(await client.messages.next()).toBe('early')
    await withGuard(ponged.promise, 'the pong for the early ping')
  })

  it('send(), ping() and a second close() return false once closing', async () => {
    const { client } = await openEcho()
    client.ws.close()
    expect([client.ws.send('late'), client.ws.ping('late')]).toEqual([false, false])
    client.ws.close() // a second close is harmless
    await client.waitClosed()
    expect([client.ws.send('later'), client.ws.ping('later')]).toEqual([false, false])
    expect(client.sequence()).toEqual(['open', 'end', 'close:1000:'])
  })

  it.each([1001, 1005, 2999, 5000])('close(%i) throws and changes nothing', async (code) => {
    const { client } = await openEcho()
    expect(() => client.ws.close(code)).toThrow(new Error(
      `Failed to execute 'close' on WebSocket: The code must be either 1000, or between 3000 and 4999. ${code} is neither.`))
    expect(client.ws.readyState).toBe(1)
    client.ws.send('still open')
    expect(await client.messages.next()).toBe('still open')
  })
})

describe('network failures: error, end, close 1006 with an empty reason; never open', () => {
  it("connection refused: 'Network error: <url>: connect ECONNREFUSED <address>'", async () => {
    const port = await closedPort()
    const url = `ws://127.0.0.1:${port}/`
    const client = openClient(url)
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:Network error: ${url}: connect ECONNREFUSED 127.0.0.1:${port}`, 'end', 'close:1006:'])
    expect([client.ws.readyState, client.ws.statusCode]).toEqual([3, undefined])
  })

  it("a host name that does not resolve: 'Network error: <url>: getaddrinfo …'", async () => {
    const url = 'ws://nonexistent.invalid/'
    const client = openClient(url)
    await client.waitClosed()
    const [error, ...rest] = client.sequence()
    // ENOTFOUND, or EAI_AGAIN where no resolver is reachable at all
    expect(error).toMatch(/^error:Network error: ws:\/\/nonexistent\.invalid\/: getaddrinfo (ENOTFOUND|EAI_AGAIN) nonexistent\.invalid$/)
    expect(rest).toEqual(['end', 'close:1006:'])
  })
})

// A constructor that throws returns no object to close, so it must not leave
// a ping timer (which keeps the process alive forever) or a socket (whose
// unhandled 'error' crashes the process) behind. faye opens its socket before
// it checks its options (see the net and unknown-option tests), so this is
// this package's contract only.
describe('a constructor that throws leaves no timer and no socket behind', () => {
  if (isFaye) {
    it.skip('faye opens its TCP connection before it checks its options', () => {})
    return
  }

  const net = require('net')
  const tls = require('tls')

  // Constructs with fake timers (counted, then dropped) and spies on
  // net.connect / tls.connect (every socket they returned is destroyed).
  function attempt (url, options) {
    const spies = [jest.spyOn(net, 'connect'), jest.spyOn(tls, 'connect')]
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'Date', 'hrtime', 'performance'] })
    let error = null
    try {
      new WebSocket.Client(url, [], options) // eslint-disable-line no-new
    } catch (caught) {
      error = caught.message
    }
    const timers = jest.getTimerCount()
    jest.clearAllTimers()
    jest.useRealTimers()
    const sockets = spies.flatMap((spy) => spy.mock.results.filter((r) => r.type === 'return').map((r) => r.value))
    for (const spy of spies) spy.mockRestore()
    const openSockets = sockets.filter((socket) => !socket.destroyed).length
    for (const socket of sockets) {
      socket.on('error', () => {})
      socket.destroy()
    }
    return { error, timers, openSockets }
  }

  it('an unknown option, with ping', () => {
    expect(attempt('ws://127.0.0.1:9/', { ping: 1, foo: 1 }))
      .toEqual({ error: 'Unrecognized option: foo', timers: 0, openSockets: 0 })
  })

  it('an invalid header in the headers option, with ping', () => {
    expect(attempt('ws://127.0.0.1:9/', { ping: 1, headers: { 'X-A': 'a\r\nb' } })).toEqual({
      error: 'Invalid HTTP header "X-A": names must be tokens and values must not contain CR, LF or NUL',
      timers: 0,
      openSockets: 0
    })
  })

  // Everything that can throw runs before the ping interval starts and before any
  // socket is opened.
  it('an invalid proxy origin, with ping', () => {
    expect(attempt('ws://127.0.0.1:9/', { ping: 1, proxy: { origin: 'nonsense' } }))
      .toEqual({ error: 'nonsense is not a valid proxy URL', timers: 0, openSockets: 0 })
  })

  it('net.connect() throwing (net.localAddress not an IP), with ping', () => {
    expect(attempt('ws://127.0.0.1:9/', { ping: 1, net: { localAddress: 'not-an-ip' } }))
      .toEqual({ error: 'Invalid IP address: not-an-ip', timers: 0, openSockets: 0 })
  })

  // proxy.headers are checked before the socket to the proxy is opened (an orphan
  // socket to an unreachable proxy would crash the process).
  it('an invalid header in proxy.headers', () => {
    expect(attempt('ws://example.com/', { proxy: { origin: 'http://127.0.0.1:9', headers: { 'X-A': 'a\r\nb' } } })).toEqual({
      error: 'Invalid HTTP header "X-A": names must be tokens and values must not contain CR, LF or NUL',
      timers: 0,
      openSockets: 0
    })
  })
})
