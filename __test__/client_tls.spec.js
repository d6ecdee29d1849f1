'use strict'

// wss: URLs: the `tls` option goes to tls.connect() (ca, servername,
// rejectUnauthorized…), `ca` is the legacy shorthand for { tls: { ca } },
// and a certificate that fails verification is a network error. The peer is
// a `ws` server on https with the fixture certificates.

const { isFaye } = require('./helpers/impl')
const { startWsServer, echo } = require('./helpers/ws_server')
const { openClient } = require('./helpers/client_socket')
const { ca } = require('./helpers/tls')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

async function startTls (options = {}) {
  return startWsServer({ secure: true, setup: echo, ...options })
}

// Opens, echoes one message and closes: the connection really works.
async function roundTrip (client) {
  await client.waitOpen()
  client.ws.send('over TLS')
  expect(await client.messages.next()).toBe('over TLS')
  client.ws.close()
  await client.waitClosed()
  expect(client.sequence()).toEqual(['open', 'message:over TLS', 'end', 'close:1000:'])
}

describe('a server certificate signed by the test CA', () => {
  it('connects with tls: { ca }, sending the URL host name as SNI', async () => {
    const server = await startTls()
    const client = openClient(`${server.url}/`, [], { tls: { ca } })
    await roundTrip(client)
    expect(server.servernames).toEqual(['localhost'])
  })

  it('connects with the legacy ca option', async () => {
    const server = await startTls()
    await roundTrip(openClient(`${server.url}/`, [], { ca }))
  })

  it('tls.ca wins over the legacy ca option', async () => {
    const server = await startTls()
    const client = openClient(`${server.url}/`, [], { tls: { ca }, ca: Buffer.from('not a certificate') })
    await roundTrip(client)
  })

  it('passes tls.servername through: the server sees it and the certificate is checked against it', async () => {
    const server = await startTls()
    const client = openClient(`wss://127.0.0.1:${server.port}/`, [], { tls: { ca, servername: 'localhost' } })
    await roundTrip(client)
    expect(server.servernames).toEqual(['localhost'])
  })

  it('fails with a network error when tls.servername does not match the certificate', async () => {
    const server = await startTls()
    const url = `wss://127.0.0.1:${server.port}/`
    const client = openClient(url, [], { tls: { ca, servername: 'example.com' } })
    await client.waitClosed()
    expect(client.sequence()).toEqual([
      `error:Network error: ${url}: Hostname/IP does not match certificate's altnames: ` +
        "Host: example.com. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1",
      'end',
      'close:1006:'
    ])
  })

  it('fails with a network error without the CA', async () => {
    const server = await startTls()
    const url = `${server.url}/`
    const client = openClient(url, [], {})
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:Network error: ${url}: unable to verify the first certificate`, 'end', 'close:1006:'])
  })

  // RFC 6066 section 3: SNI carries host names, never IP literals. faye sets
  // servername to the IP (Node warns with DEP0123), so this runs on ours only.
  ;(isFaye ? it.skip : it)('sends no SNI when the URL host is an IP address', async () => {
    const server = await startTls()
    const client = openClient(`wss://127.0.0.1:${server.port}/`, [], { tls: { ca } })
    await roundTrip(client)
    expect(server.servernames).toEqual([false])
  })
})

describe('a self-signed server certificate', () => {
  it("fails with error 'Network error: <url>: self-signed certificate', end, close 1006; never open", async () => {
    const server = await startTls({ certificate: 'self-signed' })
    const url = `${server.url}/`
    const client = openClient(url)
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:Network error: ${url}: self-signed certificate`, 'end', 'close:1006:'])
    expect(client.ws.readyState).toBe(3)
    expect(server.connections).toEqual([])
  })

  it('connects with tls: { rejectUnauthorized: false }', async () => {
    const server = await startTls({ certificate: 'self-signed' })
    await roundTrip(openClient(`${server.url}/`, [], { tls: { rejectUnauthorized: false } }))
  })
})

describe('the handshake over TLS', () => {
  it('carries the path, Host with the port, subprotocols and custom headers', async () => {
    const server = await startTls()
    const client = openClient(`${server.url}/secure/path?q=1`, ['chat'], {
      tls: { ca },
      headers: { 'X-Over-Tls': 'yes' }
    })
    await client.waitOpen()
    const { request } = await server.nextConnection()
    expect(request.url).toBe('/secure/path?q=1')
    expect(request.headers.host).toBe(`localhost:${server.port}`)
    expect(request.headers['x-over-tls']).toBe('yes')
    expect(request.headers['sec-websocket-protocol']).toBe('chat')
  })

  it('a 404 over TLS fails the handshake with statusCode 404', async () => {
    const server = await startTls({ refuse: 404 })
    const client = openClient(`${server.url}/`, [], { tls: { ca } })
    await client.waitClosed()
    const message = 'Error during WebSocket handshake: Unexpected response code: 404'
    expect(client.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])
    expect(client.ws.statusCode).toBe(404)
  })
})
