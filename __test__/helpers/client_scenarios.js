'use strict'

// WebSocket.Client scenarios shared by the client parity suite. Each one
// drives a client of the given class against a real peer and returns what
// the client emitted as a sequence of strings (see record() in server.js),
// with the ephemeral port replaced by PORT so runs compare. `expected` is
// faye-websocket 0.11.4's measured behaviour, which this package matches.

const net = require('net')
const { openClient } = require('./client_socket')
const { startWsServer, echo } = require('./ws_server')
const { startRawServer } = require('./raw_server')
const { waitFor, withGuard } = require('./wait')

const HANDSHAKE_404 = 'Error during WebSocket handshake: Unexpected response code: 404'

// A port nothing listens on: bound by the OS, then released.
async function closedPort () {
  const server = net.createServer().listen(0, '127.0.0.1')
  await waitFor(server, 'listening')
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

const normalize = (sequence, port) => sequence.map((entry) => entry.split(String(port)).join('PORT'))

const clientScenarios = [
  {
    name: 'echo round trip, then a client-initiated close',
    async run (Client) {
      const server = await startWsServer({ setup: echo })
      const client = openClient(`${server.url}/`, [], {}, { Client })
      await client.waitOpen()
      client.ws.send('hello')
      client.ws.send(Buffer.from([1, 2, 3]))
      await client.messages.next()
      await client.messages.next()
      client.ws.close()
      await client.waitClosed()
      const peer = await (await server.nextConnection()).waitClosed()
      return { client: client.sequence(), peer }
    },
    expected: {
      client: ['open', 'message:hello', 'message:<binary 010203>', 'end', 'close:1000:'],
      peer: { code: 1000, reason: '' }
    }
  },
  {
    name: 'a server-initiated close',
    async run (Client) {
      const server = await startWsServer({ setup: (ws) => ws.close(4000, 'server says bye') })
      const client = openClient(`${server.url}/`, [], {}, { Client })
      await client.waitClosed()
      const peer = await (await server.nextConnection()).waitClosed()
      return { client: client.sequence(), peer }
    },
    expected: {
      client: ['open', 'end', 'close:4000:server says bye'],
      peer: { code: 4000, reason: 'server says bye' }
    }
  },
  {
    name: 'a 404 answer to the upgrade request',
    async run (Client) {
      const server = await startWsServer({ refuse: 404 })
      const client = openClient(`${server.url}/`, [], {}, { Client })
      await client.waitClosed()
      return { client: client.sequence(), statusCode: client.ws.statusCode, readyState: client.ws.readyState }
    },
    expected: {
      client: [`error:${HANDSHAKE_404}`, 'end', `close:1002:${HANDSHAKE_404}`],
      statusCode: 404,
      readyState: 3
    }
  },
  {
    name: 'connection refused',
    async run (Client) {
      const port = await closedPort()
      const client = openClient(`ws://127.0.0.1:${port}/`, [], {}, { Client })
      await client.waitClosed()
      return { client: normalize(client.sequence(), port), readyState: client.ws.readyState }
    },
    expected: {
      client: ['error:Network error: ws://127.0.0.1:PORT/: connect ECONNREFUSED 127.0.0.1:PORT', 'end', 'close:1006:'],
      readyState: 3
    }
  },
  {
    name: 'close() before the connection is up',
    async run (Client) {
      const server = await startWsServer()
      const client = openClient(`${server.url}/`, [], {}, { Client })
      const before = client.sequence()
      client.ws.close()
      const during = client.sequence() // what close() dispatched synchronously
      const readyState = client.ws.readyState
      await withGuard(client.closed, 'the close event')
      return { before, during, readyState }
    },
    expected: { before: [], during: ['end', 'close:1000:'], readyState: 3 }
  },
  {
    name: 'close(code, reason) while the handshake is in flight',
    async run (Client) {
      const server = await startRawServer()
      const client = openClient(`${server.url}/`, [], {}, { Client })
      const connection = await server.nextConnection() // the request is in, no answer yet
      client.ws.close(4000, 'changed my mind')
      const during = client.sequence()
      const readyState = client.ws.readyState
      connection.accept101() // too late: nothing more happens
      await connection.waitClosed()
      return { during, after: client.sequence(), readyState, frames: connection.frames }
    },
    expected: {
      during: ['end', 'close:4000:changed my mind'],
      after: ['end', 'close:4000:changed my mind'],
      readyState: 3,
      frames: []
    }
  }
]

module.exports = { clientScenarios, closedPort, normalize, HANDSHAKE_404 }
