'use strict'

const http = require('http')
const impl = require('./impl')
const { Queue } = require('./queue')
const { deferred, withGuard } = require('./wait')
const { trackSockets, listen, closer } = require('./net_server')
const { connectRaw } = require('./raw_peer')
const { connectClient } = require('./client')

/**
 * Attaches listeners that record every event a socket (server-side or
 * WebSocket.Client) emits, in order. Must run synchronously right after
 * construction: faye starts the handshake on the next tick, before any
 * awaiting test code resumes. `who` names the socket in timeout messages.
 */
function record (ws, who = 'the server socket') {
  const log = []
  const messages = new Queue(`a message on ${who}`)
  const opened = deferred()
  const closed = deferred()

  ws.on('open', (event) => {
    log.push({ type: 'open', event })
    opened.resolve(event)
  })
  ws.on('message', (event) => {
    log.push({ type: 'message', data: event.data, event })
    messages.push(event.data)
  })
  ws.on('error', (event) => {
    log.push({ type: 'error', message: event.message, event })
  })
  ws.on('end', () => {
    log.push({ type: 'end' })
  })
  ws.on('close', (event) => {
    log.push({ type: 'close', code: event.code, reason: event.reason, event })
    closed.resolve(event)
  })
  // never-settling promises must not trip unhandled-rejection checks
  opened.promise.catch(() => {})

  return {
    log,
    messages,
    opened: opened.promise,
    closed: closed.promise,
    waitOpen: () => withGuard(opened.promise, `the open event of ${who}`),
    waitClosed: () => withGuard(closed.promise, `the close event of ${who}`),
    // Compact, comparable form of the log: 'open', 'message:<data>',
    // 'error:<message>', 'end', 'close:<code>:<reason>'.
    sequence () {
      return log.map((entry) => {
        switch (entry.type) {
          case 'message':
            return Buffer.isBuffer(entry.data)
              ? `message:<binary ${entry.data.toString('hex')}>`
              : `message:${entry.data}`
          case 'error': return `error:${entry.message}`
          case 'close': return `close:${entry.code}:${entry.reason}`
          default: return entry.type
        }
      })
    }
  }
}

/**
 * Starts an HTTP server on 127.0.0.1, port 0, whose 'upgrade' handler makes
 * a server-side WebSocket and hands it to the test.
 *
 *   WebSocket  constructor under test (default: helpers/impl)
 *   protocols  4th constructor argument
 *   options    5th constructor argument
 *   setup      (ws, request) => void, run synchronously after construction
 *   force      construct even when isWebSocket(request) is false
 *   onRequest  (req, res) handler for plain HTTP requests (default 404)
 *
 * Returns { url, port, host, server, nextConnection(), connections, close() }.
 * nextConnection() resolves with { ws, request, socket, log, messages,
 * opened, closed, sequence() }, or rejects if the constructor threw.
 */
async function startServer ({
  WebSocket = impl.WebSocket,
  protocols,
  options,
  setup,
  force = false,
  onRequest
} = {}) {
  const connections = new Queue('a WebSocket connection on the server')
  const all = []

  const server = http.createServer(onRequest || ((req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' })
    res.end('not found')
  }))

  const sockets = trackSockets(server)

  server.on('upgrade', (request, socket, body) => {
    if (!force && !WebSocket.isWebSocket(request)) {
      socket.destroy()
      return
    }
    let ws
    try {
      ws = new WebSocket(request, socket, body, protocols, options)
    } catch (error) {
      socket.destroy()
      connections.fail(error)
      return
    }
    const connection = { ws, request, socket, ...record(ws) }
    all.push(connection)
    if (setup) setup(ws, request)
    connections.push(connection)
  })

  const port = await listen(server)
  const close = closer(server, sockets, { order: 10 }) // after peers and clients

  return {
    host: '127.0.0.1',
    port,
    url: `ws://127.0.0.1:${port}`,
    server,
    connections: all,
    nextConnection: (ms) => connections.next(ms),
    close
  }
}

/**
 * A server (startServer options) and a raw_peer.js client connected to it,
 * once the server socket is open; `peer` holds connectRaw options (extra
 * request headers, say). Resolves with { server, peer, connection, ws }.
 */
async function openRaw ({ peer: peerOptions, ...serverOptions } = {}) {
  const server = await startServer(serverOptions)
  const peer = await connectRaw(server.port, peerOptions)
  const connection = await server.nextConnection()
  await connection.waitOpen()
  return { server, peer, connection, ws: connection.ws }
}

/**
 * A server (startServer options) and a `ws` client (helpers/client.js) connected
 * to it, both open; `client` holds the client's [protocols, options]. Resolves
 * with { server, client, connection, ws }.
 */
async function openWithWsClient ({ client: clientArgs = [], ...serverOptions } = {}) {
  const server = await startServer(serverOptions)
  const client = connectClient(server.url, ...clientArgs)
  const connection = await server.nextConnection()
  await connection.waitOpen()
  await client.opened
  return { server, client, connection, ws: connection.ws }
}

module.exports = { startServer, record, openRaw, openWithWsClient }
